// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Power cuts through the whole database: seeded workloads of transactions
// over three stores (small and out-of-node values, removes, rollbacks, and
// two-phase commits and aborts) with frequent checkpoints and log rewrites, cut at
// every file-system mutation, each cut in one of four ways (drop everything
// unsynced, keep a random prefix, keep one torn at 512 B, or at 4 KiB).
// After each cut the database must open; in-doubt transactions are decided
// (an even "x" one is committed, the rest aborted); then the contents must be
// exactly those after the acknowledged transactions, plus the one in flight
// either wholly or not at all; and Verify must pass.
//
// SOP_POWER_POINTS: crash points to explore (20,000; the long mode is
// 100,000 or more), over as many seeded workloads as it takes.
// A failure names its seed and point; SOP_POWER_SEED=s SOP_POWER_POINT=p
// replays exactly that one.

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

using Model = std::map<std::string, std::map<std::string, std::string>>;

struct Write {
  std::string store, key;
  bool remove = false;
  std::string value;
};
struct Txn {
  std::vector<Write> writes;
  // kTwoPhaseAbort: prepared, and rolled back (an abort in the log) only
  // after the next transaction; it writes store "z", which nothing else
  // touches, so that it holds no key the next one needs.
  enum { kCommit, kRollback, kTwoPhase, kTwoPhaseAbort } end = kCommit;
  bool checkpoint_after = false;  // an explicit checkpoint once it ends
};

// A workload: 40 transactions made from the seed. Every committed one
// also sets "meta"/"count" to how many have committed, so a recovered
// database says how many it holds.
std::vector<Txn> MakeWorkload(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Txn> txns(40);
  for (Txn& t : txns) {
    uint64_t r = rng() % 10;
    t.end = r == 0   ? Txn::kRollback
            : r <= 2 ? Txn::kTwoPhase
            : r == 3 ? Txn::kTwoPhaseAbort
                     : Txn::kCommit;
    t.checkpoint_after = rng() % 6 == 0;
    int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      Write w;
      w.store = std::string(1, static_cast<char>('a' + rng() % 3));
      w.key = absl::StrFormat("k%03d", static_cast<int>(rng() % 200));
      w.remove = rng() % 6 == 0;
      if (!w.remove) {
        w.value = rng() % 12 == 0 ? testing::Pattern(rng(), 2000 + rng() % 4000)
                                  : absl::StrCat("v", rng() % 100000);
      }
      if (t.end == Txn::kTwoPhaseAbort) w.store = "z";
      t.writes.push_back(std::move(w));
    }
  }
  return txns;
}

// A workload of a few large transactions: each changes more leaves than a
// checkpoint may carry in its log record, so the checkpoint after it
// writes its nodes to the data file as it encodes them.
std::vector<Txn> MakeLargeWorkload(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Txn> txns(5);
  for (Txn& t : txns) {
    t.end = rng() % 3 == 0 ? Txn::kTwoPhase : Txn::kCommit;
    for (int i = 0; i < 1500; ++i) {
      Write w;
      w.store = rng() % 4 == 0 ? "b" : "a";
      w.key = absl::StrFormat("k%05d", static_cast<int>(rng() % 20000));
      w.remove = rng() % 10 == 0;
      if (!w.remove) w.value = testing::Pattern(rng(), 100);
      t.writes.push_back(std::move(w));
    }
  }
  return txns;
}

// Applies committed transactions to `model`; returns the model after each
// commit (index k: after k commits).
std::vector<Model> Expected(const std::vector<Txn>& txns) {
  std::vector<Model> after(1);
  Model m;
  for (const Txn& t : txns) {
    if (t.end == Txn::kRollback || t.end == Txn::kTwoPhaseAbort) continue;
    for (const Write& w : t.writes) {
      if (w.remove) {
        if (auto it = m.find(w.store); it != m.end()) {
          it->second.erase(w.key);
          if (it->second.empty()) m.erase(it);  // as ReadAll reports it
        }
      } else {
        m[w.store][w.key] = w.value;
      }
    }
    m["meta"]["count"] = absl::StrCat(after.size());
    after.push_back(m);
  }
  return after;
}

// Checkpoints run in the committing thread unless `background`: a cut at
// the n-th file mutation then cuts the same operation on every run, so that
// every point can be visited and a failing one replayed.
Options DbOptions(Env* env, bool background = false) {
  Options o;
  o.env = env;
  o.checkpoint_dirty_bytes = 48 << 10;  // checkpoints and log rewrites come often
  o.checkpoint_log_bytes = 32 << 10;
  if (background) {
    o.background_checkpoints = true;
    o.checkpoint_dirty_bytes = 8 << 10;
    o.checkpoint_log_bytes = 8 << 10;
  } else {
    o.background_checkpoints = false;
  }
  return o;
}

