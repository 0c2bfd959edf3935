// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// LevelDB with durable writes (WriteOptions::sync = true), a 10-bit bloom
// filter and a 1 GiB block cache, as DESIGN.md section 6 prescribes; the
// rest is LevelDB's defaults (Snappy compression, 4 MiB write buffer).

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "lsm_session.h"

namespace sop::bench {
namespace {

using LevelDbSession =
    LsmSession<leveldb::DB, leveldb::WriteBatch, leveldb::WriteOptions, leveldb::ReadOptions>;

class LevelDbEngine : public Engine {
 public:
  const char* name() const override { return "LevelDB"; }
  std::string settings() const override {
    return absl::StrCat("LevelDB ", leveldb::kMajorVersion, ".", leveldb::kMinorVersion,
                        ": sync=true, bloom 10 bits/key, 1 GiB block cache, defaults otherwise");
  }
  absl::Status Open(const std::string& dir) override {
    cache_.reset(leveldb::NewLRUCache(1ull << 30));
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options o;
    o.create_if_missing = true;
    o.block_cache = cache_.get();
    o.filter_policy = filter_.get();
    leveldb::DB* db = nullptr;
    if (auto st = FromLsm(leveldb::DB::Open(o, dir, &db)); !st.ok()) return st;
    db_.reset(db);
    return absl::OkStatus();
  }
  void Close() override { db_.reset(); }
  std::unique_ptr<Session> NewSession() override {
    return std::make_unique<LevelDbSession>(db_.get());
  }

 private:
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

std::unique_ptr<Engine> NewLevelDbEngine() { return std::make_unique<LevelDbEngine>(); }

}  // namespace sop::bench
