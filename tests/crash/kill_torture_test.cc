// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Process-crash torture: a child process runs random multi-store
// transactions and, after each Commit returns, appends the transaction's id
// to a side file. The parent kills it with SIGKILL at a random moment,
// reopens the database, and checks: it opens without error; every id the
// child reported is there, whole; no transaction is partly there; the
// global counter matches. Repeated SOP_KILLS times (default 200), seeded.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

constexpr const char* kStores[] = {"alpha", "beta", "gamma"};

std::string ValueFor(uint64_t id, const std::string& store) {
  return absl::StrCat(store, ":", id, ":", testing::Pattern(id, 40 + id % 200));
}

// The child: runs transactions until killed.
[[noreturn]] void RunChild(const std::string& dir, uint64_t seed) {
  Options o;
  o.checkpoint_log_bytes = 256 << 10;  // checkpoints happen between kills too
  auto db = Database::Open(dir + "/db", o);
  if (!db.ok()) {
    std::fprintf(stderr, "child: %s\n", db.status().ToString().c_str());
    std::_Exit(3);
  }
  std::ofstream side(dir + "/committed", std::ios::app);
  std::mt19937_64 rng(seed);
  for (;;) {
    auto t = (*db)->Begin(TxnMode::kReadWrite);
    auto meta = (*t)->OpenStore("meta");
    uint64_t id = 1;
    if (auto c = (*meta)->Get("counter"); c.ok()) {
      (void)absl::SimpleAtoi(*c, &id);
      ++id;
    }
    std::string stores;
    for (const char* s : kStores) {
      if (rng() % 2 == 0 && !stores.empty()) continue;
      auto st = (*t)->OpenStore(s);
      (void)(*st)->Put(absl::StrCat("t", id), ValueFor(id, s));
      absl::StrAppend(&stores, stores.empty() ? "" : ",", s);
    }
    (void)(*meta)->Put(absl::StrCat("txn", id), stores);
    (void)(*meta)->Put("counter", std::to_string(id));
    if (!(*t)->Commit().ok()) std::_Exit(4);
    side << id << "\n" << std::flush;  // a process kill keeps what write() was given
  }
}

TEST(KillTortureTest, EveryReportedTransactionSurvivesSigkillWholeAndNoneIsPartial) {
  if (const char* child = std::getenv("SOP_TORTURE_CHILD")) {
    RunChild(child, std::strtoull(std::getenv("SOP_TORTURE_SEED"), nullptr, 10));
  }
  testing::TempDir dir;
  const char* kills_env = std::getenv("SOP_KILLS");
  const int kills = kills_env ? std::atoi(kills_env) : 200;
  char self[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  std::mt19937_64 rng(20261126);
  uint64_t total_reported = 0;
  for (int k = 0; k < kills; ++k) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("SOP_TORTURE_CHILD", dir.path().c_str(), 1);
      ::setenv("SOP_TORTURE_SEED", std::to_string(k).c_str(), 1);
      ::execl(self, self, "--gtest_filter=KillTortureTest.*", static_cast<char*>(nullptr));
      std::_Exit(5);
    }
    ::usleep(static_cast<useconds_t>(2000 + rng() % 40000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string where = absl::StrCat("kill ", k, ": ");
    if (WIFEXITED(status)) FAIL() << where << "child exited by itself with " << WEXITSTATUS(status);

    // What the child reported as committed.
    std::set<uint64_t> reported;
    {
      std::ifstream side(dir.File("committed"));
      std::string line;
      while (std::getline(side, line)) {
        uint64_t id;
        if (absl::SimpleAtoi(line, &id)) reported.insert(id);
      }
    }
    auto db = Database::Open(dir.File("db"));
    ASSERT_TRUE(db.ok()) << where << db.status();
    auto t = (*db)->Begin(TxnMode::kReadOnly);
    uint64_t counter = 0;
    if (auto meta = (*t)->OpenStore("meta"); meta.ok()) {
      auto c = (*meta)->Get("counter");
      ASSERT_TRUE(c.ok()) << where << c.status();
      ASSERT_TRUE(absl::SimpleAtoi(*c, &counter)) << where;
      // Reported ids are all there. The counter may be past the last report:
      // a child killed after a commit but before reporting it, once per kill.
      ASSERT_TRUE(reported.empty() || *reported.rbegin() <= counter) << where;
      ASSERT_LE(counter - (reported.empty() ? 0 : *reported.rbegin()), static_cast<uint64_t>(k + 1))
          << where;
      for (uint64_t id = 1; id <= counter; ++id) {
        auto stores = (*meta)->Get(absl::StrCat("txn", id));
        ASSERT_TRUE(stores.ok()) << where << "transaction " << id << " has no record";
        for (absl::string_view s : absl::StrSplit(*stores, ',')) {
          auto st = (*t)->OpenStore(s);
          ASSERT_TRUE(st.ok()) << where << st.status();
          auto v = (*st)->Get(absl::StrCat("t", id));
          ASSERT_TRUE(v.ok()) << where << "transaction " << id << " is partial in " << s;
          ASSERT_EQ(*v, ValueFor(id, std::string(s))) << where;
        }
      }
      // Nothing of a transaction past the counter.
      for (const char* s : kStores) {
        auto st = (*t)->OpenStore(s);
        if (!st.ok()) continue;
        auto v = (*st)->Get(absl::StrCat("t", counter + 1));
        ASSERT_TRUE(absl::IsNotFound(v.status())) << where << "uncommitted write visible";
      }
    } else {
      ASSERT_TRUE(reported.empty()) << where << "reported commits but no meta store";
    }
    total_reported = reported.size();
    if (k % 50 == 49) SOP_ASSERT_OK((*db)->Verify());
  }
  std::printf("%d kills; %llu transactions reported committed, all present and whole\n", kills,
              static_cast<unsigned long long>(total_reported));
}

}  // namespace
}  // namespace sop