// Runs the workload until the first failure (the power is cut). Returns how
// many transactions were acknowledged as committed.
int RunWorkload(Env& env, const std::vector<Txn>& txns, FaultInjectionEnv* cut_env,
                int64_t crash_at, bool background = false) {
  auto db = Database::Open("/p/db", DbOptions(&env, background));
  if (!db.ok()) return 0;
  if (crash_at >= 0) cut_env->CrashAfter(crash_at);
  int acked = 0, i = 0;
  std::unique_ptr<Transaction> held;  // prepared, aborted after the next transaction
  auto abort_held = [&] {
    bool ok = held == nullptr || held->Rollback().ok();
    held.reset();
    return ok;
  };
  for (const Txn& t : txns) {
    ++i;
    auto txn = (*db)->Begin(TxnMode::kReadWrite);
    if (!txn.ok()) return acked;
    for (const Write& w : t.writes) {
      auto s = (*txn)->OpenStore(w.store);
      if (!s.ok()) return acked;
      absl::Status st = w.remove ? (*s)->Remove(w.key) : (*s)->Put(w.key, w.value);
      if (!st.ok() && !absl::IsNotFound(st)) return acked;
    }
    if (t.end == Txn::kTwoPhaseAbort) {
      // Named "a<n>": recovery aborts it if it is in doubt.
      if (!abort_held() || !(*txn)->Prepare(absl::StrCat("a", i)).ok()) return acked;
      held = std::move(*txn);
      continue;
    }
    if (t.end == Txn::kRollback) {
      if (!(*txn)->Rollback().ok()) return acked;
    } else {
      auto meta = (*txn)->OpenStore("meta");
      if (!meta.ok() || !(*meta)->Put("count", absl::StrCat(acked + 1)).ok()) return acked;
      if (t.end == Txn::kTwoPhase) {
        if (!(*txn)->Prepare(absl::StrCat("x", acked + 1)).ok()) return acked;
        if (!(*txn)->CommitPrepared().ok()) return acked;
      } else if (!(*txn)->Commit().ok()) {
        return acked;
      }
      ++acked;
    }
    if (!abort_held()) return acked;
    if (t.checkpoint_after && !(*db)->Checkpoint().ok()) return acked;
  }
  abort_held();
  return acked;
}

Model ReadAll(Database& db, std::string* error) {
  Model m;
  auto t = db.Begin(TxnMode::kReadOnly);
  if (!t.ok()) {
    *error = t.status().ToString();
    return m;
  }
  auto names = (*t)->ListStores();
  if (!names.ok()) {
    *error = names.status().ToString();
    return m;
  }
  for (const std::string& name : *names) {
    auto s = (*t)->OpenStore(name);
    if (!s.ok()) {
      *error = s.status().ToString();
      return m;
    }
    auto c = (*s)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      std::string key(c->key()), value(c->value());
      if (!c->status().ok()) break;
      m[name][key] = value;
    }
    if (!c->status().ok()) *error = c->status().ToString();
    if (m[name].empty()) m.erase(name);
  }
  return m;
}

int64_t EnvInt(const char* name, int64_t fallback) {
  int64_t v;
  const char* s = std::getenv(name);
  return s != nullptr && absl::SimpleAtoi(s, &v) ? v : fallback;
}

