// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Model-based test: 200,000+ seeded random operations on a unique store and a
// duplicate-key store, checked step by step against std::map and
// std::multimap. Transactions commit or roll back at random; every few
// thousand operations the database is closed and reopened, or the power is
// cut (then the model falls back to the last commit), and the structural
// checker (Database::Verify) runs. SOP_MODEL_OPS overrides the count;
// SOP_MODEL_SEED the seed.

#include <cstdlib>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"
#include "txn/transaction_impl.h"

namespace sop {
namespace {

using Unique = std::map<std::string, std::string>;
using Dups = std::multimap<std::string, std::string>;

class ModelTest : public ::testing::Test {
 protected:
  ModelTest() : mem_(NewMemEnv()), env_(mem_.get()) {
    EXPECT_TRUE(env_.CreateDir("/m").ok());
    options_.env = &env_;
    options_.cache_bytes = 256 << 10;  // small: nodes are evicted and re-read
    options_.checkpoint_log_bytes = 512 << 10;
  }

  void Open() {
    txn_.reset();
    db_.reset();
    auto db = Database::Open("/m/db", options_);
    ASSERT_TRUE(db.ok()) << where_ << db.status();
    db_ = std::move(*db);
  }

  void BeginTxn() {
    auto t = db_->Begin(TxnMode::kReadWrite);
    ASSERT_TRUE(t.ok()) << t.status();
    txn_ = std::move(*t);
    auto u = txn_->OpenStore("unique");
    auto d = txn_->OpenStore("dups", {.unique = false, .max_value_in_node = 300});
    ASSERT_TRUE(u.ok() && d.ok()) << u.status() << d.status();
    unique_ = *u;
    dups_ = *d;
  }

  std::string Key() {
    uint64_t r = rng_() % 100;
    uint64_t k = rng_() % 3000;
    if (r < 2 && huge_keys_) {
      return std::string(500 + rng_() % 3000, static_cast<char>('a' + k % 26));
    }
    return absl::StrCat("key", k, std::string(rng_() % 20, 'p'));
  }
  std::string Value() {
    uint64_t r = rng_() % 100;
    size_t n = r < 3 ? 1025 + rng_() % 3000 : rng_() % 120;  // some live outside the node
    return testing::Pattern(rng_(), n);
  }

  void CheckCursor(RawStore* store, bool dup_store) {
    auto c = store->NewCursor();
    std::string k = Key();
    // Seek and a few steps, forwards or backwards, against the model.
    if (dup_store) {
      CheckCursorAgainst(*c, dups_model_, k);
    } else {
      CheckCursorAgainst(*c, unique_model_, k);
    }
  }

  template <typename Model>
  void CheckCursorAgainst(Cursor& cursor, const Model& model, const std::string& k) {
    Cursor* c = &cursor;
    auto it = model.lower_bound(k);
    c->Seek(k);
    bool forward = rng_() % 2 == 0;
    for (int step = 0; step < 12; ++step) {
      bool model_valid = it != model.end();
      ASSERT_EQ(c->Valid(), model_valid) << where_ << "step " << step;
      if (!model_valid) break;
      ASSERT_EQ(c->key(), it->first) << where_;
      ASSERT_EQ(c->value(), it->second) << where_;
      if (forward) {
        c->Next();
        ++it;
      } else {
        c->Prev();
        if (it == model.begin()) {
          it = model.end();
        } else {
          --it;
        }
      }
    }
    ASSERT_TRUE(c->status().ok()) << c->status();
  }

  void Step() {
    bool dup_store = rng_() % 3 == 0;
    RawStore* store = dup_store ? dups_ : unique_;
    std::string k = Key();
    uint64_t op = rng_() % 100;
    if (op < 30) {  // put
      std::string v = Value();
      ASSERT_TRUE(store->Put(k, v).ok()) << where_;
      if (dup_store) {
        dups_model_.emplace(k, v);
      } else {
        unique_model_[k] = v;
      }
    } else if (op < 45) {  // add
      std::string v = Value();
      absl::Status st = store->Add(k, v);
      if (!dup_store && unique_model_.count(k) > 0) {
        ASSERT_TRUE(absl::IsAlreadyExists(st)) << where_ << st;
      } else {
        ASSERT_TRUE(st.ok()) << where_ << st;
        if (dup_store) {
          dups_model_.emplace(k, v);
        } else {
          unique_model_[k] = v;
        }
      }
    } else if (op < 55) {  // update
      std::string v = Value();
      absl::Status st = store->Update(k, v);
      bool present = dup_store ? dups_model_.count(k) > 0 : unique_model_.count(k) > 0;
      ASSERT_EQ(st.ok(), present) << where_ << st;
      if (present) {
        if (dup_store) {
          dups_model_.lower_bound(k)->second = v;
        } else {
          unique_model_[k] = v;
        }
      }
    } else if (op < 75) {  // remove
      absl::Status st = store->Remove(k);
      bool present = dup_store ? dups_model_.count(k) > 0 : unique_model_.count(k) > 0;
      ASSERT_EQ(st.ok(), present) << where_ << st;
      if (dup_store) {
        dups_model_.erase(k);
      } else {
        unique_model_.erase(k);
      }
    } else if (op < 92) {  // get
      auto got = store->Get(k);
      if (dup_store) {
        auto it = dups_model_.find(k);
        ASSERT_EQ(got.ok(), it != dups_model_.end()) << where_;
        if (got.ok()) {
          ASSERT_EQ(*got, dups_model_.lower_bound(k)->second) << where_;
        }
      } else {
        auto it = unique_model_.find(k);
        ASSERT_EQ(got.ok(), it != unique_model_.end()) << where_;
        if (got.ok()) {
          ASSERT_EQ(*got, it->second) << where_;
        }
      }
    } else {
      CheckCursor(store, dup_store);
    }
  }

