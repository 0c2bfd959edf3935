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
#include "engine.h"

namespace sop::bench {
namespace {

absl::Status Check(const leveldb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(s.ToString());
  return absl::InternalError(s.ToString());
}

class LevelDbSession : public Session {
 public:
  explicit LevelDbSession(leveldb::DB* db) : db_(db) {}
  ~LevelDbSession() override { EndSnapshot(); }

  absl::Status Write(const Batch& batch) override {
    leveldb::WriteBatch wb;
    for (const auto& [k, v] : batch.puts) wb.Put(k, v);
    for (const std::string& k : batch.deletes) wb.Delete(k);
    leveldb::WriteOptions wo;
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
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read_));
    *seen = 0;
    for (it->Seek(from); it->Valid() && *seen < n; it->Next()) ++*seen;
    return Check(it->status());
  }
  absl::Status ScanAll(uint64_t* seen) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read_));
    uint64_t bytes = 0;
    *seen = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->value().size();
      ++*seen;
    }
    return bytes > 0 || *seen == 0 ? Check(it->status()) : absl::InternalError("no value bytes");
  }

 private:
  leveldb::DB* const db_;
  leveldb::ReadOptions read_;
};

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
    if (auto st = Check(leveldb::DB::Open(o, dir, &db)); !st.ok()) return st;
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
