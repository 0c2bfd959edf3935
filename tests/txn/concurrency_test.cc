// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Concurrent read-write transactions: key-level conflicts, snapshot
// isolation and serializable, timeouts, and a bank-transfer torture run
// (8 writers, 2 scanning readers). Run under TSan by `scripts/dev sanitize`.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "sop/sop.h"
#include "test_util.h"
#include "util/mutex.h"

namespace sop {
namespace {

class ConcurrencyTest : public ::testing::Test {
 protected:
  ConcurrencyTest() {
    auto db = Database::Open(dir_.File("db"));
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  std::unique_ptr<Transaction> Begin(TxnOptions o = {}) {
    auto t = db_->Begin(TxnMode::kReadWrite, o);
    EXPECT_TRUE(t.ok()) << t.status();
    return std::move(*t);
  }
  static RawStore* S(Transaction& t, const char* name = "s") {
    auto s = t.OpenStore(name);
    EXPECT_TRUE(s.ok()) << s.status();
    return *s;
  }
  void Seed(const std::vector<std::pair<std::string, std::string>>& kv) {
    auto t = Begin();
    for (const auto& [k, v] : kv) SOP_ASSERT_OK(S(*t)->Put(k, v));
    SOP_ASSERT_OK(t->Commit());
  }
  std::string Read(const std::string& key) {
    auto t = db_->Begin(TxnMode::kReadOnly);
    auto v = S(**t)->Get(key);
    return v.ok() ? *v : "<" + v.status().ToString() + ">";
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(ConcurrencyTest, DifferentKeysOfTheSameLeafBothCommit) {
  Seed({{"a", "0"}, {"b", "0"}, {"c", "0"}});  // one leaf
  auto t1 = Begin();
  auto t2 = Begin();
  SOP_ASSERT_OK(S(*t1)->Put("a", "t1"));
  SOP_ASSERT_OK(S(*t2)->Put("c", "t2"));
  SOP_ASSERT_OK(S(*t2)->Add("b2", "t2"));
  SOP_ASSERT_OK(t1->Commit());
  SOP_ASSERT_OK(t2->Commit());  // applied to the leaf t1 changed, not refused
  EXPECT_EQ(Read("a"), "t1");
  EXPECT_EQ(Read("b2"), "t2");
  EXPECT_EQ(Read("c"), "t2");
  SOP_EXPECT_OK(db_->Verify());
}

TEST_F(ConcurrencyTest, SameKeyReadModifyWriteExactlyOneCommits) {
  Seed({{"counter", "10"}});
  auto t1 = Begin();
  auto t2 = Begin();
  for (auto* t : {t1.get(), t2.get()}) {
    int v;
    ASSERT_TRUE(absl::SimpleAtoi(*S(*t)->Get("counter"), &v));
    SOP_ASSERT_OK(S(*t)->Put("counter", std::to_string(v + 1)));
  }
  SOP_ASSERT_OK(t1->Commit());
  auto second = t2->Commit();
  EXPECT_TRUE(absl::IsAborted(second)) << second;
  EXPECT_EQ(Read("counter"), "11");
}

// Two on-call doctors; each may leave if the other is still on call.
void WriteSkew(ConcurrencyTest* test, Database& db, bool serializable, absl::Status* second) {
  TxnOptions o;
  o.serializable = serializable;
  auto t1 = db.Begin(TxnMode::kReadWrite, o);
  auto t2 = db.Begin(TxnMode::kReadWrite, o);
  (void)test;
  for (auto [t, leaving] : {std::pair{t1->get(), "alice"}, std::pair{t2->get(), "bob"}}) {
    auto s = t->OpenStore("s");
    int on_call = 0;
    auto c = (*s)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next()) on_call += c->value() == "on";
    ASSERT_EQ(on_call, 2);
    SOP_ASSERT_OK((*s)->Put(leaving, "off"));
  }
  SOP_ASSERT_OK((*t1)->Commit());
  *second = (*t2)->Commit();
}

TEST_F(ConcurrencyTest, WriteSkewIsAllowedUnderSnapshotIsolation) {
  Seed({{"alice", "on"}, {"bob", "on"}});
  absl::Status second;
  WriteSkew(this, *db_, /*serializable=*/false, &second);
  SOP_EXPECT_OK(second);
  EXPECT_EQ(Read("alice"), "off");
  EXPECT_EQ(Read("bob"), "off");  // nobody on call: the anomaly SI permits
}

TEST_F(ConcurrencyTest, WriteSkewIsRefusedUnderSerializable) {
  Seed({{"alice", "on"}, {"bob", "on"}});
  absl::Status second;
  WriteSkew(this, *db_, /*serializable=*/true, &second);
  EXPECT_TRUE(absl::IsAborted(second)) << second;
  EXPECT_EQ(Read("alice"), "off");
  EXPECT_EQ(Read("bob"), "on");
}

TEST_F(ConcurrencyTest, SerializableRefusesAPointReadOverwrittenMeanwhile) {
  Seed({{"x", "1"}, {"y", "1"}});
  TxnOptions o;
  o.serializable = true;
  auto t1 = Begin(o);
  SOP_ASSERT_OK(S(*t1)->Get("x").status());
  SOP_ASSERT_OK(S(*t1)->Put("y", "from t1"));
  Seed({{"x", "2"}});
  EXPECT_TRUE(absl::IsAborted(t1->Commit()));
  // Snapshot isolation lets the same history commit.
  auto t2 = Begin();
  SOP_ASSERT_OK(S(*t2)->Get("x").status());
  SOP_ASSERT_OK(S(*t2)->Put("y", "from t2"));
  Seed({{"x", "3"}});
  SOP_EXPECT_OK(t2->Commit());
}

TEST_F(ConcurrencyTest, ATransactionPastItsTimeoutFailsAndHoldsNothing) {
  Seed({{"k", "v"}});
  TxnOptions o;
  o.timeout = absl::Nanoseconds(1);
  auto late = Begin(o);
  auto put = late->OpenStore("s");
  EXPECT_TRUE(absl::IsDeadlineExceeded(put.status())) << put.status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(late->Commit()));
  auto other = Begin();
  SOP_ASSERT_OK(S(*other)->Put("k", "other"));
  SOP_ASSERT_OK(other->Commit());
  EXPECT_EQ(Read("k"), "other");
}

TEST_F(ConcurrencyTest, ADroppedTransactionLeavesNothingLocked) {
  Seed({{"k", "v"}});
  std::thread([&] {
    auto t = Begin();
    SOP_ASSERT_OK(S(*t)->Put("k", "abandoned"));
    // dropped here without Commit or Rollback
  }).join();
  auto t = Begin();
  SOP_ASSERT_OK(S(*t)->Put("k", "next"));
  SOP_ASSERT_OK(t->Commit());
  EXPECT_EQ(Read("k"), "next");
}

TEST_F(ConcurrencyTest, WritersOfDistinctKeysNeverConflict) {
  Seed({{"seed", "x"}});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::string first_failure;
  Mutex mu;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(w);
      for (int i = 0; i < 300; ++i) {
        auto t = db_->Begin(TxnMode::kReadWrite);
        auto s = (*t)->OpenStore("s");
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE((*s)->Put(absl::StrFormat("w%d-%016d", w, rng() % 1000000), "v").ok());
        absl::Status st = (*t)->Commit();
        if (!st.ok() && failures++ == 0) {
          MutexLock lock(&mu);
          first_failure = st.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  MutexLock lock(&mu);
  EXPECT_EQ(failures.load(), 0) << first_failure;
  SOP_EXPECT_OK(db_->Verify());
}

TEST_F(ConcurrencyTest, ConcurrentInsertsThatSplitAndMergeLeavesLoseNothing) {
  Seed({{"seed", "x"}});
  constexpr int kThreads = 4, kEach = 1500;
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        absl::Status st = db_->Update([&](Transaction& t) -> absl::Status {
          auto s = t.OpenStore("s");
          if (!s.ok()) return s.status();
          // Interleaved keys: neighbours in the tree belong to different threads.
          if (auto put = (*s)->Put(absl::StrFormat("k%06d-%d", i, w), std::string(60, 'a' + w));
              !put.ok()) {
            return put;
          }
          // Every third transaction also removes an older key of its own.
          if (i % 3 == 2) return (*s)->Remove(absl::StrFormat("k%06d-%d", i - 2, w));
          return absl::OkStatus();
        });
        ASSERT_TRUE(st.ok()) << st;
      }
    });
  }
  for (auto& th : threads) th.join();
  SOP_ASSERT_OK(db_->Verify());
  auto t = db_->Begin(TxnMode::kReadOnly);
  auto s = S(**t);
  for (int w = 0; w < kThreads; ++w) {
    for (int i = 0; i < kEach; ++i) {
      bool removed = i % 3 == 0 && i + 2 < kEach;
      auto v = s->Get(absl::StrFormat("k%06d-%d", i, w));
      ASSERT_EQ(v.ok(), !removed) << "key " << i << " of thread " << w;
    }
  }
}

TEST_F(ConcurrencyTest, UpdateRetriesConflictsUntilEveryIncrementLands) {
  Seed({{"n", "0"}});
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      RetryOptions retry;
      retry.max_attempts = 1000;
      for (int j = 0; j < kEach; ++j) {
        absl::Status st = db_->Update(
            [](Transaction& t) -> absl::Status {
              auto s = t.OpenStore("s");
              if (!s.ok()) return s.status();
              auto v = (*s)->Get("n");
              if (!v.ok()) return v.status();
              int n = 0;
              if (!absl::SimpleAtoi(*v, &n)) return absl::DataLossError("not a number");
              return (*s)->Put("n", std::to_string(n + 1));
            },
            retry);
        ASSERT_TRUE(st.ok()) << st;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(Read("n"), std::to_string(kThreads * kEach));
}

TEST_F(ConcurrencyTest, BankTransfersKeepEverySnapshotBalanced) {
  constexpr int kAccounts = 1000, kWriters = 8, kReaders = 2;
  constexpr int64_t kStart = 1000;
  const char* secs = std::getenv("SOP_BANK_SECONDS");
  const absl::Duration run = absl::Seconds(secs ? std::atoi(secs) : 10);
  auto account = [](int i) { return absl::StrFormat("acct%05d", i); };
  {
    auto t = Begin();
    for (int i = 0; i < kAccounts; ++i)
      SOP_ASSERT_OK(S(*t)->Put(account(i), std::to_string(kStart)));
    SOP_ASSERT_OK(t->Commit());
  }
  std::atomic<bool> stop{false};
  std::vector<int64_t> commits(kWriters), aborts(kWriters), scans(kReaders);
  std::atomic<int> bad_scans{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(w);
      while (!stop.load()) {
        int from = static_cast<int>(rng() % kAccounts), to = static_cast<int>(rng() % kAccounts);
        if (from == to) continue;
        int64_t amount = 1 + rng() % 50;
        auto t = db_->Begin(TxnMode::kReadWrite);
        ASSERT_TRUE(t.ok());
        auto s = (*t)->OpenStore("s");
        ASSERT_TRUE(s.ok());
        int64_t a, b;
        ASSERT_TRUE(absl::SimpleAtoi(*(*s)->Get(account(from)), &a));
        ASSERT_TRUE(absl::SimpleAtoi(*(*s)->Get(account(to)), &b));
        if (a < amount) continue;
        ASSERT_TRUE((*s)->Put(account(from), std::to_string(a - amount)).ok());
        ASSERT_TRUE((*s)->Put(account(to), std::to_string(b + amount)).ok());
        absl::Status st = (*t)->Commit();
        if (st.ok()) {
          ++commits[w];
        } else {
          ASSERT_TRUE(absl::IsAborted(st)) << st;
          ++aborts[w];
        }
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      while (!stop.load()) {
        auto t = db_->Begin(TxnMode::kReadOnly);
        auto s = (*t)->OpenStore("s");
        ASSERT_TRUE(s.ok());
        int64_t sum = 0, n = 0;
        auto c = (*s)->NewCursor();
        for (c->SeekToFirst(); c->Valid(); c->Next()) {
          int64_t v;
          ASSERT_TRUE(absl::SimpleAtoi(c->value(), &v));
          sum += v;
          ++n;
        }
        ASSERT_TRUE(c->status().ok()) << c->status();
        if (sum != kAccounts * kStart || n != kAccounts) ++bad_scans;
        ++scans[r];
      }
    });
  }
  absl::SleepFor(run);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad_scans.load(), 0);
  int64_t total_commits = 0, total_aborts = 0;
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_GT(commits[w], 0) << "writer " << w << " never committed";
    total_commits += commits[w];
    total_aborts += aborts[w];
  }
  for (int r = 0; r < kReaders; ++r) EXPECT_GT(scans[r], 0);
  int64_t sum = 0;
  {
    auto t = db_->Begin(TxnMode::kReadOnly);
    auto c = S(**t)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      int64_t v;
      ASSERT_TRUE(absl::SimpleAtoi(c->value(), &v));
      sum += v;
    }
  }
  EXPECT_EQ(sum, kAccounts * kStart);
  SOP_EXPECT_OK(db_->Verify());
  std::printf("%lld commits, %lld conflicts, %lld + %lld balanced scans\n",
              static_cast<long long>(total_commits), static_cast<long long>(total_aborts),
              static_cast<long long>(scans[0]), static_cast<long long>(scans[1]));
}

}  // namespace
}  // namespace sop

