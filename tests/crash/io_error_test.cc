// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Every I/O of a workload fails in turn, as SQLite's I/O-error tests do: for
// each kind of operation (read, short read, write, sync) and each N, the Nth
// such operation on the database's files fails, once (a transient error) or
// from then on (a dying disk). The workload opens the database, reads,
// commits, checkpoints, prepares and decides a two-phase transaction, backs
// up, verifies, closes and compacts. Whatever fails must fail cleanly:
// a read that says OK returns the committed data, and once the faults are
// gone the database opens, checks clean and holds exactly what was
// committed (plus, for a commit whose error came after its log write, maybe
// that commit too). A backup that says OK is a whole copy.
//
// SOP_IOERR_STRIDE=k tries every k-th N (default 1); SOP_IOERR_POINT=N runs
// only that one (a replay); SOP_IOERR_LOG=1 prints what the database logs.

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "sop/sop.h"
#include "spdlog/spdlog.h"
#include "test_util.h"

namespace sop {
namespace {

using Op = FaultInjectionEnv::Op;
// Store name -> entries in key order (equal keys in the order added).
using Model = std::map<std::string, std::multimap<std::string, std::string>>;

std::string Key(int i) { return absl::StrFormat("k%05d", i); }
// Values past the store's max_value_in_node live in their own blobs.
std::string Value(int i, int round) {
  std::string v = absl::StrCat("v", i, "-", round);
  if (i % 97 == 0) v.resize(1500, static_cast<char>('a' + round));
  return v;
}

StoreOptions OptionsOf(absl::string_view store) {
  StoreOptions o;
  o.unique = store != "d";
  o.max_value_in_node = 256;
  return o;
}

// Everything the database holds, read through one snapshot.
absl::StatusOr<Model> Contents(Database& db) {
  auto txn = db.Begin(TxnMode::kReadOnly);
  if (!txn.ok()) return txn.status();
  auto names = (*txn)->ListStores();
  if (!names.ok()) return names.status();
  Model out;
  for (const std::string& name : *names) {
    auto store = (*txn)->OpenStore(name, OptionsOf(name));
    if (!store.ok()) return store.status();
    auto& entries = out[name];
    auto c = (*store)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      entries.emplace(std::string(c->key()), std::string(c->value()));
    }
    if (!c->status().ok()) return c->status();
  }
  return out;
}

class IoErrorTest : public ::testing::Test {
 protected:
  Options DbOptions() {
    Options o;
    o.env = env_.get();
    o.cache_bytes = 16 << 10;  // reads go to the files
    o.checkpoint_dirty_bytes = 48 << 10;
    o.checkpoint_log_bytes = 96 << 10;
    o.checkpoint_inline_bytes = 16 << 10;  // larger checkpoints write nodes as they go
    o.background_checkpoints = false;      // the n-th operation is the same one on every run
    if (std::getenv("SOP_IOERR_LOG") != nullptr) o.logger = spdlog::default_logger();
    return o;
  }

