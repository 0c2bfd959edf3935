// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Two databases committed atomically with two-phase commit: money moves from
// an account in one to an account in the other, and either both change or
// neither does, whatever crashes when. Database A coordinates: its commit,
// which records the decision, is the point of no return.
//
//   prepare B  ->  commit A (with "xid: commit" in store "decisions")  ->  commit B
//
// After a crash, Recover() finishes what was in doubt: an xid prepared in B
// commits if A recorded the decision, and aborts otherwise.

#include <cstdio>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "sop/sop.h"

namespace {

absl::StatusOr<std::unique_ptr<sop::Transaction>> Move(sop::Database& db, int64_t delta,
                                                       const std::string& xid, bool coordinator) {
  auto t = db.Begin(sop::TxnMode::kReadWrite);
  if (!t.ok()) return t.status();
  auto accounts = (*t)->OpenStore("accounts");
  if (!accounts.ok()) return accounts.status();
  int64_t balance = 0;
  if (auto v = (*accounts)->Get("main"); v.ok()) (void)absl::SimpleAtoi(*v, &balance);
  if (auto st = (*accounts)->Put("main", std::to_string(balance + delta)); !st.ok()) return st;
  if (coordinator) {
    auto decisions = (*t)->OpenStore("decisions");
    if (!decisions.ok()) return decisions.status();
    if (auto st = (*decisions)->Put(xid, "commit"); !st.ok()) return st;
  }
  return std::move(*t);
}

absl::Status Transfer(sop::Database& a, sop::Database& b, int64_t amount, const std::string& xid) {
  auto tb = Move(b, +amount, xid, false);
  if (!tb.ok()) return tb.status();
  if (auto st = (*tb)->Prepare(xid); !st.ok()) return st;  // B can no longer refuse
  auto ta = Move(a, -amount, xid, true);
  if (!ta.ok()) return ta.status();
  if (auto st = (*ta)->Commit(); !st.ok()) {  // the decision: durable, or not at all
    (*tb)->Rollback().IgnoreError();
    return st;
  }
  return (*tb)->CommitPrepared();
}

absl::Status Recover(sop::Database& a, sop::Database& b) {
  for (const std::string& xid : b.InDoubt()) {
    auto t = a.Begin(sop::TxnMode::kReadOnly);
    if (!t.ok()) return t.status();
    auto decisions = (*t)->OpenStore("decisions");
    bool commit = decisions.ok() && (*decisions)->Get(xid).ok();
    std::printf("in doubt after a crash: %s -> %s\n", xid.c_str(), commit ? "commit" : "abort");
    auto st = commit ? b.CommitPrepared(xid) : b.AbortPrepared(xid);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

int64_t Balance(sop::Database& db) {
  auto t = db.Begin(sop::TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("accounts");
  int64_t v = 0;
  if (s.ok()) {
    if (auto got = (*s)->Get("main"); got.ok()) (void)absl::SimpleAtoi(*got, &v);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "two-db-demo";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto a = sop::Database::Open(dir + "/a.sop");
    auto b = sop::Database::Open(dir + "/b.sop");
    if (!a.ok() || !b.ok()) return 1;
    if (!Transfer(**a, **b, 100, "xfer-1").ok()) return 1;
    // Simulate a crash between the decision and phase two: prepare B,
    // commit A, and drop B's transaction without committing it.
    auto tb = Move(**b, +50, "xfer-2", false);
    if (!tb.ok() || !(*tb)->Prepare("xfer-2").ok()) return 1;
    auto ta = Move(**a, -50, "xfer-2", true);
    if (!ta.ok() || !(*ta)->Commit().ok()) return 1;
    std::printf("before the 'crash': A=%lld B=%lld, B in doubt: %zu\n",
                static_cast<long long>(Balance(**a)), static_cast<long long>(Balance(**b)),
                (*b)->InDoubt().size());
  }  // both closed with xfer-2 prepared in B: it stays in doubt
  auto a = sop::Database::Open(dir + "/a.sop");
  auto b = sop::Database::Open(dir + "/b.sop");
  if (!a.ok() || !b.ok()) return 1;
  if (!Recover(**a, **b).ok()) return 1;
  int64_t total = Balance(**a) + Balance(**b);
  std::printf("after recovery: A=%lld B=%lld (total %lld)\n", static_cast<long long>(Balance(**a)),
              static_cast<long long>(Balance(**b)), static_cast<long long>(total));
  return total == 0 && Balance(**b) == 150 ? 0 : 1;
}
