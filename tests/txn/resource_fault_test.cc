// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Resource faults seen through the database: a full disk, EIO on read, a
// failed fdatasync, a cache budget far below the data. Each gives the
// documented error and loses nothing committed.

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "sop/sop.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"
#include "test_util.h"

namespace sop {
namespace {

std::string Key(int i) { return absl::StrFormat("key%06d", i); }

class ResourceFaultTest : public ::testing::Test {
 protected:
  ResourceFaultTest() : mem_(NewMemEnv()), env_(mem_.get()) {}

  absl::StatusOr<std::unique_ptr<Database>> Open(uint64_t cache_bytes = 64 << 20) {
    Options o;
    o.env = &env_;
    o.cache_bytes = cache_bytes;
    return Database::Open("/db", o);
  }
  // Commits keys [from, to) with `value` in one transaction.
  static absl::Status Put(Database& db, int from, int to, const std::string& value) {
    return db.Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      for (int i = from; i < to; ++i) {
        if (auto st = (*s)->Put(Key(i), value); !st.ok()) return st;
      }
      return absl::OkStatus();
    });
  }
  // Every key of the store; fails the test on a read error.
  static std::map<std::string, std::string> All(Database& db) {
    std::map<std::string, std::string> out;
    auto t = db.Begin(TxnMode::kReadOnly);
    EXPECT_TRUE(t.ok());
    auto s = (*t)->OpenStore("s");
    if (!s.ok()) return out;
    auto c = (*s)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next())
      out[std::string(c->key())] = std::string(c->value());
    EXPECT_TRUE(c->status().ok()) << c->status();
    return out;
  }

  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
};

TEST_F(ResourceFaultTest, AFullDiskFailsCommitsCleanlyAndLosesNothing) {
  auto db = Open();
  SOP_ASSERT_OK(db);
  SOP_ASSERT_OK(Put(**db, 0, 1000, "before"));
  env_.SetFreeSpace(16 << 10);
  absl::Status full;
  for (int round = 0; round < 50 && full.ok(); ++round) {
    full = Put(**db, 1000 + round * 100, 1100 + round * 100, std::string(500, 'f'));
  }
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  auto during = All(**db);  // reads go on
  EXPECT_EQ(during.at(Key(5)), "before");
  env_.SetFreeSpace(std::nullopt);
  // Once space is back, commits go on, without a reopen.
  SOP_ASSERT_OK(Put(**db, 9000, 9010, "after"));
  auto committed = All(**db);
  db->reset();
  db = Open();
  SOP_ASSERT_OK(db);
  EXPECT_EQ(All(**db), committed);
  EXPECT_EQ(committed.at(Key(9005)), "after");
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(committed.at(Key(i)), "before") << i;
  SOP_EXPECT_OK((*db)->Verify());
}

// Checkpoints due every few commits fail on the full disk, on the
// checkpoint thread or (once commits outrun them) in a committing thread:
// the commits they follow stay acknowledged, and once space is back the
// next checkpoint writes everything.
TEST_F(ResourceFaultTest, CheckpointsFailingOnAFullDiskLoseNothing) {
  for (bool background : {true, false}) {
    SCOPED_TRACE(background ? "checkpoints in the background" : "checkpoints in the commit");
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    Options o;
    o.env = &env;
    o.checkpoint_dirty_bytes = 64 << 10;
    o.background_checkpoints = background;
    auto log = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    o.logger = std::make_shared<spdlog::logger>("test", log);
    auto db = Database::Open("/db", o);
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK(Put(**db, 0, 2000, "before"));
    SOP_ASSERT_OK((*db)->Checkpoint());
    const uint64_t checkpoints = (*db)->Stats().checkpoints;
    env.SetFreeSpace(16 << 10);
    // Each commit dirties leaves all over the tree; the log has room for a
    // few of these, the data file none for a checkpoint.
    int acknowledged = 0;
    for (int round = 0; round < 40; ++round) {
      absl::Status commit = (*db)->Update([&](Transaction& t) -> absl::Status {
        auto s = t.OpenStore("s");
        if (!s.ok()) return s.status();
        for (int i = round; i < 2000; i += 40) {
          if (auto st = (*s)->Put(Key(i), absl::StrCat("round ", round)); !st.ok()) return st;
        }
        return absl::OkStatus();
      });
      if (!commit.ok()) {
        EXPECT_TRUE(absl::IsResourceExhausted(commit)) << commit;
        break;
      }
      acknowledged = round + 1;
    }
    ASSERT_GT(acknowledged, 0);
    EXPECT_EQ((*db)->Stats().checkpoints, checkpoints) << "a checkpoint wrote on a full disk";
    auto during = All(**db);
    // The checkpoint thread may not have tried yet: it has till now, and 30 s.
    auto tried = [&] {
      for (const std::string& line : log->last_formatted()) {
        if (line.find("checkpoint after commit failed") != std::string::npos) return true;
      }
      return false;
    };
    for (int i = 0; i < 3000 && !tried(); ++i) absl::SleepFor(absl::Milliseconds(10));
    EXPECT_TRUE(tried()) << "no checkpoint was tried on the full disk";
    env.SetFreeSpace(std::nullopt);
    SOP_ASSERT_OK((*db)->Checkpoint());
    EXPECT_GT((*db)->Stats().checkpoints, checkpoints);
    db->reset();
    SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = 7, .keep_some = false}));
    db = Database::Open("/db", o);
    SOP_ASSERT_OK(db);
    auto after = All(**db);
    EXPECT_EQ(after, during);
    for (int round = 0; round < acknowledged; ++round) {
      ASSERT_EQ(after.at(Key(round)), absl::StrCat("round ", round)) << round;
    }
    SOP_EXPECT_OK((*db)->Verify());
    db->reset();
  }
}

