// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// On a database ten times larger than Options::cache_bytes, memory stays
// within the budget plus a small fixed overhead: checked with the cache's
// own accounting and with the process's resident set size.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

Options CacheOptions() {
  Options options;
  options.cache_bytes = 2 << 20;
  options.checkpoint_dirty_bytes = 2 << 20;
  return options;
}
constexpr int kKeys = 200000;  // ~23 MB of keys and values; over 60 MB on disk
std::string Key(int i) { return absl::StrFormat("%016d", i * 7919 % 1000003); }

// Runs in a fresh process (started by the test below), so that the resident
// set measures this phase alone and not the allocator's memory of the fill.
TEST(CacheTest, ReadPhaseInAFreshProcess) {
  const char* path = std::getenv("SOP_CACHE_TEST_DB");
  if (path == nullptr)
    GTEST_SKIP() << "run by ReadingADatabaseTenTimesTheCacheStaysWithinTheBudget";
  Options options = CacheOptions();
  auto db = Database::Open(path, options);
  SOP_ASSERT_OK(db);
  auto t = (*db)->Begin(TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("s");
  SOP_ASSERT_OK(s);
  ASSERT_TRUE((*s)->Get(Key(0)).ok());
  uint64_t rss_before = ResidentBytes();
  uint64_t peak_cache = 0, peak_rss = 0;
  std::mt19937 rng(5);
  for (int n = 0; n < 3 * kKeys; ++n) {
    auto v = (*s)->Get(Key(static_cast<int>(rng() % kKeys)));
    ASSERT_TRUE(v.ok()) << v.status();
    if (n % 1000 == 0) {
      peak_cache = std::max(peak_cache, (*db)->Stats().cache_bytes);
      peak_rss = std::max(peak_rss, ResidentBytes());
    }
  }
  uint64_t growth = peak_rss - std::min(peak_rss, rss_before);
  std::printf("cache budget %.1f MB: peak cache %.1f MB, resident set grew %.1f MB\n",
              options.cache_bytes / 1048576.0, peak_cache / 1048576.0, growth / 1048576.0);
  EXPECT_LE(peak_cache, options.cache_bytes);
  EXPECT_GT(peak_cache, options.cache_bytes / 2);  // the budget is used, not ignored
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // The budget plus a fixed allowance for allocator slack (sanitizers keep
  // freed memory in quarantine, so the resident set means nothing there).
  EXPECT_LE(growth, options.cache_bytes + (8 << 20));
#endif
}

TEST(CacheTest, ReadingADatabaseTenTimesTheCacheStaysWithinTheBudget) {
  testing::TempDir dir;
  Options options = CacheOptions();
  {
    auto db = Database::Open(dir.File("db"), options);
    SOP_ASSERT_OK(db);
    for (int batch = 0; batch < kKeys; batch += 10000) {
      auto t = (*db)->Begin(TxnMode::kReadWrite);
      auto s = (*t)->OpenStore("s");
      SOP_ASSERT_OK(s);
      for (int i = batch; i < batch + 10000; ++i) {
        SOP_ASSERT_OK((*s)->Put(Key(i), testing::Pattern(i, 100)));
      }
      SOP_ASSERT_OK((*t)->Commit());
      // Changed nodes are bounded too: a checkpoint writes them out.
      ASSERT_LE((*db)->Stats().dirty_bytes, 2 * options.checkpoint_dirty_bytes);
    }
  }
  ASSERT_GE(std::filesystem::file_size(dir.File("db")), 10 * options.cache_bytes);
  char self[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  std::string cmd = "SOP_CACHE_TEST_DB=" + dir.File("db") + " " + self +
                    " --gtest_filter=CacheTest.ReadPhaseInAFreshProcess 2>&1";
  FILE* child = ::popen(cmd.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), child)) output.append(buf, n);
  int rc = ::pclose(child);
  std::printf("%s", output.c_str());
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
}

}  // namespace
}  // namespace sop
