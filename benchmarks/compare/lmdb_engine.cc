// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// LMDB with its default, durable settings: every write transaction's commit
// syncs (no MDB_NOSYNC / MDB_NOMETASYNC); a 64 GiB map; MDB_NOTLS so that a
// thread may hold a read transaction of its own.

#include <lmdb.h>

#include "absl/strings/str_cat.h"
#include "engine.h"

namespace sop::bench {
namespace {

absl::Status Check(int rc, const char* what) {
  if (rc == 0) return absl::OkStatus();
  if (rc == MDB_NOTFOUND) return absl::NotFoundError(what);
  return absl::InternalError(absl::StrCat("lmdb ", what, ": ", mdb_strerror(rc)));
}

MDB_val Val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

class LmdbSession : public Session {
 public:
  LmdbSession(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}
  ~LmdbSession() override { EndSnapshot(); }

  absl::Status Write(const Batch& batch) override {
    MDB_txn* txn = nullptr;
    if (auto st = Check(mdb_txn_begin(env_, nullptr, 0, &txn), "begin"); !st.ok()) return st;
    for (const auto& [k, v] : batch.puts) {
      MDB_val key = Val(k), val = Val(v);
      if (int rc = mdb_put(txn, dbi_, &key, &val, 0); rc != 0) {
        mdb_txn_abort(txn);
        return Check(rc, "put");
      }
    }
    for (const std::string& k : batch.deletes) {
      MDB_val key = Val(k);
      if (int rc = mdb_del(txn, dbi_, &key, nullptr); rc != 0) {
        mdb_txn_abort(txn);
        return Check(rc, "del");
      }
    }
    return Check(mdb_txn_commit(txn), "commit");
  }

  absl::Status BeginSnapshot() override {
    return Check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_), "begin read");
  }
  void EndSnapshot() override {
    if (read_ != nullptr) mdb_txn_abort(read_);
    read_ = nullptr;
  }

  absl::Status Get(const std::string& k, std::string* value) override {
    MDB_val key = Val(k), val;
    if (auto st = Check(mdb_get(read_, dbi_, &key, &val), "get"); !st.ok()) return st;
    value->assign(static_cast<const char*>(val.mv_data), val.mv_size);
    return absl::OkStatus();
  }

  absl::Status Scan(const std::string& from, uint64_t n, uint64_t* seen) override {
    MDB_cursor* c = nullptr;
    if (auto st = Check(mdb_cursor_open(read_, dbi_, &c), "cursor"); !st.ok()) return st;
    MDB_val key = Val(from), val;
    *seen = 0;
    for (int rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); rc == 0 && *seen < n;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
      ++*seen;
    }
    mdb_cursor_close(c);
    return absl::OkStatus();
  }

  absl::Status ScanAll(uint64_t* seen) override {
    MDB_cursor* c = nullptr;
    if (auto st = Check(mdb_cursor_open(read_, dbi_, &c), "cursor"); !st.ok()) return st;
    MDB_val key, val;
    uint64_t bytes = 0;
    *seen = 0;
    for (int rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
      bytes += val.mv_size;
      ++*seen;
    }
    mdb_cursor_close(c);
    return bytes > 0 || *seen == 0 ? absl::OkStatus() : absl::InternalError("no value bytes");
  }

 private:
  MDB_env* const env_;
  const MDB_dbi dbi_;
  MDB_txn* read_ = nullptr;
};

class LmdbEngine : public Engine {
 public:
  const char* name() const override { return "LMDB"; }
  std::string settings() const override {
    return absl::StrCat("LMDB ", MDB_VERSION_MAJOR, ".", MDB_VERSION_MINOR, ".", MDB_VERSION_PATCH,
                        ": default flags (sync on commit), MDB_NOTLS, 64 GiB map");
  }
  absl::Status Open(const std::string& dir) override {
    if (auto st = Check(mdb_env_create(&env_), "env"); !st.ok()) return st;
    if (auto st = Check(mdb_env_set_mapsize(env_, 64ull << 30), "mapsize"); !st.ok()) return st;
    if (auto st = Check(mdb_env_set_maxreaders(env_, 126), "maxreaders"); !st.ok()) return st;
    if (auto st = Check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0644), "open"); !st.ok()) {
      return st;
    }
    MDB_txn* txn = nullptr;
    if (auto st = Check(mdb_txn_begin(env_, nullptr, 0, &txn), "begin"); !st.ok()) return st;
    if (auto st = Check(mdb_dbi_open(txn, nullptr, 0, &dbi_), "dbi"); !st.ok()) return st;
    return Check(mdb_txn_commit(txn), "commit");
  }
  void Close() override {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = nullptr;
  }
  ~LmdbEngine() override { Close(); }
  std::unique_ptr<Session> NewSession() override {
    return std::make_unique<LmdbSession>(env_, dbi_);
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

}  // namespace

std::unique_ptr<Engine> NewLmdbEngine() { return std::make_unique<LmdbEngine>(); }

}  // namespace sop::bench
