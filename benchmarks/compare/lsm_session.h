// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The Session of LevelDB and of RocksDB, whose C++ APIs are the same shape
// (RocksDB began as a fork of LevelDB): one template serves both.

#ifndef SOP_BENCHMARKS_COMPARE_LSM_SESSION_H_
#define SOP_BENCHMARKS_COMPARE_LSM_SESSION_H_

#include <memory>
#include <string>
#include <type_traits>

#include "engine.h"

namespace sop::bench {

// A leveldb:: or rocksdb:: Status as an absl::Status.
template <typename S>
absl::Status FromLsm(const S& s) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(s.ToString());
  return absl::InternalError(s.ToString());
}

// Durable writes (sync = true); reads in a snapshot the harness sets.
template <typename DB, typename WriteBatch, typename WriteOptions, typename ReadOptions>
class LsmSession : public Session {
 public:
  explicit LsmSession(DB* db) : db_(db) {}
  ~LsmSession() override { EndSnapshot(); }

  absl::Status Write(const Batch& batch) override {
    WriteBatch wb;
    for (const auto& [k, v] : batch.puts) wb.Put(k, v);
    for (const std::string& k : batch.deletes) wb.Delete(k);
    WriteOptions wo;
    wo.sync = true;
    return FromLsm(db_->Write(wo, &wb));
  }
  absl::Status BeginSnapshot() override {
    read_.snapshot = db_->GetSnapshot();
    return absl::OkStatus();
  }
  void EndSnapshot() override {
    if (read_.snapshot != nullptr) db_->ReleaseSnapshot(read_.snapshot);
    read_.snapshot = nullptr;
  }
  absl::Status Get(const std::string& key, std::string* value) override {
    return FromLsm(db_->Get(read_, key, value));
  }
  absl::Status Scan(const std::string& from, uint64_t n, uint64_t* seen) override {
    auto it = NewIterator();
    *seen = 0;
    for (it->Seek(from); it->Valid() && *seen < n; it->Next()) ++*seen;
    return FromLsm(it->status());
  }
  absl::Status ScanAll(uint64_t* seen) override {
    auto it = NewIterator();
    uint64_t bytes = 0;
    *seen = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->value().size();
      ++*seen;
    }
    return bytes > 0 || *seen == 0 ? FromLsm(it->status()) : absl::InternalError("no value bytes");
  }

 private:
  auto NewIterator() {
    using Iterator = std::remove_pointer_t<decltype(db_->NewIterator(read_))>;
    return std::unique_ptr<Iterator>(db_->NewIterator(read_));
  }

  DB* const db_;
  ReadOptions read_;
};

}  // namespace sop::bench

#endif  // SOP_BENCHMARKS_COMPARE_LSM_SESSION_H_