namespace sop {
namespace {

// Node versions superseded by commits are freed once no snapshot can see
// them: a long reader pins what it sees, and when it ends the space is
// reused, so the file stops growing under a steady overwrite workload.
// Readers and writers through a cache that holds a few nodes: cached nodes
// are evicted, re-read and replaced by checkpoints while readers resolve
// them through the registry (run under TSan with the concurrency label).
TEST(TinyCacheTest, ReadersAndWritersShareACacheThatKeepsEvicting) {
  testing::TempDir dir;
  Options o;
  o.cache_bytes = 64 << 10;
  o.checkpoint_dirty_bytes = 256 << 10;
  auto db = Database::Open(dir.File("db"), o);
  SOP_ASSERT_OK(db);
  constexpr int kKeys = 4000;
  auto key = [](int i) { return absl::StrFormat("k%06d", i); };
  SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
    auto s = t.OpenStore("s");
    if (!s.ok()) return s.status();
    for (int i = 0; i < kKeys; ++i) {
      if (auto st = (*s)->Put(key(i), key(i) + ":0"); !st.ok()) return st;
    }
    return absl::OkStatus();
  }));
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, commits{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(w);
      for (int round = 1; !stop.load(); ++round) {
        absl::Status st = (*db)->Update([&](Transaction& t) -> absl::Status {
          auto s = t.OpenStore("s");
          if (!s.ok()) return s.status();
          for (int i = 0; i < 20; ++i) {
            int k = static_cast<int>(rng() % kKeys);
            if (auto put = (*s)->Put(key(k), absl::StrCat(key(k), ":", round)); !put.ok()) {
              return put;
            }
          }
          return absl::OkStatus();
        });
        EXPECT_TRUE(st.ok()) << st;
        ++commits;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(100 + r);
      while (!stop.load()) {
        auto t = (*db)->Begin(TxnMode::kReadOnly);
        ASSERT_TRUE(t.ok());
        auto s = (*t)->OpenStore("s");
        ASSERT_TRUE(s.ok());
        for (int i = 0; i < 50; ++i) {
          int k = static_cast<int>(rng() % kKeys);
          auto v = (*s)->Get(key(k));
          ASSERT_TRUE(v.ok()) << v.status();
          ASSERT_EQ(v->substr(0, key(k).size() + 1), key(k) + ":");
          ++reads;
        }
        auto c = (*s)->NewCursor();
        int seen = 0;
        for (c->SeekToFirst(); c->Valid(); c->Next()) ++seen;
        ASSERT_TRUE(c->status().ok()) << c->status();
        ASSERT_EQ(seen, kKeys);
      }
    });
  }
  absl::SleepFor(absl::Seconds(2));
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GT(commits.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_LE((*db)->Stats().cache_bytes, 64u << 10);
  SOP_EXPECT_OK((*db)->Verify());
}

