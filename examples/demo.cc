// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The quickstart the README runs: opens (or creates) a database in a folder,
// writes in a transaction, reads back through a snapshot and a cursor,
// streams a large value, reopens, and checks it all again.

#include <filesystem>
#include <string>

#include "fmt/core.h"
#include "sop/sop.h"

namespace {

int Fail(const absl::Status& st) {
  fmt::print(stderr, "demo: {}\n", st.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "demo-db";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/demo.sop";
  bool existed = std::filesystem::exists(path);
  constexpr uint64_t kModelBytes = 64 << 20;

  {
    auto db = sop::Database::Open(path);
    if (!db.ok()) return Fail(db.status());
    fmt::print("opened {} ({})\n", path, existed ? "existing" : "new");

    // 1. A read-write transaction over two stores; durable when Commit returns.
    auto txn = (*db)->Begin(sop::TxnMode::kReadWrite);
    if (!txn.ok()) return Fail(txn.status());
    auto people = (*txn)->OpenStore("people");
    if (!people.ok()) return Fail(people.status());
    for (const char* name : {"ada", "grace", "barbara", "edsger", "donald"}) {
      if (auto st = (*people)->Put(name, fmt::format("{} was here", name)); !st.ok()) {
        return Fail(st);
      }
    }
    // A typed store with a composite key: (city, year) -> population.
    sop::Store<std::tuple<std::string, int32_t>, int64_t> census(**txn, "census");
    if (!census.ok()) return Fail(census.status());
    (void)census.Put({"paris", 1900}, 2714000);
    (void)census.Put({"paris", 2020}, 2148000);
    (void)census.Put({"lyon", 2020}, 522000);

    // 2. A 64 MiB "model file", streamed in by 1 MiB chunks: never in memory whole.
    auto models = (*txn)->OpenStore("models");
    if (!models.ok()) return Fail(models.status());
    auto writer = (*models)->NewValueWriter("weights.bin", kModelBytes);
    if (!writer.ok()) return Fail(writer.status());
    std::string chunk(1 << 20, '\0');
    for (uint64_t i = 0; i < kModelBytes / chunk.size(); ++i) {
      std::fill(chunk.begin(), chunk.end(), static_cast<char>('a' + i % 26));
      if (auto st = (*writer)->Append(chunk); !st.ok()) return Fail(st);
    }
    if (auto st = (*writer)->Finish(); !st.ok()) return Fail(st);
    if (auto st = (*txn)->Commit(); !st.ok()) return Fail(st);
    fmt::print("committed 5 people, 3 census rows and a {} MiB model in one transaction\n",
               kModelBytes >> 20);

    // 3. A snapshot reader and a cursor.
    auto snap = (*db)->Begin(sop::TxnMode::kReadOnly);
    if (!snap.ok()) return Fail(snap.status());
    auto ro = (*snap)->OpenStore("people");
    if (!ro.ok()) return Fail(ro.status());
    auto cursor = (*ro)->NewCursor();
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
      fmt::print("  {:8} -> {}\n", std::string(cursor->key()), std::string(cursor->value()));
    }
  }  // closing checkpoints: the next open has nothing to replay

  auto db = sop::Database::Open(path);
  if (!db.ok()) return Fail(db.status());
  auto txn = (*db)->Begin(sop::TxnMode::kReadOnly);
  if (!txn.ok()) return Fail(txn.status());
  sop::Store<std::tuple<std::string, int32_t>, int64_t> census(**txn, "census");
  auto paris = census.Get({"paris", 2020});
  if (!paris.ok()) return Fail(paris.status());
  fmt::print("reopened; paris in 2020: {}\n", *paris);
  auto models = (*txn)->OpenStore("models");
  if (!models.ok()) return Fail(models.status());
  auto reader = (*models)->NewValueReader("weights.bin");
  if (!reader.ok()) return Fail(reader.status());
  auto view = (*reader)->View();  // mapped, verified, no copy
  if (!view.ok()) return Fail(view.status());
  fmt::print("model: {} bytes; byte at 5 MiB is '{}' (read through a zero-copy view)\n",
             view->size(), (*view)[5 << 20]);
  if (auto st = (*db)->Verify(); !st.ok()) return Fail(st);
  fmt::print("verified every checksum and B-tree invariant\n");
  fmt::print("files: {} ({} bytes), {}-wal ({} bytes)\n", path, std::filesystem::file_size(path),
             path, std::filesystem::file_size(path + "-wal"));
  return 0;
}