// One crash run; returns false (after reporting) on any broken promise.
bool CrashOnce(uint64_t seed, int64_t point, const std::vector<Txn>& txns,
               const std::vector<Model>& after, bool background = false) {
  const std::string where =
      background
          ? absl::StrCat("seed ", seed, " point ", point, ", checkpoints in the background: ")
          : absl::StrCat("seed ", seed, " point ", point, " (replay: SOP_POWER_SEED=", seed,
                         " SOP_POWER_POINT=", point, "): ");
  auto mem = NewMemEnv();
  FaultInjectionEnv env(mem.get());
  EXPECT_TRUE(env.CreateDir("/p").ok());
  int acked = RunWorkload(env, txns, &env, point, background);
  const uint32_t tears[] = {0, 0, 512, 4096};
  EXPECT_TRUE(env.SimulatePowerLoss({.seed = seed * 1000003 + static_cast<uint64_t>(point),
                                     .keep_some = point % 4 != 0,
                                     .tear_bytes = tears[point % 4]})
                  .ok());
  auto db = Database::Open("/p/db", DbOptions(&env));
  if (!db.ok()) {
    ADD_FAILURE() << where << "does not open: " << db.status();
    return false;
  }
  for (const std::string& xid : (*db)->InDoubt()) {
    int n = 0;
    if (!absl::SimpleAtoi(xid.substr(1), &n)) {
      ADD_FAILURE() << where << "unknown xid " << xid;
      return false;
    }
    const bool commit = xid[0] == 'x' && n % 2 == 0;
    absl::Status st = commit ? (*db)->CommitPrepared(xid) : (*db)->AbortPrepared(xid);
    if (!st.ok()) {
      ADD_FAILURE() << where << "deciding " << xid << ": " << st;
      return false;
    }
  }
  std::string error;
  Model got = ReadAll(**db, &error);
  if (!error.empty()) {
    ADD_FAILURE() << where << "reading: " << error;
    return false;
  }
  // Exactly the acknowledged commits, and the one in flight wholly or not.
  bool ok = got == after[acked] ||
            (static_cast<size_t>(acked) + 1 < after.size() && got == after[acked + 1]);
  if (!ok) {
    std::string count = got.count("meta") ? got["meta"]["count"] : "none";
    ADD_FAILURE() << where << acked << " commits acknowledged, but the database holds neither "
                  << "their state nor that plus the next (its count says " << count << ")";
    return false;
  }
  if (absl::Status st = (*db)->Verify(); !st.ok()) {
    ADD_FAILURE() << where << "Verify: " << st;
    return false;
  }
  return true;
}

// The file-system mutations of the workload run without a cut, which must
// acknowledge all `commits`; -1 (after reporting) if it does not.
int64_t MutationsOfAWholeRun(uint64_t seed, const std::vector<Txn>& txns, size_t commits,
                             bool background = false) {
  auto mem = NewMemEnv();
  FaultInjectionEnv env(mem.get());
  EXPECT_TRUE(env.CreateDir("/p").ok());
  const int acked = RunWorkload(env, txns, &env, -1, background);
  if (static_cast<size_t>(acked) != commits) {
    ADD_FAILURE() << "seed " << seed << ": " << acked << " of " << commits
                  << " commits acknowledged without a cut";
    return -1;
  }
  return env.mutation_count();
}

TEST(DatabasePowerLossTest, EveryAcknowledgedCommitSurvivesACutAtEveryPoint) {
  const int64_t want = EnvInt("SOP_POWER_POINTS", 20000);
  const int64_t only_seed = EnvInt("SOP_POWER_SEED", -1);
  const int64_t only_point = EnvInt("SOP_POWER_POINT", -1);
  int64_t explored = 0;
  int workloads = 0;
  for (uint64_t seed = only_seed >= 0 ? only_seed : 1; explored < want; ++seed) {
    const std::vector<Txn> txns = MakeWorkload(seed);
    const std::vector<Model> after = Expected(txns);
    const int64_t total = MutationsOfAWholeRun(seed, txns, after.size() - 1);
    ASSERT_GE(total, 0);
    ++workloads;
    for (int64_t point = only_point >= 0 ? only_point : 0; point < total && explored < want;
         ++point) {
      ++explored;
      if (!CrashOnce(seed, point, txns, after)) return;
      if (only_point >= 0) break;
    }
    if (only_seed >= 0) break;
  }
  std::printf("%lld crash points over %d seeded workloads, each cut one of four ways\n",
              static_cast<long long>(explored), workloads);
}

// The same promise with checkpoints on their own thread, where the file
// operations of commits and checkpoints interleave differently from run to
// run: cuts at points spread over each workload's operations.
TEST(DatabasePowerLossTest, EveryAcknowledgedCommitSurvivesACutWithCheckpointsInTheBackground) {
  const int64_t want = EnvInt("SOP_POWER_POINTS", 20000) / 20;
  int64_t explored = 0;
  for (uint64_t seed = 1; explored < want; ++seed) {
    const std::vector<Txn> txns = MakeWorkload(seed);
    const std::vector<Model> after = Expected(txns);
    const int64_t total = MutationsOfAWholeRun(seed, txns, after.size() - 1, true);
    ASSERT_GE(total, 0);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 100 && explored < want; ++i, ++explored) {
      if (!CrashOnce(seed, static_cast<int64_t>(rng() % total), txns, after, true)) return;
    }
  }
  std::printf("%lld crash points with checkpoints in the background\n",
              static_cast<long long>(explored));
}