// Holds every Sync of one file until released, so that a test can stop a
// checkpoint in the middle of its writes.
class SyncGateEnv : public EnvWrapper {
 public:
  SyncGateEnv(Env* base, std::string gated) : EnvWrapper(base), gated_(std::move(gated)) {}

  void Close() {  // the next Sync of the gated file waits
    MutexLock lock(&mu_);
    closed_ = true;
  }
  void Open() {
    MutexLock lock(&mu_);
    closed_ = false;
    cv_.SignalAll();
  }
  // Waits up to `timeout` for a Sync to be held at the gate.
  bool AwaitHeld(absl::Duration timeout = absl::Seconds(30)) {
    MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + timeout;
    while (held_ == 0 && absl::Now() < deadline) {
      cv_.WaitFor(&mu_, std::chrono::milliseconds(10));
    }
    return held_ > 0;
  }

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    auto f = base()->OpenFile(path, mode);
    if (!f.ok() || path != gated_) return f;
    return std::unique_ptr<File>(new GatedFile(this, *std::move(f)));
  }

 private:
  class GatedFile : public FileWrapper {
   public:
    GatedFile(SyncGateEnv* env, std::unique_ptr<File> f) : FileWrapper(std::move(f)), env_(env) {}
    absl::Status Sync() override {
      {
        MutexLock lock(&env_->mu_);
        ++env_->held_;
        env_->cv_.SignalAll();
        // Never forever: a test that fails to open the gate still ends.
        for (int i = 0; i < 3000 && env_->closed_; ++i) {
          env_->cv_.WaitFor(&env_->mu_, std::chrono::milliseconds(10));
        }
        --env_->held_;
      }
      return FileWrapper::Sync();
    }

   private:
    SyncGateEnv* const env_;
  };

  const std::string gated_;
  Mutex mu_;
  CondVar cv_;
  bool closed_ = false;
  int held_ = 0;
};

