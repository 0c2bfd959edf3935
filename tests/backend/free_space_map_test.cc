// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "backend/file/free_space_map.h"

#include <random>

#include "gtest/gtest.h"
#include "test_util.h"

namespace sop {
namespace {

using Extents = std::vector<FreeSpaceMap::Extent>;

TEST(FreeSpaceMapTest, GrowsFromTheFirstPageWhenEmpty) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(2, 2, {}));
  EXPECT_EQ(m.Allocate(3), 2u);
  EXPECT_EQ(m.Allocate(1), 5u);
  EXPECT_EQ(m.end(), 6u);
}

TEST(FreeSpaceMapTest, FreedNeighboursCoalesceAndBestFitIsChosen) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(1, 1, {}));
  for (int i = 0; i < 10; ++i) m.Allocate(1);  // pages 1..10
  SOP_ASSERT_OK(m.Free(2, 1));
  SOP_ASSERT_OK(m.Free(3, 1));
  SOP_ASSERT_OK(m.Free(4, 1));  // 2..4 coalesce
  SOP_ASSERT_OK(m.Free(7, 1));  // a single hole
  EXPECT_EQ(m.extents(), (Extents{{2, 3}, {7, 1}}));
  EXPECT_EQ(m.Allocate(1), 7u);  // best fit: the one-page hole, not the three-page one
  EXPECT_EQ(m.Allocate(2), 2u);
  EXPECT_EQ(m.extents(), (Extents{{4, 1}}));
  EXPECT_EQ(m.free_pages(), 1u);
}

TEST(FreeSpaceMapTest, AllocateBelowTakesTheLowestHoleThatFitsUnderTheLimit) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(1, 20, {{3, 3}, {8, 1}, {12, 2}}));
  EXPECT_EQ(m.AllocateBelow(1, 20), 3u);  // lowest, though 8 fits exactly
  EXPECT_EQ(m.AllocateBelow(2, 20), 4u);  // the rest of the first hole
  EXPECT_EQ(m.AllocateBelow(2, 13), 0u);  // 12..13 ends past the limit
  EXPECT_EQ(m.AllocateBelow(2, 14), 12u);
  EXPECT_EQ(m.AllocateBelow(1, 8), 0u);    // 8 would end past 8
  EXPECT_EQ(m.AllocateBelow(5, 100), 0u);  // never grows the file
  EXPECT_EQ(m.extents(), (Extents{{8, 1}}));
  EXPECT_EQ(m.end(), 20u);
}

TEST(FreeSpaceMapTest, DoubleFreeAndOutOfRangeFreeAreErrors) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(1, 10, {{3, 2}}));
  EXPECT_TRUE(absl::IsInternal(m.Free(4, 1)));
  EXPECT_TRUE(absl::IsInternal(m.Free(2, 2)));
  EXPECT_TRUE(absl::IsInternal(m.Free(9, 5)));
  EXPECT_TRUE(absl::IsInternal(m.Free(0, 1)));
}

TEST(FreeSpaceMapTest, ResetRejectsOverlappingOrOutOfRangeExtents) {
  FreeSpaceMap m;
  EXPECT_TRUE(absl::IsInvalidArgument(m.Reset(1, 10, {{3, 4}, {5, 1}})));
  EXPECT_TRUE(absl::IsInvalidArgument(m.Reset(1, 10, {{8, 5}})));
  EXPECT_TRUE(absl::IsInvalidArgument(m.Reset(1, 10, {{0, 1}})));
  EXPECT_TRUE(absl::IsInvalidArgument(m.Reset(1, 10, {{3, 0}})));
  EXPECT_TRUE(absl::IsInvalidArgument(m.Reset(1, 10, {{~uint64_t{0}, 2}})));
}

TEST(FreeSpaceMapTest, MarkUsedCutsFreeExtentsAndGrowsTheFile) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(1, 20, {{2, 10}}));
  m.MarkUsed(5, 2);
  EXPECT_EQ(m.extents(), (Extents{{2, 3}, {7, 5}}));
  m.MarkUsed(25, 5);  // past the end: the gap 20..25 becomes free
  EXPECT_EQ(m.end(), 30u);
  EXPECT_EQ(m.extents(), (Extents{{2, 3}, {7, 5}, {20, 5}}));
  m.MarkUsed(1, 30);
  EXPECT_TRUE(m.extents().empty());
}

TEST(FreeSpaceMapTest, ShrinkTailDropsTheTrailingFreeExtent) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(1, 1, {}));
  m.Allocate(5);
  uint64_t tail = m.Allocate(5);
  SOP_ASSERT_OK(m.Free(tail, 5));
  m.ShrinkTail();
  EXPECT_EQ(m.end(), 6u);
  EXPECT_TRUE(m.extents().empty());
}

TEST(FreeSpaceMapTest, RandomAllocateFreeNeverHandsOutAPageTwice) {
  FreeSpaceMap m;
  SOP_ASSERT_OK(m.Reset(2, 2, {}));
  std::mt19937_64 rng(42);
  std::map<uint64_t, uint64_t> live;  // page -> count
  std::vector<bool> used(1 << 16);
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      uint64_t n = 1 + rng() % 8;
      uint64_t p = m.Allocate(n);
      ASSERT_GE(p, 2u);
      for (uint64_t i = p; i < p + n; ++i) {
        ASSERT_FALSE(used[i]) << "page " << i << " handed out twice";
        used[i] = true;
      }
      live[p] = n;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      SOP_ASSERT_OK(m.Free(it->first, it->second));
      for (uint64_t i = it->first; i < it->first + it->second; ++i) used[i] = false;
      live.erase(it);
    }
    if (step % 1000 == 0) m.ShrinkTail();
  }
  uint64_t live_pages = 0;
  for (const auto& [p, n] : live) live_pages += n;
  EXPECT_EQ(live_pages + m.free_pages() + 2, m.end());
}

}  // namespace
}  // namespace sop
