// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/key_set.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sop {
namespace {

std::vector<std::string> Sorted(const KeySet& set) {
  std::vector<std::string> keys(set.begin(), set.end());
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(KeySetTest, HoldsEachKeyOnceWhateverItsLength) {
  KeySet set;
  const std::string long_key(10000, 'x');  // longer than a chunk
  set.Insert("b");
  set.Insert("a");
  set.Insert("b");
  set.Insert("");
  set.Insert(long_key);
  for (int i = 0; i < 1000; ++i) set.Insert("key-" + std::to_string(i % 500));
  EXPECT_EQ(set.size(), 4u + 500u);
  EXPECT_TRUE(set.contains("a"));
  EXPECT_TRUE(set.contains(""));
  EXPECT_TRUE(set.contains(long_key));
  EXPECT_TRUE(set.contains("key-499"));
  EXPECT_FALSE(set.contains("key-500"));
  EXPECT_FALSE(set.contains("c"));
  for (int i = 0; i < 500; ++i) EXPECT_TRUE(set.contains("key-" + std::to_string(i))) << i;
}

TEST(KeySetTest, AMovedSetKeepsItsKeysAndACopyHasItsOwn) {
  auto copy = std::make_unique<KeySet>();
  KeySet moved;
  {
    KeySet set;
    for (int i = 0; i < 2000; ++i) set.Insert("k" + std::to_string(i));
    *copy = set;
    moved = std::move(set);
  }  // `set` is gone: neither may refer to its chunks
  ASSERT_EQ(Sorted(*copy), Sorted(moved));
  EXPECT_EQ(moved.size(), 2000u);
  EXPECT_TRUE(moved.contains("k1999"));
  KeySet again(*copy);
  copy.reset();
  EXPECT_EQ(again.size(), 2000u);
  EXPECT_TRUE(again.contains("k0"));
}

}  // namespace
}  // namespace sop