TEST_F(ResourceFaultTest, EioOnReadIsAnErrorAndTheDataIsThereAfterwards) {
  {
    auto db = Open();
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK(Put(**db, 0, 3000, std::string(100, 'v')));
  }
  auto db = Open(8 << 10);  // a tiny cache: reads go to the file
  SOP_ASSERT_OK(db);
  env_.InjectFault(FaultInjectionEnv::Op::kRead, absl::UnavailableError("EIO"), "/db", 0, 1000);
  auto t = (*db)->Begin(TxnMode::kReadOnly);
  SOP_ASSERT_OK(t);
  auto s = (*t)->OpenStore("s");
  absl::Status seen = s.status();
  if (s.ok()) seen = (*s)->Get(Key(2500)).status();
  EXPECT_TRUE(absl::IsUnavailable(seen)) << seen;
  t->reset();
  env_.ClearFaults();
  auto all = All(**db);
  EXPECT_EQ(all.size(), 3000u);
  SOP_EXPECT_OK((*db)->Verify());
}

TEST_F(ResourceFaultTest, AFailedFsyncIsNeverTakenForSuccess) {
  auto db = Open();
  SOP_ASSERT_OK(db);
  SOP_ASSERT_OK(Put(**db, 0, 100, "kept"));
  env_.InjectFault(FaultInjectionEnv::Op::kSync, absl::UnavailableError("EIO on fsync"), "-wal");
  absl::Status failed = Put(**db, 100, 200, "maybe");
  EXPECT_FALSE(failed.ok());
  env_.ClearFaults();
  // The database refuses writes until it is reopened: the sync's fate is unknown.
  EXPECT_FALSE(Put(**db, 200, 300, "refused").ok());
  db->reset();
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 3, .keep_some = false}));
  db = Open();
  SOP_ASSERT_OK(db);
  auto all = All(**db);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(all.at(Key(i)), "kept") << i;
  EXPECT_EQ(all.count(Key(250)), 0u);
  SOP_ASSERT_OK(Put(**db, 300, 310, "after"));
  SOP_EXPECT_OK((*db)->Verify());
}

TEST_F(ResourceFaultTest, ACacheFarBelowTheDataStillServesEverything) {
  auto db = Open(4 << 10);  // about one node
  SOP_ASSERT_OK(db);
  for (int r = 0; r < 10; ++r) SOP_ASSERT_OK(Put(**db, r * 2000, (r + 1) * 2000, "v" + Key(r)));
  auto all = All(**db);
  ASSERT_EQ(all.size(), 20000u);
  EXPECT_EQ(all.at(Key(12345)), "v" + Key(6));
  EXPECT_LE((*db)->Stats().cache_bytes, 64u << 10);
  SOP_EXPECT_OK((*db)->Verify());
}

}  // namespace
}  // namespace sop