  // A fresh database with two stores, checkpointed and closed, no faults.
  void MakeBase() {
    mem_ = NewMemEnv();
    env_ = std::make_unique<FaultInjectionEnv>(mem_.get());
    model_.clear();
    auto db = Database::Open("/db", DbOptions());
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      auto a = t.OpenStore("a", OptionsOf("a"));
      auto d = t.OpenStore("d", OptionsOf("d"));
      if (!a.ok()) return a.status();
      if (!d.ok()) return d.status();
      for (int i = 0; i < 1500; i += 2) {
        if (auto st = (*a)->Put(Key(i), Value(i, 0)); !st.ok()) return st;
      }
      for (int i = 0; i < 300; ++i) {
        if (auto st = (*d)->Add(Key(i % 40), Value(i, 0)); !st.ok()) return st;
      }
      return absl::OkStatus();
    }));
    for (int i = 0; i < 1500; i += 2) model_["a"].emplace(Key(i), Value(i, 0));
    for (int i = 0; i < 300; ++i) model_["d"].emplace(Key(i % 40), Value(i, 0));
  }

  // Commits what `fn` does to a transaction and to the model together. On
  // an error, `maybe_` holds the model the commit would have made.
  absl::Status Commit(Database& db, const std::function<absl::Status(Transaction&, Model&)>& fn) {
    auto txn = db.Begin(TxnMode::kReadWrite);
    if (!txn.ok()) return txn.status();
    Model next = model_;
    if (auto st = fn(**txn, next); !st.ok()) return st;
    maybe_ = next;
    if (auto st = (*txn)->Commit(); !st.ok()) return st;
    model_ = std::move(next);
    maybe_.reset();
    return absl::OkStatus();
  }

  // Reads that must either fail or agree with the model.
  absl::Status ReadAndCompare(Database& db) {
    auto txn = db.Begin(TxnMode::kReadOnly);
    if (!txn.ok()) return txn.status();
    auto a = (*txn)->OpenStore("a", OptionsOf("a"));
    if (!a.ok()) return a.status();
    const auto& want = model_.at("a");
    for (int i = 0; i < 1600; i += 37) {
      auto got = (*a)->Get(Key(i));
      auto it = want.find(Key(i));
      if (it == want.end()) {
        if (!absl::IsNotFound(got.status())) {
          if (got.ok()) ADD_FAILURE() << Key(i) << " is not committed yet reads " << *got;
          if (!got.ok()) return got.status();
        }
      } else if (!got.ok()) {
        return got.status();
      } else {
        EXPECT_EQ(*got, it->second) << Key(i);
      }
    }
    // Backwards, inside bounds.
    CursorOptions bounds;
    bounds.lower_bound = Key(300);
    bounds.upper_bound = Key(900);
    auto c = (*a)->NewCursor(bounds);
    auto expect = want.lower_bound(Key(900));
    for (c->SeekToLast(); c->Valid(); c->Prev()) {
      if (expect == want.lower_bound(Key(300))) {
        ADD_FAILURE() << "cursor went past its lower bound at " << c->key();
        break;
      }
      --expect;
      EXPECT_EQ(c->key(), expect->first);
      absl::string_view value = c->value();
      if (!c->Valid()) break;  // the value could not be read: status() says why
      EXPECT_EQ(value, expect->second);
    }
    if (!c->status().ok()) return c->status();
    EXPECT_TRUE(expect == want.lower_bound(Key(300))) << "the cursor stopped early";
    // A large value, by pieces and whole.
    auto reader = (*a)->NewValueReader(Key(194));
    if (!reader.ok()) return reader.status();
    std::string piece(100, '\0');
    if (auto st = (*reader)->Read(1000, absl::MakeSpan(piece)); !st.ok()) return st;
    EXPECT_EQ(piece, want.find(Key(194))->second.substr(1000, 100));
    auto whole = (*reader)->View();
    if (!whole.ok()) return whole.status();
    EXPECT_EQ(*whole, want.find(Key(194))->second);
    return absl::OkStatus();
  }

  // The workload under test; returns the first error.
  absl::Status Workload(std::unique_ptr<Database>& db) {
    auto opened = Database::Open("/db", DbOptions());
    if (!opened.ok()) return opened.status();
    db = *std::move(opened);
    if (auto st = ReadAndCompare(*db); !st.ok()) return st;
    for (int round = 1; round <= 3; ++round) {
      auto committed = Commit(*db, [&](Transaction& t, Model& m) -> absl::Status {
        auto a = t.OpenStore("a", OptionsOf("a"));
        if (!a.ok()) return a.status();
        for (int i = round; i < 1600; i += 7) {
          if (auto st = (*a)->Put(Key(i), Value(i, round)); !st.ok()) return st;
          m["a"].erase(Key(i));
          m["a"].emplace(Key(i), Value(i, round));
        }
        for (int i = 3 * round; i < 1500; i += 11) {
          auto st = (*a)->Remove(Key(i));
          if (absl::IsNotFound(st)) continue;
          if (!st.ok()) return st;
          m["a"].erase(Key(i));
        }
        auto d = t.OpenStore("d", OptionsOf("d"));
        if (!d.ok()) return d.status();
        for (int i = 0; i < 30; ++i) {
          if (auto st = (*d)->Add(Key(i), Value(i, round)); !st.ok()) return st;
          m["d"].emplace(Key(i), Value(i, round));
        }
        return absl::OkStatus();
      });
      if (!committed.ok()) return committed;
    }
    if (auto st = ReadAndCompare(*db); !st.ok()) return st;
    // A value streamed in pieces, and a store dropped.
    if (auto committed = Commit(*db,
                                [&](Transaction& t, Model& m) -> absl::Status {
                                  auto a = t.OpenStore("a", OptionsOf("a"));
                                  if (!a.ok()) return a.status();
                                  auto w = (*a)->NewValueWriter(Key(2000), 20 * 1000);
                                  if (!w.ok()) return w.status();
                                  std::string v;
                                  for (int i = 0; i < 20; ++i) {
                                    std::string piece(1000, static_cast<char>('A' + i));
                                    if (auto st = (*w)->Append(piece); !st.ok()) return st;
                                    v += piece;
                                  }
                                  if (auto st = (*w)->Finish(); !st.ok()) return st;
                                  m["a"].emplace(Key(2000), v);
                                  if (auto st = t.DropStore("d"); !st.ok()) return st;
                                  m.erase("d");
                                  return absl::OkStatus();
                                });
        !committed.ok()) {
      return committed;
    }
    if (auto st = db->Checkpoint(); !st.ok()) return st;
    // Two-phase commit: prepared, then decided.
    {
      auto txn = db->Begin(TxnMode::kReadWrite);
      if (!txn.ok()) return txn.status();
      auto e = (*txn)->OpenStore("e", OptionsOf("e"));
      if (!e.ok()) return e.status();
      Model next = model_;
      for (int i = 0; i < 50; ++i) {
        if (auto st = (*e)->Put(Key(i), Value(i, 9)); !st.ok()) return st;
        next["e"].emplace(Key(i), Value(i, 9));
      }
      // A failed Prepare may have logged the prepare (then the coordinator
      // aborts it); a failed decision may have logged the commit.
      two_phase_ = TwoPhase::kPreparing;
      if (auto st = (*txn)->Prepare("x1"); !st.ok()) return st;
      two_phase_ = TwoPhase::kDeciding;
      maybe_ = next;
      if (auto st = (*txn)->CommitPrepared(); !st.ok()) return st;
      model_ = std::move(next);
      maybe_.reset();
      two_phase_ = TwoPhase::kNone;
    }
    if (auto st = db->Verify(); !st.ok()) return st;
    if (auto st = db->Backup("/bak"); !st.ok()) return st;
    backup_ = model_;
    if (auto st = ReadAndCompare(*db); !st.ok()) return st;
    db.reset();
    return Database::Compact("/db", DbOptions());
  }

  // One run with the Nth operation of kind `op` failing; returns whether
  // a fault was injected at all (false: N is past the workload's end).
  bool RunWithFault(Op op, int n, bool persistent) {
    MakeBase();
    if (HasFatalFailure()) return false;
    maybe_.reset();
    backup_.reset();
    two_phase_ = TwoPhase::kNone;
    absl::Status error = op == Op::kShortRead ? absl::OkStatus() : absl::UnavailableError("EIO");
    env_->InjectFault(op, error, "", n, persistent ? 1 << 30 : 1);
    std::unique_ptr<Database> db;
    absl::Status failed = Workload(db);
    db.reset();  // closing may fail too: it only checkpoints
    bool injected = env_->faults_injected() > 0;
    env_->ClearFaults();
    if (!injected) SOP_EXPECT_OK(failed);
    auto reopened = Database::Open("/db", DbOptions());
    EXPECT_TRUE(reopened.ok()) << reopened.status() << " after the workload failed with " << failed;
    if (!reopened.ok()) return injected;
    Database& again = **reopened;
    std::vector<std::string> doubt = again.InDoubt();
    if (!doubt.empty()) {
      EXPECT_NE(two_phase_, TwoPhase::kNone) << "in doubt without a prepare";
      EXPECT_EQ(doubt, std::vector<std::string>{"x1"});
      if (two_phase_ == TwoPhase::kPreparing) {
        SOP_EXPECT_OK(again.AbortPrepared("x1"));
      } else {
        SOP_EXPECT_OK(again.CommitPrepared("x1"));
      }
    }
    absl::Status verified = again.Verify();
    EXPECT_TRUE(verified.ok()) << verified << " after the workload failed with " << failed;
    auto got = Contents(again);
    SOP_EXPECT_OK(got);
    if (got.ok() && *got != model_) {
      EXPECT_TRUE(maybe_.has_value() && *got == *maybe_)
          << "the database holds neither the committed state nor the one the failed commit "
             "would have made; the workload failed with "
          << failed;
    }
    if (backup_.has_value()) {
      Options o = DbOptions();
      o.create_if_missing = false;
      auto bak = Database::Open("/bak", o);
      SOP_EXPECT_OK(bak);
      if (bak.ok()) {
        auto copied = Contents(**bak);
        SOP_EXPECT_OK(copied);
        if (copied.ok()) {
          EXPECT_TRUE(*copied == *backup_) << "the backup said OK but differs";
        }
      }
    }
    return injected;
  }

  void RunAll(Op op, bool persistent) {
    const char* stride_env = std::getenv("SOP_IOERR_STRIDE");
    int stride = stride_env != nullptr ? std::max(1, std::atoi(stride_env)) : 1;
    int n = 0;
    if (const char* point = std::getenv("SOP_IOERR_POINT")) {  // replay one
      RunWithFault(op, std::atoi(point), persistent);
      return;
    }
    for (; RunWithFault(op, n, persistent); n += stride) {
      if (HasFailure()) {
        ADD_FAILURE() << "replay: operation " << static_cast<int>(op) << ", N=" << n
                      << (persistent ? ", persistent" : ", transient");
        return;
      }
    }
    ASSERT_FALSE(HasFailure());
    EXPECT_GT(n, 0) << "the workload never did this kind of I/O";
    std::printf("%d points, the workload's last is %d\n", n / stride, n);
  }

  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultInjectionEnv> env_;
  Model model_;
  std::optional<Model> maybe_;
  std::optional<Model> backup_;
  enum class TwoPhase { kNone, kPreparing, kDeciding } two_phase_ = TwoPhase::kNone;
};

TEST_F(IoErrorTest, EveryReadFailingOnce) { RunAll(Op::kRead, false); }
TEST_F(IoErrorTest, EveryReadFailingFromThenOn) { RunAll(Op::kRead, true); }
TEST_F(IoErrorTest, EveryReadCutShort) { RunAll(Op::kShortRead, false); }
TEST_F(IoErrorTest, EveryWriteFailingOnce) { RunAll(Op::kWrite, false); }
TEST_F(IoErrorTest, EveryWriteFailingFromThenOn) { RunAll(Op::kWrite, true); }
TEST_F(IoErrorTest, EverySyncFailingOnce) { RunAll(Op::kSync, false); }
TEST_F(IoErrorTest, EverySyncFailingFromThenOn) { RunAll(Op::kSync, true); }

}  // namespace
}  // namespace sop
