// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// SOP with its default settings, every commit durable (one fdatasync of the
// log, shared by concurrent committers), and a 1 GiB node cache: the block
// cache LevelDB and RocksDB get here (LMDB and SQLite read through the
// operating system's page cache, which is not bounded either).

#include "engine.h"
#include "sop/sop.h"

namespace sop::bench {
namespace {

constexpr char kStore[] = "bench";

class SopSession : public Session {
 public:
  explicit SopSession(Database* db) : db_(db) {}

  absl::Status Write(const Batch& batch) override {
    auto txn = db_->Begin(TxnMode::kReadWrite);
    if (!txn.ok()) return txn.status();
    auto store = (*txn)->OpenStore(kStore);
    if (!store.ok()) return store.status();
    for (const auto& [k, v] : batch.puts) {
      if (auto st = (*store)->Put(k, v); !st.ok()) return st;
    }
    for (const std::string& k : batch.deletes) {
      if (auto st = (*store)->Remove(k); !st.ok()) return st;
    }
    return (*txn)->Commit();
  }

  absl::Status BeginSnapshot() override {
    auto txn = db_->Begin(TxnMode::kReadOnly);
    if (!txn.ok()) return txn.status();
    snapshot_ = std::move(*txn);
    auto store = snapshot_->OpenStore(kStore);
    if (!store.ok()) return store.status();
    store_ = *store;
    return absl::OkStatus();
  }
  void EndSnapshot() override {
    store_ = nullptr;
    snapshot_.reset();
  }

  absl::Status Get(const std::string& key, std::string* value) override {
    return store_->Get(key, value);
  }

  absl::Status Scan(const std::string& from, uint64_t n, uint64_t* seen) override {
    auto c = store_->NewCursor();
    *seen = 0;
    for (c->Seek(from); c->Valid() && *seen < n; c->Next()) ++*seen;
    return c->status();
  }

  absl::Status ScanAll(uint64_t* seen) override {
    auto c = store_->NewCursor();
    uint64_t bytes = 0;
    *seen = 0;
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      bytes += c->value().size();
      ++*seen;
    }
    return bytes > 0 || *seen == 0 ? c->status() : absl::InternalError("no value bytes");
  }

 private:
  Database* const db_;
  std::unique_ptr<Transaction> snapshot_;
  RawStore* store_ = nullptr;
};

class SopEngine : public Engine {
 public:
  const char* name() const override { return "SOP"; }
  std::string settings() const override {
    return "durable commits (log fdatasync, group commit), 1 GiB node cache, defaults otherwise";
  }
  absl::Status Open(const std::string& dir) override {
    Options options;
    options.cache_bytes = 1ull << 30;
    auto db = Database::Open(dir + "/db.sop", options);
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    return db_->Update([](Transaction& t) { return t.OpenStore(kStore).status(); });
  }
  void Close() override { db_.reset(); }
  std::unique_ptr<Session> NewSession() override { return std::make_unique<SopSession>(db_.get()); }

 private:
  std::unique_ptr<Database> db_;
};

}  // namespace

std::unique_ptr<Engine> NewSopEngine() { return std::make_unique<SopEngine>(); }

}  // namespace sop::bench
