// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "btree/node.h"

#include <memory_resource>
#include <random>
#include <tuple>

#include "gtest/gtest.h"
#include "test_util.h"
#include "util/block_resource.h"

namespace sop {
namespace {

// Every entry of a node, as comparable values.
std::vector<std::tuple<std::string, uint64_t, std::string, ValueKind>> Entries(const Node& n) {
  std::vector<std::tuple<std::string, uint64_t, std::string, ValueKind>> out;
  for (size_t i = 0; i < n.size(); ++i) {
    out.emplace_back(n.key(i), n.dup(i), n.leaf ? std::string(n.value(i)) : "",
                     n.leaf ? n.kind(i) : ValueKind::kInline);
  }
  return out;
}

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
  EXPECT_EQ(Entries(*back), Entries(leaf));
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
  EXPECT_EQ(Entries(*ib), Entries(internal));
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

// Edits that grow, shrink and drop bytes, so that the node reclaims its
// buffer many times, against a plain vector of entries.
TEST(NodeTest, EditsMatchAModelThroughBufferReclaims) {
  std::mt19937_64 rng(11);
  Node n;
  std::vector<std::tuple<std::string, uint64_t, std::string, ValueKind>> model;
  for (int op = 0; op < 20000; ++op) {
    size_t at = model.empty() ? 0 : rng() % (model.size() + 1);
    int what = static_cast<int>(rng() % 4);
    if (model.size() > 40) what = 2;
    std::string text(rng() % 200, static_cast<char>('a' + op % 26));
    if (what <= 1 || model.empty()) {
      std::string key = "k" + std::to_string(op);
      n.InsertEntry(at, key, op, text, ValueKind::kInline);
      model.insert(model.begin() + at, {key, op, text, ValueKind::kInline});
    } else if (what == 2) {
      at %= model.size();
      n.EraseEntry(at);
      model.erase(model.begin() + at);
    } else {
      at %= model.size();
      // Sometimes the new value is the node's own bytes (its key).
      bool own = rng() % 2 == 0;
      std::string expected = own ? std::string(n.key(at)) : text;
      n.SetValue(at, own ? n.key(at) : absl::string_view(text), ValueKind::kInline);
      std::get<2>(model[at]) = expected;
    }
    ASSERT_EQ(Entries(n), model) << "op " << op;
  }
  auto back = DecodeNode(EncodeNode(n), "test");
  SOP_ASSERT_OK(back);
  EXPECT_EQ(Entries(*back), model);
  Node copy = n;
  copy.Recount();
  EXPECT_EQ(copy.bytes, n.bytes);
}

// A leaf of 20 entries sharing a prefix, whose buffer holds the bytes of 10
// erased ones besides.
Node LeafWithDroppedBytes() {
  Node leaf;
  for (int i = 0; i < 30; ++i) {
    leaf.InsertEntry(i, "stem/" + std::to_string(1000 + i), i, std::string(i * 7, 'v'),
                     ValueKind::kInline);
  }
  for (int i = 0; i < 10; ++i) leaf.EraseEntry(3);
  return leaf;
}

// Copy-on-write edits a copy: it must hold the same entries, prefix and
// heads as its source, and edits to it must leave the source alone.
TEST(NodeTest, EditableCopyIsEqualAndIndependent) {
  Node leaf = LeafWithDroppedBytes();
  const std::string before = EncodeNode(leaf);
  const auto entries = Entries(leaf);

  Node copy = leaf.EditableCopy();
  EXPECT_EQ(EncodeNode(copy), before);
  EXPECT_EQ(copy.bytes, leaf.bytes);
  EXPECT_EQ(copy.prefix(), leaf.prefix());
  for (size_t i = 0; i < leaf.size(); ++i) EXPECT_EQ(copy.head(i), leaf.head(i));

  copy.InsertEntry(0, "other", 0, "x", ValueKind::kInline);  // shortens the prefix
  copy.SetValue(5, std::string(3000, 'w'), ValueKind::kInline);
  copy.EraseEntry(copy.size() - 1);
  EXPECT_EQ(EncodeNode(leaf), before);
  EXPECT_EQ(Entries(leaf), entries);
  EXPECT_EQ(copy.prefix(), "");
  auto back = DecodeNode(EncodeNode(copy), "test");
  SOP_ASSERT_OK(back);
  EXPECT_EQ(Entries(*back), Entries(copy));

  Node internal;
  internal.leaf = false;
  internal.children = {5};
  internal.InsertSeparator(0, "m", 0, 9);
  Node icopy = internal.EditableCopy();
  icopy.InsertSeparator(1, "t", 0, 12);
  EXPECT_EQ(internal.children, (std::vector<uint64_t>{5, 9}));
  EXPECT_EQ(icopy.children, (std::vector<uint64_t>{5, 9, 12}));
  EXPECT_FALSE(icopy.leaf);
}

// A compact copy built in one block (how the cache and commits keep nodes)
// holds the same entries, and its buffers fit the block CompactBytes sizes.
TEST(NodeTest, CompactCopyInOneBlockIsEqualAndFitsIt) {
  const Node leaf = LeafWithDroppedBytes();
  // The block's upstream has room for the block alone: a buffer that did
  // not fit would ask it for more, and it would throw.
  const size_t block_bytes = leaf.CompactBytes() + 64;
  std::vector<std::max_align_t> room(block_bytes / sizeof(std::max_align_t) + 1);
  std::pmr::monotonic_buffer_resource upstream(room.data(), room.size() * sizeof(room[0]),
                                               std::pmr::null_memory_resource());
  BlockResource block(block_bytes, &upstream);
  Node compact(leaf, &block);
  EXPECT_EQ(Entries(compact), Entries(leaf));
  EXPECT_EQ(EncodeNode(compact), EncodeNode(leaf));
  EXPECT_EQ(compact.prefix(), leaf.prefix());
  for (size_t i = 0; i < leaf.size(); ++i) EXPECT_EQ(compact.head(i), leaf.head(i));
  EXPECT_LE(compact.MemoryBytes(), sizeof(Node) + leaf.CompactBytes() + 64);
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
