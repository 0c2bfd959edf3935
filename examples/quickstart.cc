// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The smallest useful program: open, write in a transaction, read back.
// Byte-string keys and values (sop::RawStore); see typed_store.cc for typed ones.

#include <cstdio>
#include <string>

#include "sop/sop.h"

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "quickstart.sop";

  auto db = sop::Database::Open(path);  // creates it if missing
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    return 1;
  }

  // Update runs the function in a read-write transaction and commits it;
  // when Commit returns OK the change survives a crash or a power cut.
  absl::Status st = (*db)->Update([](sop::Transaction& txn) -> absl::Status {
    auto fruit = txn.OpenStore("fruit");  // created on first use
    if (!fruit.ok()) return fruit.status();
    if (auto s = (*fruit)->Put("apple", "red"); !s.ok()) return s;
    if (auto s = (*fruit)->Put("banana", "yellow"); !s.ok()) return s;
    return (*fruit)->Put("cherry", "dark red");
  });
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }

  // View runs a read-only transaction on a snapshot; it never waits for writers.
  st = (*db)->View([](sop::Transaction& txn) -> absl::Status {
    auto fruit = txn.OpenStore("fruit");
    if (!fruit.ok()) return fruit.status();
    auto banana = (*fruit)->Get("banana");
    if (!banana.ok()) return banana.status();
    std::printf("banana is %s\n", banana->c_str());
    auto cursor = (*fruit)->NewCursor();
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
      std::printf("  %.*s -> %.*s\n", static_cast<int>(cursor->key().size()), cursor->key().data(),
                  static_cast<int>(cursor->value().size()), cursor->value().data());
    }
    return cursor->status();
  });
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
