// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "btree/node.h"

#include <random>

#include "gtest/gtest.h"
#include "test_util.h"

namespace sop {
namespace {

Node SampleLeaf() {
  Node n;
  n.InsertEntry(0, "apple", 0, "red", ValueKind::kInline);
  n.InsertEntry(1, "banana", 7, std::string(16, 'x'), ValueKind::kBlob);
  n.InsertEntry(2, std::string(300, 'z'), 1ull << 40, std::string(1000, 'v'), ValueKind::kInline);
  return n;
}

TEST(NodeTest, LeafAndInternalNodesRoundTrip) {
  Node leaf = SampleLeaf();
  auto back = DecodeNode(EncodeNode(leaf), "test");
  SOP_ASSERT_OK(back);
  EXPECT_TRUE(back->leaf);
  EXPECT_EQ(back->keys, leaf.keys);
  EXPECT_EQ(back->dups, leaf.dups);
  EXPECT_EQ(back->values, leaf.values);
  EXPECT_EQ(back->kinds, leaf.kinds);
  EXPECT_EQ(back->bytes, leaf.bytes);

  Node internal;
  internal.leaf = false;
  internal.children = {5};
  internal.InsertSeparator(0, "m", 0, 9);
  internal.InsertSeparator(1, "t", 3, 12);
  auto ib = DecodeNode(EncodeNode(internal), "test");
  SOP_ASSERT_OK(ib);
  EXPECT_FALSE(ib->leaf);
  EXPECT_EQ(ib->children, (std::vector<uint64_t>{5, 9, 12}));
  EXPECT_EQ(ib->keys, internal.keys);
}

TEST(NodeTest, ByteCountTracksTheEncoding) {
  Node n = SampleLeaf();
  size_t encoded = EncodeNode(n).size();
  EXPECT_LE(n.bytes, encoded + 8);
  EXPECT_GE(n.bytes + 8, encoded);
  n.EraseEntry(1);
  n.SetValue(0, "longer value", ValueKind::kInline);
  Node copy = n;
  copy.Recount();
  EXPECT_EQ(n.bytes, copy.bytes);
}

TEST(NodeTest, DamagedBytesGiveDataLossNeverACrash) {
  std::string good = EncodeNode(SampleLeaf());
  std::mt19937_64 rng(7);
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bad = good;
    switch (i % 3) {
      case 0:
        bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 1:
        bad.resize(rng() % bad.size());
        break;
      default:
        bad = testing::Pattern(rng(), rng() % 64);
        break;
    }
    auto n = DecodeNode(bad, "node 42");
    if (!n.ok()) {
      ++rejected;
      EXPECT_TRUE(absl::IsDataLoss(n.status())) << n.status();
      EXPECT_NE(n.status().message().find("node 42"), std::string::npos);
    }
  }
  EXPECT_GT(rejected, 10000);
}

}  // namespace
}  // namespace sop