// A checkpoint writes with the commit lock released (decision 0012): held
// at a sync of the data file, it must not stop a commit.
TEST(CheckpointConcurrencyTest, ACommitGoesOnWhileACheckpointWrites) {
  testing::TempDir dir;
  SyncGateEnv env(Env::Default(), dir.File("db"));
  Options options;
  options.env = &env;
  {
    auto db = Database::Open(dir.File("db"), options);
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK((*db)->Update([](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      for (int i = 0; i < 500; ++i) {
        if (auto st = (*s)->Put(absl::StrFormat("before%04d", i), "v"); !st.ok()) return st;
      }
      return absl::OkStatus();
    }));
    env.Close();
    absl::Status checkpoint;
    std::thread checkpointer([&] { checkpoint = (*db)->Checkpoint(); });
    ASSERT_TRUE(env.AwaitHeld()) << "the checkpoint never synced the data file";
    std::atomic<bool> committed{false};
    absl::Status commit;
    std::thread committer([&] {
      commit = (*db)->Update([](Transaction& t) -> absl::Status {
        auto s = t.OpenStore("s");
        if (!s.ok()) return s.status();
        return (*s)->Put("during", "the checkpoint");
      });
      committed = true;
    });
    for (int i = 0; i < 1000 && !committed; ++i) absl::SleepFor(absl::Milliseconds(10));
    const bool went_on = committed;
    env.Open();
    committer.join();
    checkpointer.join();
    EXPECT_TRUE(went_on) << "the commit waited for the checkpoint's writes";
    SOP_EXPECT_OK(commit);
    SOP_EXPECT_OK(checkpoint);
  }
  // Both the checkpoint's contents and the commit behind it are there.
  auto db = Database::Open(dir.File("db"));
  SOP_ASSERT_OK(db);
  auto t = (*db)->Begin(TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("s");
  SOP_ASSERT_OK(s);
  EXPECT_EQ(*(*s)->Get("before0499"), "v");
  EXPECT_EQ(*(*s)->Get("during"), "the checkpoint");
  SOP_EXPECT_OK((*db)->Verify());
}

// The commit that finds a checkpoint due wakes the checkpoint thread and
// returns (decision 0019); commits wait for a checkpoint only once the
// changed nodes reach twice the threshold while it writes.
TEST(CheckpointConcurrencyTest, ACommitWakesTheCheckpointThreadAndWaitsOnlyWhenItOutrunsIt) {
  testing::TempDir dir;
  SyncGateEnv env(Env::Default(), dir.File("db"));
  Options options;
  options.env = &env;
  options.checkpoint_dirty_bytes = 64 << 10;
  options.checkpoint_log_bytes = 1ull << 40;
  constexpr int kKeys = 3000;
  auto key = [](int i) { return absl::StrFormat("%06d", i); };
  // Each commit changes one key far from the last one's, so in a leaf of its own.
  auto put = [&](Database& db, int i) {
    return db.Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      return (*s)->Put(key(i * 97 % kKeys), absl::StrCat("commit ", i));
    });
  };
  int commits = 0;
  {
    auto db = Database::Open(dir.File("db"), options);
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      for (int i = 0; i < kKeys; ++i) {
        if (auto st = (*s)->Put(key(i), "v"); !st.ok()) return st;
      }
      return absl::OkStatus();
    }));
    SOP_ASSERT_OK((*db)->Checkpoint());
    const uint64_t checkpoints = (*db)->Stats().checkpoints;
    env.Close();
    // One commit at a time until a checkpoint is due; the commit that made
    // it so returns, and the checkpoint then reaches the data file's sync.
    while ((*db)->Stats().dirty_bytes < options.checkpoint_dirty_bytes && commits < 1000) {
      SOP_ASSERT_OK(put(**db, commits++));
    }
    ASSERT_EQ((*db)->Stats().checkpoints, checkpoints);
    ASSERT_TRUE(env.AwaitHeld()) << "no checkpoint was held at its sync while the committing "
                                 << "thread went on";
    // Commits go on until the changed nodes reach twice the threshold; the
    // commit that finds them there waits for the held checkpoint.
    std::atomic<int> done{commits};
    std::thread committer([&] {
      for (int i = commits; i < commits + 1000; ++i) {
        if (!put(**db, i).ok()) return;
        ++done;
      }
    });
    for (int i = 0; i < 3000 && (*db)->Stats().dirty_bytes < 2 * options.checkpoint_dirty_bytes;
         ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    const int reached = done;
    absl::SleepFor(absl::Milliseconds(300));
    const int later = done;
    const uint64_t dirty = (*db)->Stats().dirty_bytes;
    env.Open();
    committer.join();
    EXPECT_LE(later, reached + 1) << "commits went on past twice the dirty threshold";
    EXPECT_GE((*db)->Stats().checkpoint_waits, 1u);
    EXPECT_GE(dirty, 2 * options.checkpoint_dirty_bytes);
    EXPECT_EQ(done, commits + 1000) << "a commit failed";
    commits = done;
  }
  auto db = Database::Open(dir.File("db"), options);
  SOP_ASSERT_OK(db);
  auto t = (*db)->Begin(TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("s");
  SOP_ASSERT_OK(s);
  for (int i = commits - kKeys / 97; i < commits; ++i) {
    auto got = (*s)->Get(key(i * 97 % kKeys));
    SOP_ASSERT_OK(got);
    EXPECT_EQ(*got, absl::StrCat("commit ", i));
  }
  SOP_EXPECT_OK((*db)->Verify());
}