// Checkpoints larger than one log record: their node blobs go to the
// data file as they are encoded, before the batch that stores them.
TEST(DatabasePowerLossTest, EveryAcknowledgedCommitSurvivesACutInACheckpointWrittenAsItGoes) {
  const int64_t want = EnvInt("SOP_POWER_POINTS", 20000) / 40;
  const int64_t only_seed = EnvInt("SOP_POWER_SEED", -1);
  const int64_t only_point = EnvInt("SOP_POWER_POINT", -1);
  int64_t explored = 0;
  for (uint64_t seed = only_seed >= 0 ? only_seed : 1; explored < want; ++seed) {
    const std::vector<Txn> txns = MakeLargeWorkload(seed);
    const std::vector<Model> after = Expected(txns);
    const int64_t total = MutationsOfAWholeRun(seed, txns, after.size() - 1);
    ASSERT_GE(total, 0);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 100 && explored < want; ++i, ++explored) {
      const int64_t point = only_point >= 0 ? only_point : static_cast<int64_t>(rng() % total);
      if (!CrashOnce(seed, point, txns, after)) return;
      if (only_point >= 0) break;
    }
    if (only_seed >= 0) break;
  }
  std::printf("%lld crash points in large checkpoints\n", static_cast<long long>(explored));
}

uint64_t FileSize(Env& env, const std::string& path) {
  auto f = env.OpenFile(path, OpenMode::kExisting);
  if (!f.ok()) return 0;
  auto size = (*f)->Size();
  return size.ok() ? *size : 0;
}

// A large value is synced before the commit (or prepare) record that names
// it, and stored only by the next checkpoint. Cut the power at every
// mutation of such a commit: after recovery (an in-doubt transaction is
// aborted) the value is there wholly, or its pages are free again, so that
// after more commits and a close the file is no bigger than without the
// value: another value of its size, written afterwards, takes its place.
// (Stored before its record, as values once were, a value cut off from it
// stayed taken, by nothing, until a compaction.)
void CutAtEveryPointOfALargeValuesCommit(bool two_phase) {
  const std::string big = testing::Pattern(5, 1 << 20);
  auto put = [&](Env& env, const std::string& key, const std::string& value,
                 FaultInjectionEnv* cut_env, int64_t point) {
    auto db = Database::Open("/p/db", DbOptions(&env));
    if (!db.ok()) return db.status();
    for (const std::string& xid : (*db)->InDoubt()) {
      if (auto st = (*db)->AbortPrepared(xid); !st.ok()) return st;
    }
    if (cut_env != nullptr) cut_env->CrashAfter(point);
    auto t = (*db)->Begin(TxnMode::kReadWrite);
    if (!t.ok()) return t.status();
    auto s = (*t)->OpenStore("s");
    if (!s.ok()) return s.status();
    if (auto st = (*s)->Put(key, value); !st.ok()) return st;
    if (!two_phase) return (*t)->Commit();
    if (auto st = (*t)->Prepare("x"); !st.ok()) return st;
    return (*t)->CommitPrepared();
  };
  uint64_t without_the_value;  // the file after the same commits but the value's
  {
    auto mem = NewMemEnv();
    SOP_ASSERT_OK(mem->CreateDir("/p"));
    SOP_ASSERT_OK(put(*mem, "small", "v", nullptr, 0));
    SOP_ASSERT_OK(put(*mem, "after", "v", nullptr, 0));
    SOP_ASSERT_OK(put(*mem, "another", big, nullptr, 0));
    without_the_value = FileSize(*mem, "/p/db");
  }
  int cut_before_the_record = 0;
  for (int64_t point = 0;; ++point) {
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    SOP_ASSERT_OK(env.CreateDir("/p"));
    SOP_ASSERT_OK(put(env, "small", "v", nullptr, 0));
    if (put(env, "big", big, &env, point).ok()) break;  // every point of the commit explored
    SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = static_cast<uint64_t>(point)}));
    SOP_ASSERT_OK(put(env, "after", "v", nullptr, 0));
    SOP_ASSERT_OK(put(env, "another", big, nullptr, 0));
    auto db = Database::Open("/p/db", DbOptions(&env));
    ASSERT_TRUE(db.ok()) << "point " << point << ": " << db.status();
    absl::Status verified = (*db)->Verify();
    ASSERT_TRUE(verified.ok()) << "point " << point << ": " << verified;
    auto t = (*db)->Begin(TxnMode::kReadOnly);
    auto got = (*(*t)->OpenStore("s"))->Get("big");
    SOP_ASSERT_OK((*t)->Commit());
    db->reset();
    if (got.ok()) {
      EXPECT_TRUE(*got == big) << "point " << point << ": the value came back damaged";
      continue;
    }
    ASSERT_TRUE(absl::IsNotFound(got.status())) << "point " << point << ": " << got.status();
    ++cut_before_the_record;
    EXPECT_LE(FileSize(env, "/p/db"), without_the_value + (64 << 10))
        << "point " << point << ": a value no record names still takes room";
  }
  EXPECT_GT(cut_before_the_record, 0);
}

