// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/node_cache.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "util/huge_page_arena.h"

namespace sop {
namespace {

// The default resource, as a shared_ptr that owns nothing.
const std::shared_ptr<std::pmr::memory_resource> kHeap(std::shared_ptr<void>(),
                                                       std::pmr::get_default_resource());

Node MakeNode(int bytes) {
  Node n;
  n.InsertEntry(0, "k", 0, std::string(bytes, 'v'), ValueKind::kInline);
  return n;
}

// What the cache charges for `node`: its compact copy's memory.
uint64_t ChargeOf(const Node& node) {
  return NodeCache::Charge(node.CompactCopy(std::pmr::get_default_resource()));
}

// Keys that all fall in one shard, so that one shard's budget is exercised.
std::vector<uint64_t> KeysOfOneShard(int n) {
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; static_cast<int>(keys.size()) < n; ++k) {
    if (((k * 0x9E3779B97F4A7C15ull) >> 60) == 0) keys.push_back(k);
  }
  return keys;
}

TEST(NodeCacheTest, HitsMissesAndErase) {
  NodeCache cache(1 << 20, kHeap);
  EXPECT_EQ(cache.Lookup(7), nullptr);
  Node n = MakeNode(100);
  cache.Insert(7, cache.Compact(n));
  ASSERT_NE(cache.Lookup(7), nullptr);
  EXPECT_EQ(cache.Lookup(7)->value(0), n.value(0));
  EXPECT_EQ(cache.usage(), ChargeOf(n));
  Node replacement = MakeNode(200);
  cache.Insert(7, cache.Compact(replacement));
  EXPECT_EQ(cache.Lookup(7)->value(0), replacement.value(0));
  EXPECT_EQ(cache.usage(), ChargeOf(replacement));
  cache.Erase(7);
  cache.Erase(7);
  EXPECT_EQ(cache.Lookup(7), nullptr);
  EXPECT_EQ(cache.usage(), 0u);
}

// A checkpoint hands the cache the entry its commit published: cached as it
// is, not copied.
TEST(NodeCacheTest, InsertCachesTheEntryItself) {
  NodeCache cache(1 << 20, kHeap);
  std::shared_ptr<CachedNode> published = cache.Compact(MakeNode(100));
  EXPECT_EQ(cache.Insert(7, published), published);
  NodePtr hit = cache.Lookup(7);
  EXPECT_EQ(hit.get(), &published->node);
  EXPECT_EQ(cache.usage(), NodeCache::Charge(published->node));
  // One edited in place (its buffers with room to grow) is copied compact.
  auto edited = std::make_shared<CachedNode>(MakeNode(100).EditableCopy());
  std::shared_ptr<CachedNode> cached = cache.Insert(8, edited);
  ASSERT_NE(cached, nullptr);
  EXPECT_NE(cached, edited);
  EXPECT_TRUE(cached->compact());
  EXPECT_EQ(cached->node.value(0), edited->node.value(0));
  EXPECT_LT(cached->node.MemoryBytes(), edited->node.MemoryBytes());
}

// A node read from disk is decoded into an entry of its own, one block like
// the copies commits publish, and cached as it is. A block too small for
// what the bytes hold (they are never trusted) only sends the rest to the
// cache's memory.
TEST(NodeCacheTest, ANodeReadFromDiskIsDecodedIntoOneBlockAndCachedAsItIs) {
  NodeCache cache(16 * 4000, kHeap);
  Node n = MakeNode(100);
  n.InsertEntry(1, "m", 0, std::string(50, 'w'), ValueKind::kInline);
  const std::string encoded = EncodeNode(n);
  for (size_t bytes : {Node::DecodedBytes(encoded), size_t{0}}) {
    std::shared_ptr<CachedNode> entry = cache.NewEntry(bytes);
    auto decoded = DecodeNode(encoded, "test", &entry->memory);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    entry->node = *std::move(decoded);
    EXPECT_TRUE(entry->compact());
    EXPECT_EQ(cache.Insert(7, entry), entry);
    NodePtr hit = cache.Lookup(7);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit.get(), &entry->node);
    ASSERT_EQ(hit->size(), 2u);
    EXPECT_EQ(hit->key(1), "m");
    EXPECT_EQ(hit->value(0), std::string(100, 'v'));
    EXPECT_EQ(hit->value(1), std::string(50, 'w'));
  }
  EXPECT_GT(Node::DecodedBytes(encoded), encoded.size());
  EXPECT_EQ(Node::DecodedBytes("X"), 0u);  // not a node: the decode will say so
}

