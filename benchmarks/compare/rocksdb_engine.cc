// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// RocksDB with durable writes (WriteOptions::sync = true), a 10-bit bloom
// filter, a 1 GiB block cache and IncreaseParallelism for the machine's
// cores, as RocksDB's tuning guide recommends; defaults otherwise.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "engine.h"

namespace sop::bench {
namespace {

absl::Status Check(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(s.ToString());
  return absl::InternalError(s.ToString());
}

class RocksDbSession : public Session {
 public:
  explicit RocksDbSession(rocksdb::DB* db) : db_(db) {}
  ~RocksDbSession() override { EndSnapshot(); }

  absl::Status Write(const Batch& batch) override {
    rocksdb::WriteBatch wb;
    for (const auto& [k, v] : batch.puts) wb.Put(k, v);
    for (const std::string& k : batch.deletes) wb.Delete(k);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return Check(db_->Write(wo, &wb));
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
    return Check(db_->Get(read_, key, value));
  }
  absl::Status Scan(const std::string& from, uint64_t n, uint64_t* seen) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_));
    *seen = 0;
    for (it->Seek(from); it->Valid() && *seen < n; it->Next()) ++*seen;
    return Check(it->status());
  }
  absl::Status ScanAll(uint64_t* seen) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_));
    uint64_t bytes = 0;
    *seen = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->value().size();
      ++*seen;
    }
    return bytes > 0 || *seen == 0 ? Check(it->status()) : absl::InternalError("no value bytes");
  }

 private:
  rocksdb::DB* const db_;
  rocksdb::ReadOptions read_;
};

class RocksDbEngine : public Engine {
 public:
  const char* name() const override { return "RocksDB"; }
  std::string settings() const override {
    return absl::StrCat("RocksDB ", ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH,
                        ": sync=true, bloom 10 bits/key, 1 GiB block cache, "
                        "IncreaseParallelism, defaults otherwise");
  }
  absl::Status Open(const std::string& dir) override {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(1ull << 30);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    rocksdb::Options o;
    o.create_if_missing = true;
    o.IncreaseParallelism(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DB* db = nullptr;
    if (auto st = Check(rocksdb::DB::Open(o, dir, &db)); !st.ok()) return st;
    db_.reset(db);
    return absl::OkStatus();
  }
  void Close() override {
    if (db_) (void)db_->Close();
    db_.reset();
  }
  std::unique_ptr<Session> NewSession() override {
    return std::make_unique<RocksDbSession>(db_.get());
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

std::unique_ptr<Engine> NewRocksDbEngine() { return std::make_unique<RocksDbEngine>(); }

}  // namespace sop::bench
