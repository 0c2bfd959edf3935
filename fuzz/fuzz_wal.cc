// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The WAL parser on any file: records or DataLoss/FailedPrecondition, and
// a log that opened takes a new record and opens again with it.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "backend/file/wal.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto env = sop::NewMemEnv();
  sop::fuzz::PutFile(*env, "/w", absl::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<sop::WalRecord> records;
  auto wal = sop::Wal::Open(env.get(), "/w", &records);
  if (!wal.ok()) {
    if (!absl::IsDataLoss(wal.status()) && !absl::IsFailedPrecondition(wal.status())) std::abort();
    return 0;
  }
  auto seq = (*wal)->Append(sop::WalRecordType::kLog, "after");
  if (!seq.ok()) std::abort();
  wal->reset();
  std::vector<sop::WalRecord> again;
  auto reopened = sop::Wal::Open(env.get(), "/w", &again);
  if (!reopened.ok() || again.size() != records.size() + 1 || again.back().payload != "after") {
    std::abort();
  }
  return 0;
}
