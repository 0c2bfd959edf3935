// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// SQLite in WAL mode with synchronous=FULL (durable commits), a table
// kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, a 64 MiB page cache (SOP's
// default cache) and one connection per thread, as SQLite recommends.

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "engine.h"

namespace sop::bench {
namespace {

class Connection {
 public:
  absl::Status Open(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) return Error("open");
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA cache_size=-65536",
          "PRAGMA busy_timeout=60000",
          "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID"}) {
      if (auto st = Exec(pragma); !st.ok()) return st;
    }
    return Prepare();
  }
  ~Connection() {
    for (sqlite3_stmt* s : {put_, del_, get_, scan_, all_}) sqlite3_finalize(s);
    if (db_ != nullptr) sqlite3_close(db_);
  }
  absl::Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      absl::Status st = absl::InternalError(absl::StrCat("sqlite: ", sql, ": ", err ? err : "?"));
      sqlite3_free(err);
      return st;
    }
    return absl::OkStatus();
  }
  absl::Status Error(const char* what) {
    return absl::InternalError(absl::StrCat("sqlite ", what, ": ", sqlite3_errmsg(db_)));
  }
  // Runs a bound statement to completion (or its first row).
  int Step(sqlite3_stmt* s) { return sqlite3_step(s); }
  static void Bind(sqlite3_stmt* s, int i, const std::string& bytes) {
    sqlite3_bind_blob(s, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt *put_ = nullptr, *del_ = nullptr, *get_ = nullptr, *scan_ = nullptr, *all_ = nullptr;

 private:
  absl::Status Prepare() {
    const std::pair<const char*, sqlite3_stmt**> stmts[] = {
        {"INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)", &put_},
        {"DELETE FROM kv WHERE k = ?", &del_},
        {"SELECT v FROM kv WHERE k = ?", &get_},
        {"SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?", &scan_},
        {"SELECT k, v FROM kv ORDER BY k", &all_}};
    for (const auto& [sql, stmt] : stmts) {
      if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) return Error(sql);
    }
    return absl::OkStatus();
  }
};

class SqliteSession : public Session {
 public:
  absl::Status Open(const std::string& path) { return c_.Open(path); }

  absl::Status Write(const Batch& batch) override {
    if (auto st = c_.Exec("BEGIN IMMEDIATE"); !st.ok()) return st;
    for (const auto& [k, v] : batch.puts) {
      Connection::Bind(c_.put_, 1, k);
      Connection::Bind(c_.put_, 2, v);
      int rc = c_.Step(c_.put_);
      sqlite3_reset(c_.put_);
      if (rc != SQLITE_DONE) return Fail("put");
    }
    for (const std::string& k : batch.deletes) {
      Connection::Bind(c_.del_, 1, k);
      int rc = c_.Step(c_.del_);
      sqlite3_reset(c_.del_);
      if (rc != SQLITE_DONE) return Fail("delete");
    }
    return c_.Exec("COMMIT");
  }
  absl::Status BeginSnapshot() override {
    // A deferred transaction takes its snapshot at the first read.
    return c_.Exec("BEGIN");
  }
  void EndSnapshot() override { (void)c_.Exec("COMMIT"); }
  absl::Status Get(const std::string& key, std::string* value) override {
    Connection::Bind(c_.get_, 1, key);
    int rc = c_.Step(c_.get_);
    absl::Status st;
    if (rc == SQLITE_ROW) {
      value->assign(static_cast<const char*>(sqlite3_column_blob(c_.get_, 0)),
                    sqlite3_column_bytes(c_.get_, 0));
    } else {
      st = rc == SQLITE_DONE ? absl::NotFoundError("no key") : c_.Error("get");
    }
    sqlite3_reset(c_.get_);
    return st;
  }
  absl::Status Scan(const std::string& from, uint64_t n, uint64_t* seen) override {
    Connection::Bind(c_.scan_, 1, from);
    sqlite3_bind_int64(c_.scan_, 2, static_cast<sqlite3_int64>(n));
    *seen = 0;
    int rc;
    while ((rc = c_.Step(c_.scan_)) == SQLITE_ROW) ++*seen;
    sqlite3_reset(c_.scan_);
    return rc == SQLITE_DONE ? absl::OkStatus() : c_.Error("scan");
  }
  absl::Status ScanAll(uint64_t* seen) override {
    *seen = 0;
    uint64_t bytes = 0;
    int rc;
    while ((rc = c_.Step(c_.all_)) == SQLITE_ROW) {
      bytes += static_cast<uint64_t>(sqlite3_column_bytes(c_.all_, 1));
      ++*seen;
    }
    sqlite3_reset(c_.all_);
    if (rc != SQLITE_DONE) return c_.Error("scan");
    return bytes > 0 || *seen == 0 ? absl::OkStatus() : absl::InternalError("no value bytes");
  }

 private:
  absl::Status Fail(const char* what) {
    absl::Status st = c_.Error(what);
    (void)c_.Exec("ROLLBACK");
    return st;
  }
  Connection c_;
};

class SqliteEngine : public Engine {
 public:
  const char* name() const override { return "SQLite"; }
  std::string settings() const override {
    return absl::StrCat("SQLite ", sqlite3_libversion(),
                        ": WAL, synchronous=FULL, WITHOUT ROWID table, 64 MiB page cache, "
                        "a connection per thread");
  }
  absl::Status Open(const std::string& dir) override {
    path_ = dir + "/db.sqlite";
    first_ = std::make_unique<SqliteSession>();  // creates the table, holds the WAL open
    return first_->Open(path_);
  }
  void Close() override { first_.reset(); }
  std::unique_ptr<Session> NewSession() override {
    auto s = std::make_unique<SqliteSession>();
    if (!s->Open(path_).ok()) return nullptr;
    return s;
  }

 private:
  std::string path_;
  std::unique_ptr<SqliteSession> first_;
};

}  // namespace

std::unique_ptr<Engine> NewSqliteEngine() { return std::make_unique<SqliteEngine>(); }

}  // namespace sop::bench