TEST(DatabasePowerLossTest, AValueCutOffFromItsCommitRecordLeavesItsSpaceFree) {
  CutAtEveryPointOfALargeValuesCommit(/*two_phase=*/false);
}

TEST(DatabasePowerLossTest, AValueCutOffFromItsPrepareRecordLeavesItsSpaceFree) {
  CutAtEveryPointOfALargeValuesCommit(/*two_phase=*/true);
}

// A commit refused for a conflict synced its large value first; the
// rollback gives the value's pages back at once, so a power cut right after
// (before any checkpoint) leaves none of them taken.
TEST(DatabasePowerLossTest, ARefusedCommitsValueIsFreeAfterACut) {
  const std::string big = testing::Pattern(6, 1 << 20);
  auto mem = NewMemEnv();
  FaultInjectionEnv env(mem.get());
  SOP_ASSERT_OK(env.CreateDir("/p"));
  uint64_t with_one_value = 0;
  for (int round = 0; round < 10; ++round) {
    {
      auto db = Database::Open("/p/db", DbOptions(&env));
      SOP_ASSERT_OK(db);
      auto a = (*db)->Begin(TxnMode::kReadWrite);
      auto b = (*db)->Begin(TxnMode::kReadWrite);
      SOP_ASSERT_OK((*(*a)->OpenStore("s"))->Put("k", big));
      SOP_ASSERT_OK((*(*b)->OpenStore("s"))->Put("k", big));
      SOP_ASSERT_OK((*a)->Commit());
      absl::Status lost = (*b)->Commit();
      ASSERT_TRUE(absl::IsAborted(lost)) << lost;
      env.CrashAfter(0);  // the process dies before it writes anything more
    }
    SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = static_cast<uint64_t>(round)}));
    {
      auto db = Database::Open("/p/db", DbOptions(&env));
      SOP_ASSERT_OK(db);
      SOP_ASSERT_OK((*db)->Verify());
    }  // closed: a checkpoint frees the value the winner replaced
    if (round == 0) with_one_value = FileSize(env, "/p/db");
  }
  // The live value, the one the last winner replaced (freed, perhaps not
  // yet reused) and slack: not ten lost ones.
  EXPECT_LE(FileSize(env, "/p/db"), with_one_value + (2u << 20));
}

// A checkpoint keeps the old copies of the nodes a live snapshot still
// reads. A power cut ends that snapshot, so the next open frees them rather
// than leaving them taken by nothing: round after round of overwrites with
// a reader alive at the cut, the file stops growing.
TEST(DatabasePowerLossTest, CopiesKeptForAReaderAreFreedAfterACut) {
  auto mem = NewMemEnv();
  FaultInjectionEnv env(mem.get());
  SOP_ASSERT_OK(env.CreateDir("/p"));
  auto fill = [](Database& db, int round) {
    auto t = db.Begin(TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    for (int k = 0; k < 2000; ++k) {
      EXPECT_TRUE(
          (*s)->Put(absl::StrFormat("k%05d", k), absl::StrCat(round, std::string(200, 'v'))).ok());
    }
    EXPECT_TRUE((*t)->Commit().ok());
    EXPECT_TRUE(db.Checkpoint().ok());
  };
  std::vector<uint64_t> sizes;
  for (int round = 0; round < 12; ++round) {
    {
      auto db = Database::Open("/p/db", DbOptions(&env));
      SOP_ASSERT_OK(db);
      SOP_ASSERT_OK((*db)->Verify());
      fill(**db, 2 * round);
      auto reader = (*db)->Begin(TxnMode::kReadOnly);
      fill(**db, 2 * round + 1);  // the old copies wait for the reader
      env.CrashAfter(0);
    }
    SOP_ASSERT_OK(env.SimulatePowerLoss({.keep_some = false}));
    sizes.push_back(FileSize(env, "/p/db"));
  }
  // A tree is ~0.5 MB: each lost round would add one. The layout alternates
  // from round to round, so compare the largest of the first and last four.
  const uint64_t early = *std::max_element(sizes.begin(), sizes.begin() + 4);
  const uint64_t late = *std::max_element(sizes.end() - 4, sizes.end());
  EXPECT_LE(late, early + (256 << 10)) << "sizes: " << absl::StrJoin(sizes, " ");
}

}  // namespace
}  // namespace sop