// Threads of this process, as Linux lists them.
int ThreadCount() {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
  if (ec) return -1;
  return static_cast<int>(std::distance(it, std::filesystem::directory_iterator()));
}

// A database only read, or checkpointed only when asked, runs on its
// callers' threads; the first checkpoint a commit makes due starts the
// checkpoint thread, and closing joins it.
TEST(CheckpointConcurrencyTest, OnlyADueCheckpointStartsAThreadAndClosingJoinsIt) {
  // A first thread makes the runtime start its own helpers (TSan does).
  std::thread([] {}).join();
  const int before = ThreadCount();
  if (before < 0) GTEST_SKIP() << "no /proc/self/task to count threads in";
  testing::TempDir dir;
  Options options;
  options.checkpoint_dirty_bytes = 64 << 10;
  options.checkpoint_log_bytes = 1ull << 40;
  auto put = [](Database& db, int i) {
    return db.Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      return (*s)->Put(absl::StrFormat("%06d", i * 7919 % 100000), std::string(200, 'v'));
    });
  };
  {
    auto db = Database::Open(dir.File("db"), options);
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK(put(**db, 0));
    SOP_ASSERT_OK((*db)->Checkpoint());
  }
  auto db = Database::Open(dir.File("db"), options);
  SOP_ASSERT_OK(db);
  {
    auto t = (*db)->Begin(TxnMode::kReadOnly);
    SOP_ASSERT_OK(t);
    auto s = (*t)->OpenStore("s");
    SOP_ASSERT_OK(s);
    SOP_EXPECT_OK((*s)->Get(absl::StrFormat("%06d", 0)).status());
  }
  SOP_ASSERT_OK(put(**db, 1));
  SOP_ASSERT_OK((*db)->Checkpoint());
  EXPECT_EQ(ThreadCount(), before) << "reads, a small commit or Checkpoint() started a thread";
  int i = 2;
  while ((*db)->Stats().checkpoints < 2 && i < 5000) SOP_ASSERT_OK(put(**db, i++));
  ASSERT_GE((*db)->Stats().checkpoints, 2u) << "no checkpoint came due";
  EXPECT_EQ(ThreadCount(), before + 1);
  db->reset();
  EXPECT_EQ(ThreadCount(), before) << "closing left the checkpoint thread running";
}