  void CheckAll() {
    for (bool dup_store : {false, true}) {
      RawStore* store = dup_store ? dups_ : unique_;
      auto c = store->NewCursor();
      std::vector<std::pair<std::string, std::string>> got;
      for (c->SeekToFirst(); c->Valid(); c->Next()) got.emplace_back(c->key(), c->value());
      ASSERT_TRUE(c->status().ok()) << c->status();
      std::vector<std::pair<std::string, std::string>> want;
      if (dup_store) {
        want.assign(dups_model_.begin(), dups_model_.end());
      } else {
        want.assign(unique_model_.begin(), unique_model_.end());
      }
      ASSERT_EQ(got.size(), want.size()) << where_ << (dup_store ? "dups" : "unique");
      ASSERT_TRUE(got == want) << where_ << (dup_store ? "dups" : "unique") << " differs";
      // And backwards.
      size_t n = 0;
      for (c->SeekToLast(); c->Valid(); c->Prev()) {
        ASSERT_EQ(c->key(), want[want.size() - 1 - n].first) << where_;
        ++n;
      }
      ASSERT_EQ(n, want.size());
    }
  }

  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  Options options_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Transaction> txn_;
  RawStore* unique_ = nullptr;
  RawStore* dups_ = nullptr;
  std::mt19937_64 rng_;
  Unique unique_model_, unique_committed_;
  Dups dups_model_, dups_committed_;
  std::string where_;
  bool huge_keys_ = true;

  void Run(uint64_t default_seed);
};

void ModelTest::Run(uint64_t default_seed) {
  const char* ops_env = std::getenv("SOP_MODEL_OPS");
  const char* seed_env = std::getenv("SOP_MODEL_SEED");
  const int64_t total = ops_env ? std::atoll(ops_env) : 200000;
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : default_seed;
  rng_.seed(seed);
  Open();
  BeginTxn();
  int reopens = 0, crashes = 0, commits = 0, rollbacks = 0;
  for (int64_t i = 1; i <= total; ++i) {
    where_ = absl::StrCat("seed ", seed, " op ", i, ": ");
    std::string before = where_;
    Step();
    if (HasFatalFailure()) return;
    if (std::getenv("SOP_MODEL_VERIFY_EACH_OP") != nullptr) {
      auto st = static_cast<TransactionImpl*>(txn_.get())->VerifyAll(nullptr);
      ASSERT_TRUE(st.ok()) << where_ << st;
    }
    if (rng_() % 150 == 0) {  // end the transaction
      if (rng_() % 8 == 0) {
        SOP_ASSERT_OK(txn_->Rollback());
        unique_model_ = unique_committed_;
        dups_model_ = dups_committed_;
        ++rollbacks;
      } else {
        SOP_ASSERT_OK(txn_->Commit());
        unique_committed_ = unique_model_;
        dups_committed_ = dups_model_;
        ++commits;
        if (std::getenv("SOP_MODEL_VERIFY_EACH_COMMIT") != nullptr) {
          ASSERT_TRUE(db_->Verify().ok()) << where_ << db_->Verify();
        }
      }
      BeginTxn();
    }
    if (i % 5000 == 0) {
      SOP_ASSERT_OK(txn_->Commit());
      unique_committed_ = unique_model_;
      dups_committed_ = dups_model_;
      if ((i / 5000) % 3 == 0) {
        // Power cut: the open transaction and all unsynced bytes are lost.
        SOP_ASSERT_OK(txn_->Rollback());
        txn_.reset();
        env_.CrashAfter(0);
        db_.reset();
        SOP_ASSERT_OK(env_.SimulatePowerLoss(
            {.seed = static_cast<uint64_t>(i), .keep_some = true, .tear_bytes = 512}));
        ++crashes;
      } else {
        ++reopens;
      }
      Open();
      if (HasFatalFailure()) return;
      SOP_ASSERT_OK(db_->Verify());
      BeginTxn();
      CheckAll();
      if (HasFatalFailure()) return;
    }
  }
  SOP_ASSERT_OK(txn_->Commit());
  SOP_ASSERT_OK(db_->Verify());
  std::printf("%lld ops: %d commits, %d rollbacks, %d reopens, %d power cuts; %zu + %zu keys\n",
              static_cast<long long>(total), commits, rollbacks, reopens, crashes,
              unique_model_.size(), dups_model_.size());
}

// Keys up to 3.5 KiB next to 4 KiB nodes: splits and merges at their limits.
TEST_F(ModelTest, RandomOperationsWithHugeKeysMatchStdMap) {
  huge_keys_ = true;
  Run(20261126);
}

// Small keys: here every node below the root must also stay a quarter full.
TEST_F(ModelTest, RandomOperationsWithSmallKeysMatchStdMapAndKeepNodesFilled) {
  huge_keys_ = false;
  Run(1126);
}

}  // namespace
}  // namespace sop
