// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Public two-phase commit: a prepared transaction is invisible, holds its
// keys, survives a crash and a checkpoint in doubt, and is resolved by id;
// and two databases committed together by a coordinator stay all-or-nothing
// across power cuts at every point of the protocol.

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"
#include "txn/format.h"

namespace sop {
namespace {

class TwoPhaseTest : public ::testing::Test {
 protected:
  TwoPhaseTest() : mem_(NewMemEnv()), env_(mem_.get()) {
    EXPECT_TRUE(env_.CreateDir("/t").ok());
    options_.env = &env_;
    Open();
  }
  void Open() {
    db_.reset();
    auto db = Database::Open("/t/db", options_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void Crash() {
    env_.CrashAfter(0);
    db_.reset();
    ASSERT_TRUE(env_.SimulatePowerLoss({.seed = 1, .keep_some = false}).ok());
    Open();
  }
  absl::StatusOr<std::string> Read(const std::string& key) {
    auto t = db_->Begin(TxnMode::kReadOnly);
    auto s = (*t)->OpenStore("s");
    if (!s.ok()) return s.status();
    return (*s)->Get(key);
  }
  absl::Status Write(const std::string& key, const std::string& value) {
    return db_->Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      return (*s)->Put(key, value);
    });
  }
  std::unique_ptr<Transaction> PrepareWrite(const std::string& xid, const std::string& key,
                                            const std::string& value) {
    auto t = db_->Begin(TxnMode::kReadWrite);
    EXPECT_TRUE(t.ok());
    auto s = (*t)->OpenStore("s");
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE((*s)->Put(key, value).ok());
    EXPECT_TRUE((*t)->Prepare(xid).ok());
    return std::move(*t);
  }

  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  Options options_;
  std::unique_ptr<Database> db_;
};

TEST_F(TwoPhaseTest, PreparedIsInvisibleHoldsItsKeysAndCommitsWhenTold) {
  SOP_ASSERT_OK(Write("k", "old"));
  auto t = PrepareWrite("x1", "k", "new");
  EXPECT_EQ(*Read("k"), "old");
  EXPECT_EQ(db_->InDoubt(), std::vector<std::string>{"x1"});
  EXPECT_TRUE(absl::IsInvalidArgument((*t->OpenStore("s"))->Put("k2", "v")));  // no more changes
  auto other = db_->Begin(TxnMode::kReadWrite);
  SOP_ASSERT_OK((*(*other)->OpenStore("s"))->Put("k", "conflicting"));
  auto st = (*other)->Commit();
  EXPECT_TRUE(absl::IsAborted(st)) << st;  // k is held by x1
  SOP_ASSERT_OK(Write("unrelated", "fine"));
  SOP_ASSERT_OK(t->CommitPrepared());
  EXPECT_EQ(*Read("k"), "new");
  EXPECT_TRUE(db_->InDoubt().empty());
  SOP_ASSERT_OK(Write("k", "after"));  // released
}

TEST_F(TwoPhaseTest, RollbackOfAPreparedTransactionDiscardsIt) {
  auto t = PrepareWrite("x2", "k", "never");
  SOP_ASSERT_OK(t->Rollback());
  EXPECT_TRUE(absl::IsNotFound(Read("k").status()));
  EXPECT_TRUE(db_->InDoubt().empty());
  Crash();
  EXPECT_TRUE(db_->InDoubt().empty());
  EXPECT_TRUE(absl::IsNotFound(Read("k").status()));
}

TEST_F(TwoPhaseTest, APreparedTransactionSurvivesACrashAndACheckpointInDoubt) {
  SOP_ASSERT_OK(Write("k", "old"));
  PrepareWrite("x3", "k", "new");  // the handle is dropped: stays prepared
  SOP_ASSERT_OK(Write("other", "v"));
  SOP_ASSERT_OK(db_->Checkpoint());  // must keep x3's prepare record
  SOP_ASSERT_OK(Write("other2", "v"));
  Crash();
  EXPECT_EQ(db_->InDoubt(), std::vector<std::string>{"x3"});
  EXPECT_EQ(*Read("k"), "old");
  EXPECT_EQ(*Read("other2"), "v");
  EXPECT_TRUE(absl::IsAborted(Write("k", "blocked")));  // still held after the crash
  SOP_ASSERT_OK(db_->Checkpoint());
  Crash();
  EXPECT_EQ(db_->InDoubt(), std::vector<std::string>{"x3"});
  SOP_ASSERT_OK(db_->CommitPrepared("x3"));
  EXPECT_EQ(*Read("k"), "new");
  Crash();
  EXPECT_TRUE(db_->InDoubt().empty());
  EXPECT_EQ(*Read("k"), "new");
  EXPECT_TRUE(absl::IsNotFound(db_->CommitPrepared("x3")));
}

TEST_F(TwoPhaseTest, AnInDoubtTransactionCanBeAbortedAfterACrash) {
  PrepareWrite("x4", "k", "new");
  Crash();
  EXPECT_EQ(db_->InDoubt(), std::vector<std::string>{"x4"});
  SOP_ASSERT_OK(db_->AbortPrepared("x4"));
  Crash();
  EXPECT_TRUE(db_->InDoubt().empty());
  EXPECT_TRUE(absl::IsNotFound(Read("k").status()));
  SOP_ASSERT_OK(Write("k", "free again"));
}

// An abort after a later commit, then a checkpoint: the checkpoint's cut is
// that commit, so the log keeps the abort record but not the prepare record
// it decides. Recovery must still open.
TEST_F(TwoPhaseTest, AnAbortLoggedAfterTheCheckpointsCutStillOpens) {
  SOP_ASSERT_OK(Write("first", "v"));  // the store exists before the prepare
  auto t = PrepareWrite("x5", "k", "never");
  SOP_ASSERT_OK(Write("other", "v"));
  SOP_ASSERT_OK(t->Rollback());
  SOP_ASSERT_OK(db_->Checkpoint());
  Crash();
  EXPECT_TRUE(db_->InDoubt().empty());
  EXPECT_TRUE(absl::IsNotFound(Read("k").status()));
  EXPECT_EQ(*Read("other"), "v");
}

// Logs written before the fix above can hold an abort whose prepare record
// a checkpoint trimmed: replay passes over it. A commit decision for a
// transaction never prepared cannot be passed over: the log is damaged.
TEST_F(TwoPhaseTest, ADecisionForATransactionNeverPreparedInTheLog) {
  SOP_ASSERT_OK(Write("kept", "v"));
  for (bool commit : {false, true}) {
    db_.reset();
    {
      FileBackendOptions fo;
      fo.env = &env_;
      auto backend = OpenFileBackend("/t/db", fo);
      SOP_ASSERT_OK(backend);
      SOP_ASSERT_OK((*backend)->log()->Append(DecisionRecord("ghost", commit)));
    }
    auto db = Database::Open("/t/db", options_);
    if (commit) {
      EXPECT_TRUE(absl::IsDataLoss(db.status())) << db.status();
      return;
    }
    SOP_ASSERT_OK(db);
    db_ = std::move(*db);
    EXPECT_TRUE(db_->InDoubt().empty());
    EXPECT_EQ(*Read("kept"), "v");
    SOP_ASSERT_OK(Write("after", "w"));
    Crash();
    EXPECT_EQ(*Read("after"), "w");
  }
}

// A prepared transaction's large value is stored before its prepare
// record; when it is aborted and the power goes before the next
// checkpoint, recovery replays the abort and must free the value too.
TEST_F(TwoPhaseTest, AnAbortedTransactionsValueIsFreedWhenItsAbortIsReplayed) {
  SOP_ASSERT_OK(Write("first", "v"));  // the store exists before the prepares
  const std::string big(1 << 20, 'b');
  for (int round = 0; round < 10; ++round) {
    auto t = PrepareWrite(absl::StrCat("big", round), "k", big);
    SOP_ASSERT_OK(t->Rollback());
    t.reset();
    Crash();
    EXPECT_TRUE(db_->InDoubt().empty());
    EXPECT_TRUE(absl::IsNotFound(Read("k").status()));
  }
  Open();  // the close's checkpoint frees what the last replay found
  uint64_t size = 0;
  {
    auto f = env_.OpenFile("/t/db", OpenMode::kExisting);
    SOP_ASSERT_OK(f);
    size = *(*f)->Size();
  }
  EXPECT_LT(size, 3u << 20) << "aborted values are still taken";
}

// One database: each transaction writes two keys, is prepared, then
// committed. At every power-cut point, after recovery (in-doubt ones are
// committed when their number is even, aborted when odd), every transaction
// is all or nothing and every acknowledged commit is there.
TEST(OneDatabaseTwoPhaseTest, PreparedTransactionsAreAllOrNothingAtEveryPowerCutPoint) {
  constexpr int kTxns = 15;
  auto run = [&](FaultInjectionEnv& env, int64_t crash_at, int* acked) {
    Options o;
    o.env = &env;
    auto db = Database::Open("/y/db", o);
    if (!db.ok()) return;
    if (crash_at >= 0) env.CrashAfter(crash_at);
    for (int i = 0; i < kTxns; ++i) {
      auto t = (*db)->Begin(TxnMode::kReadWrite);
      if (!t.ok()) return;
      auto s = (*t)->OpenStore("s");
      if (!s.ok()) return;
      if (!(*s)->Put(absl::StrCat(i, "/a"), "x").ok() ||
          !(*s)->Put(absl::StrCat(i, "/b"), "x").ok()) {
        return;
      }
      if (!(*t)->Prepare(absl::StrCat("x", i)).ok()) return;
      if (!(*t)->CommitPrepared().ok()) return;
      ++*acked;
    }
  };
  int64_t total = 0;
  {
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    SOP_ASSERT_OK(env.CreateDir("/y"));
    int acked = 0;
    run(env, -1, &acked);
    ASSERT_EQ(acked, kTxns);
    total = env.mutation_count();
  }
  for (int64_t point = 0; point < total; ++point) {
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    SOP_ASSERT_OK(env.CreateDir("/y"));
    int acked = 0;
    run(env, point, &acked);
    SOP_ASSERT_OK(env.SimulatePowerLoss(
        {.seed = static_cast<uint64_t>(point), .keep_some = point % 2 == 1, .tear_bytes = 512}));
    std::string where = absl::StrCat("crash point ", point, "/", total, ": ");
    Options o;
    o.env = &env;
    auto db = Database::Open("/y/db", o);
    ASSERT_TRUE(db.ok()) << where << db.status();
    std::set<int> committed_by_recovery;
    for (const std::string& xid : (*db)->InDoubt()) {
      int i;
      ASSERT_TRUE(absl::SimpleAtoi(xid.substr(1), &i)) << where;
      if (i % 2 == 0) {
        SOP_ASSERT_OK((*db)->CommitPrepared(xid));
        committed_by_recovery.insert(i);
      } else {
        SOP_ASSERT_OK((*db)->AbortPrepared(xid));
      }
    }
    auto t = (*db)->Begin(TxnMode::kReadOnly);
    auto s = (*t)->OpenStore("s");
    for (int i = 0; i < kTxns; ++i) {
      bool a = s.ok() && (*s)->Get(absl::StrCat(i, "/a")).ok();
      bool b = s.ok() && (*s)->Get(absl::StrCat(i, "/b")).ok();
      ASSERT_EQ(a, b) << where << "transaction " << i << " is half there";
      if (i < acked || committed_by_recovery.count(i) > 0) {
        ASSERT_TRUE(a) << where << "committed transaction " << i << " lost";
      }
    }
    SOP_ASSERT_OK((*db)->Verify());
  }
}

// Two databases, one transfer each: database A is the coordinator. The
// protocol: prepare B; commit A with a decision marker for the xid (the
// decision point); then commit B. Recovery: an in-doubt xid in B commits if
// A holds its marker, else aborts.
struct Bank {
  std::unique_ptr<Database> a, b;
};

absl::Status Transfer(Bank& bank, int i, int64_t amount) {
  std::string xid = absl::StrCat("transfer-", i);
  auto move = [&](Database& db, int64_t delta,
                  bool marker) -> absl::StatusOr<std::unique_ptr<Transaction>> {
    auto t = db.Begin(TxnMode::kReadWrite);
    if (!t.ok()) return t.status();
    auto s = (*t)->OpenStore("acct");
    if (!s.ok()) return s.status();
    auto v = (*s)->Get("balance");
    int64_t balance = 0;
    if (v.ok() && !absl::SimpleAtoi(*v, &balance)) return absl::DataLossError("balance");
    if (auto st = (*s)->Put("balance", std::to_string(balance + delta)); !st.ok()) return st;
    if (auto st = (*s)->Put(absl::StrCat("applied/", xid), "1"); !st.ok()) return st;
    if (marker) {
      auto d = (*t)->OpenStore("decisions");
      if (!d.ok()) return d.status();
      if (auto st = (*d)->Put(xid, "commit"); !st.ok()) return st;
    }
    return std::move(*t);
  };
  auto tb = move(*bank.b, amount, false);
  if (!tb.ok()) return tb.status();
  if (auto st = (*tb)->Prepare(xid); !st.ok()) return st;
  auto ta = move(*bank.a, -amount, true);
  if (!ta.ok()) return ta.status();
  if (auto st = (*ta)->Commit(); !st.ok()) {
    (*tb)->Rollback().IgnoreError();
    return st;
  }
  return (*tb)->CommitPrepared();
}

absl::Status Recover(Bank& bank) {
  for (const std::string& xid : bank.b->InDoubt()) {
    auto t = bank.a->Begin(TxnMode::kReadOnly);
    auto d = (*t)->OpenStore("decisions");
    bool committed = d.ok() && (*d)->Get(xid).ok();
    absl::Status st = committed ? bank.b->CommitPrepared(xid) : bank.b->AbortPrepared(xid);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

TEST(TwoDatabaseTest, AllOrNothingAcrossBothAtEveryPowerCutPoint) {
  constexpr int kTransfers = 12;
  constexpr int64_t kStart = 1000;
  auto run = [&](FaultInjectionEnv& env, int64_t crash_at, int* done) {
    Options o;
    o.env = &env;
    Bank bank;
    auto a = Database::Open("/x/a", o);
    auto b = Database::Open("/x/b", o);
    if (!a.ok() || !b.ok()) return;
    bank.a = std::move(*a);
    bank.b = std::move(*b);
    if (crash_at >= 0) env.CrashAfter(crash_at);
    for (int i = 0; i < kTransfers; ++i) {
      if (!Transfer(bank, i, 10 + i).ok()) return;
      ++*done;
    }
  };
  // Count the mutations of a whole run, with the balances seeded.
  auto seed = [](FaultInjectionEnv& env) {
    Options o;
    o.env = &env;
    for (const char* path : {"/x/a", "/x/b"}) {
      auto db = Database::Open(path, o);
      ASSERT_TRUE(db.ok());
      SOP_ASSERT_OK((*db)->Update([](Transaction& t) -> absl::Status {
        auto s = t.OpenStore("acct");
        if (!s.ok()) return s.status();
        return (*s)->Put("balance", std::to_string(kStart));
      }));
    }
  };
  int64_t total = 0;
  {
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    SOP_ASSERT_OK(env.CreateDir("/x"));
    seed(env);
    int64_t before = env.mutation_count();
    int done = 0;
    run(env, -1, &done);
    ASSERT_EQ(done, kTransfers);
    total = env.mutation_count() - before;
  }
  int runs = 0;
  for (int64_t point = 0; point < total; ++point) {
    for (bool keep : {false, true}) {
      auto mem = NewMemEnv();
      FaultInjectionEnv env(mem.get());
      SOP_ASSERT_OK(env.CreateDir("/x"));
      seed(env);
      int done = 0;
      run(env, point, &done);
      SOP_ASSERT_OK(env.SimulatePowerLoss(
          {.seed = static_cast<uint64_t>(point), .keep_some = keep, .tear_bytes = 512}));
      std::string where =
          absl::StrCat("crash point ", point, "/", total, keep ? " keep-some" : "", ": ");
      Options o;
      o.env = &env;
      Bank bank;
      auto a = Database::Open("/x/a", o);
      auto b = Database::Open("/x/b", o);
      ASSERT_TRUE(a.ok()) << where << a.status();
      ASSERT_TRUE(b.ok()) << where << b.status();
      bank.a = std::move(*a);
      bank.b = std::move(*b);
      ASSERT_TRUE(bank.a->InDoubt().empty()) << where;
      SOP_ASSERT_OK(Recover(bank));
      ASSERT_TRUE(bank.b->InDoubt().empty()) << where;
      // All or nothing: the same transfers applied on both sides, money kept.
      std::set<std::string> applied_a, applied_b;
      int64_t sum = 0;
      for (auto* db : {bank.a.get(), bank.b.get()}) {
        auto t = db->Begin(TxnMode::kReadOnly);
        auto s = (*t)->OpenStore("acct");
        ASSERT_TRUE(s.ok()) << where;
        int64_t balance;
        ASSERT_TRUE(absl::SimpleAtoi(*(*s)->Get("balance"), &balance)) << where;
        sum += balance;
        auto c = (*s)->NewCursor({.prefix = "applied/"});
        for (c->SeekToFirst(); c->Valid(); c->Next()) {
          (db == bank.a.get() ? applied_a : applied_b).insert(std::string(c->key()));
        }
      }
      ASSERT_EQ(sum, 2 * kStart) << where;
      ASSERT_EQ(applied_a, applied_b) << where;
      ASSERT_GE(static_cast<int>(applied_a.size()), done) << where << "acknowledged transfers lost";
      SOP_ASSERT_OK(bank.a->Verify());
      SOP_ASSERT_OK(bank.b->Verify());
      ++runs;
    }
  }
  std::printf("%d crash runs over %lld points of %d two-database transfers\n", runs,
              static_cast<long long>(total), kTransfers);
}

}  // namespace
}  // namespace sop