// Four committers with checkpoints every few commits, so that commits land
// while checkpoints write; the power goes at a seeded point. Every
// acknowledged commit must be there after the cut, nothing else but the
// commits in flight, and the tree must verify.
TEST(CheckpointConcurrencyTest, CommitsRacingCheckpointsSurviveAPowerCut) {
  constexpr int kThreads = 4, kEach = 150;
  // Every fourth value is too long for its leaf: a blob of its own, streamed
  // in while checkpoints run (a checkpoint that gave the file's free tail back
  // once cut off a value just reserved there).
  auto value = [](int w, int i) { return testing::Pattern(w * 1000 + i, i % 4 == 0 ? 3000 : 200); };
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    SOP_ASSERT_OK(env.CreateDir("/p"));
    Options options;
    options.env = &env;
    options.checkpoint_dirty_bytes = 64 << 10;  // one every few commits
    options.checkpoint_log_bytes = 16 << 10;
    std::vector<std::vector<int>> acknowledged(kThreads);
    {
      auto db = Database::Open("/p/db", options);
      SOP_ASSERT_OK(db);
      std::mt19937_64 rng(seed);
      env.CrashAfter(200 + static_cast<int64_t>(rng() % 1500));
      std::vector<std::thread> threads;
      for (int w = 0; w < kThreads; ++w) {
        threads.emplace_back([&, w] {
          for (int i = 0; i < kEach; ++i) {
            absl::Status st = (*db)->Update([&](Transaction& t) -> absl::Status {
              auto s = t.OpenStore("s");
              if (!s.ok()) return s.status();
              // Spread over the tree, so that each commit dirties its own leaves.
              return (*s)->Put(absl::StrFormat("%04d-w%d", (i * 37) % kEach, w), value(w, i));
            });
            if (st.ok()) acknowledged[w].push_back(i);
          }
        });
      }
      for (auto& t : threads) t.join();
      // The database is closed after the cut: its writes fail, and go nowhere.
      SOP_ASSERT_OK(env.SimulatePowerLoss({seed, seed % 2 == 0, seed % 3 == 0 ? 512u : 0u}));
    }
    auto db = Database::Open("/p/db", options);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    SOP_ASSERT_OK(db);
    auto t = (*db)->Begin(TxnMode::kReadOnly);
    auto s = (*t)->OpenStore("s");
    size_t total = 0;
    for (int w = 0; w < kThreads; ++w) {
      total += acknowledged[w].size();
      for (int i : acknowledged[w]) {
        auto v = (*s)->Get(absl::StrFormat("%04d-w%d", (i * 37) % kEach, w));
        ASSERT_TRUE(v.ok()) << "seed " << seed << ": acknowledged commit " << w << "/" << i
                            << " is lost: " << v.status();
        EXPECT_EQ(*v, value(w, i)) << "seed " << seed;
      }
    }
    auto c = (*s)->NewCursor();
    size_t present = 0;
    for (c->SeekToFirst(); c->Valid(); c->Next()) ++present;
    SOP_EXPECT_OK(c->status());
    EXPECT_LE(present, total + kThreads) << "seed " << seed << ": more than the commits in flight";
    EXPECT_GT(total, 0u) << "seed " << seed << ": the cut came before any commit";
    SOP_EXPECT_OK((*db)->Verify());
  }
}