TEST(NodeCacheTest, StaysWithinItsBudgetAndGivesRecentlyHitNodesASecondChance) {
  const uint64_t charge = ChargeOf(MakeNode(1000));
  const uint64_t per_shard = 10 * charge;  // ten nodes per shard
  NodeCache cache(per_shard * 16, kHeap);
  std::vector<uint64_t> keys = KeysOfOneShard(40);
  for (int i = 0; i < 10; ++i) cache.Insert(keys[i], cache.Compact(MakeNode(1000)));
  EXPECT_EQ(cache.usage(), 10 * charge);
  // Keep one node hot while thirty others stream through.
  for (int i = 10; i < 40; ++i) {
    ASSERT_NE(cache.Lookup(keys[0]), nullptr) << "the hot node was evicted at " << i;
    cache.Insert(keys[i], cache.Compact(MakeNode(1000)));
    EXPECT_LE(cache.usage(), per_shard);
  }
  EXPECT_NE(cache.Lookup(keys[0]), nullptr);
  EXPECT_EQ(cache.Lookup(keys[1]), nullptr);  // cold: long gone
  EXPECT_NE(cache.Lookup(keys[39]), nullptr);
}

TEST(NodeCacheTest, ANodeLargerThanAShardIsNotCachedAndAHeldNodeOutlivesEviction) {
  NodeCache cache(16 * 2000, kHeap);
  cache.Insert(1, cache.Compact(MakeNode(5000)));
  EXPECT_EQ(cache.Lookup(1), nullptr);
  EXPECT_EQ(cache.usage(), 0u);
  std::vector<uint64_t> keys = KeysOfOneShard(2);
  cache.Insert(keys[0], cache.Compact(MakeNode(1000)));
  NodePtr held = cache.Lookup(keys[0]);
  ASSERT_NE(held, nullptr);
  cache.Insert(keys[1], cache.Compact(MakeNode(1000)));  // no room for both: keys[0] goes
  EXPECT_EQ(cache.Lookup(keys[0]), nullptr);
  EXPECT_EQ(held->value(0).size(), 1000u);
}

// A transaction's copies come from the cache's memory, and their blocks go
// back to its lists when they are let go: copies made and dropped again
// and again (a transaction after another) take no new memory.
TEST(NodeCacheTest, EditableCopiesComeFromTheCachesMemoryAndReuseIt) {
  auto arena = std::make_shared<HugePageArena>();
  NodeCache cache(1 << 20, arena);
  const Node base = MakeNode(3000);
  std::shared_ptr<CachedNode> copy = cache.Editable(base);
  EXPECT_FALSE(copy->compact());
  EXPECT_EQ(copy->node.value(0), base.value(0));
  copy->node.InsertEntry(1, "l", 0, "w", ValueKind::kInline);  // it is editable
  EXPECT_EQ(copy->node.size(), 2u);
  EXPECT_EQ(base.size(), 1u);
  const size_t reserved = arena->reserved_bytes();
  EXPECT_GT(reserved, 0u);
  copy.reset();
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::shared_ptr<CachedNode>> txn;
    for (int j = 0; j < 4; ++j) txn.push_back(cache.Editable(base));
  }
  EXPECT_LE(arena->reserved_bytes(), reserved + HugePageArena::kChunkBytes);
}

}  // namespace
}  // namespace sop
