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
#include "lsm_session.h"

namespace sop::bench {
namespace {

using RocksDbSession =
    LsmSession<rocksdb::DB, rocksdb::WriteBatch, rocksdb::WriteOptions, rocksdb::ReadOptions>;

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
    if (auto st = FromLsm(rocksdb::DB::Open(o, dir, &db)); !st.ok()) return st;
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