TEST(ReclamationTest, FileStopsGrowingOnceTheLongReaderEnds) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("db"));
  SOP_ASSERT_OK(db);
  auto overwrite = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      auto t = (*db)->Begin(TxnMode::kReadWrite);
      auto s = (*t)->OpenStore("s");
      ASSERT_TRUE(s.ok());
      for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(
            (*s)->Put(absl::StrFormat("key%05d", i), testing::Pattern(r * 7 + i, 100)).ok());
      }
      ASSERT_TRUE((*t)->Commit().ok());
      // A checkpoint per round, whatever the thresholds: each writes new
      // copies of every leaf, whose old copies only a reader can pin.
      SOP_ASSERT_OK((*db)->Checkpoint());
    }
  };
  overwrite(2);
  auto reader = (*db)->Begin(TxnMode::kReadOnly);
  auto rs = (*reader)->OpenStore("s");
  SOP_ASSERT_OK(rs);
  std::string pinned = *(*rs)->Get("key00042");
  overwrite(30);
  SOP_ASSERT_OK((*db)->Checkpoint());
  uint64_t with_reader = std::filesystem::file_size(dir.File("db"));
  EXPECT_EQ(*(*rs)->Get("key00042"), pinned);  // the reader's snapshot is intact
  SOP_ASSERT_OK((*reader)->Commit());          // the long reader ends
  overwrite(30);
  SOP_ASSERT_OK((*db)->Checkpoint());
  // Steady state: sampled after each of 20 more checkpoints, the file's size
  // wanders with where blobs land, but does not trend upwards.
  uint64_t first_max = 0, second_max = 0;
  for (int k = 0; k < 20; ++k) {
    overwrite(3);
    SOP_ASSERT_OK((*db)->Checkpoint());
    uint64_t size = std::filesystem::file_size(dir.File("db"));
    uint64_t& max = k < 10 ? first_max : second_max;
    max = std::max(max, size);
  }
  std::printf("file: %llu KB with the reader; then at most %llu KB, and later at most %llu KB\n",
              static_cast<unsigned long long>(with_reader >> 10),
              static_cast<unsigned long long>(first_max >> 10),
              static_cast<unsigned long long>(second_max >> 10));
  EXPECT_LE(second_max, first_max + first_max / 4);  // steady: space is reused
  EXPECT_LT(second_max, with_reader);                // what the reader pinned came back
  SOP_EXPECT_OK((*db)->Verify());
}

}  // namespace
}  // namespace sop
