// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// A whole database from hostile files: the input is split into a data file
// and a WAL; opening gives a clean error or a database whose every store
// can be read (with clean errors) and checked. Never a crash or a hang.

#include <cstdint>
#include <cstdlib>

#include "fuzz_util.h"
#include "sop/sop.h"

namespace {

bool Clean(const absl::Status& st) {
  return st.ok() || absl::IsDataLoss(st) || absl::IsFailedPrecondition(st) ||
         absl::IsNotFound(st) || absl::IsInvalidArgument(st);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first two bytes say where the data file ends (in 64-byte units).
  size_t split = std::min(size - 2, (static_cast<size_t>(data[0]) << 8 | data[1]) * 64);
  const char* bytes = reinterpret_cast<const char*>(data) + 2;
  auto env = sop::NewMemEnv();
  sop::fuzz::PutFile(*env, "/db", absl::string_view(bytes, split));
  sop::fuzz::PutFile(*env, "/db-wal", absl::string_view(bytes + split, size - 2 - split));
  sop::Options o;
  o.env = env.get();
  o.create_if_missing = false;
  o.cache_bytes = 1 << 20;
  auto db = sop::Database::Open("/db", o);
  if (!db.ok()) {
    if (!Clean(db.status())) std::abort();
    return 0;
  }
  if (!Clean((*db)->Verify())) std::abort();
  auto txn = (*db)->Begin(sop::TxnMode::kReadOnly);
  if (!txn.ok()) return 0;
  auto names = (*txn)->ListStores();
  if (!names.ok()) return 0;
  for (const std::string& name : *names) {
    auto s = (*txn)->OpenStore(name);
    if (!s.ok()) continue;
    auto c = (*s)->NewCursor();
    int n = 0;
    for (c->SeekToFirst(); c->Valid() && n < 10000; c->Next(), ++n) (void)c->value();
    if (!Clean(c->status())) std::abort();
  }
  return 0;
}
