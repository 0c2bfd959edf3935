// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "registry/registry.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "util/mutex.h"

namespace sop {
namespace {

// A leaf holding one entry whose value names its version, to tell versions apart.
std::shared_ptr<CachedNode> Leaf(uint64_t version) {
  Node n;
  n.InsertEntry(0, "k", 0, std::to_string(version), ValueKind::kInline);
  return std::make_shared<CachedNode>(std::move(n));
}

std::string VersionOf(const NodePtr& node) { return std::string(node->value(0)); }

TEST(RegistryTest, AReaderSeesTheNewestVersionAtItsSnapshot) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  r.Load(7, BlobId{100, 40});
  r.Publish(3, {{7, Leaf(3)}}, {}, 0, &dropped);
  r.Publish(5, {{7, Leaf(5)}}, {}, 0, &dropped);
  r.Publish(6, {}, {7}, 0, &dropped);

  BlobId blob;
  auto at0 = r.Resolve(7, 2, &blob);  // before any publish: the loaded blob
  SOP_ASSERT_OK(at0);
  EXPECT_EQ(*at0, nullptr);
  EXPECT_EQ(blob, (BlobId{100, 40}));
  for (uint64_t snapshot : {3, 4}) {
    auto v = r.Resolve(7, snapshot, &blob);
    SOP_ASSERT_OK(v);
    EXPECT_EQ(VersionOf(*v), "3") << snapshot;
  }
  auto at5 = r.Resolve(7, 5, &blob);
  SOP_ASSERT_OK(at5);
  EXPECT_EQ(VersionOf(*at5), "5");
  EXPECT_TRUE(absl::IsNotFound(r.Resolve(7, 6, &blob).status()));  // deleted at 6
  EXPECT_TRUE(absl::IsNotFound(r.Resolve(8, 9, &blob).status()));  // never existed
  EXPECT_EQ(r.versions(), 4u);
}

// The checkpoint threshold is memory held by unwritten nodes: a node edited
// again before a checkpoint replaces its previous version and grows that
// memory only by what it added.
TEST(RegistryTest, PublishCountsADirtyNodeOnceUntilTakeDirty) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  auto small = Leaf(1);
  Node bigger = small->node.EditableCopy();
  bigger.InsertEntry(1, "l", 0, std::string(1000, 'v'), ValueKind::kInline);
  auto big = std::make_shared<CachedNode>(std::move(bigger));
  const uint64_t small_bytes = small->node.MemoryBytes(), big_bytes = big->node.MemoryBytes();
  ASSERT_GT(big_bytes, small_bytes);

  EXPECT_EQ(r.Publish(1, {{4, small}}, {}, 0, &dropped), small_bytes);
  EXPECT_EQ(r.Publish(2, {{4, big}}, {}, 0, &dropped), big_bytes - small_bytes);
  EXPECT_EQ(r.Publish(3, {{4, small}}, {}, 0, &dropped), 0u);           // shrank: nothing added
  EXPECT_EQ(r.Publish(4, {{5, small}}, {}, 0, &dropped), small_bytes);  // another node
  EXPECT_EQ(r.TakeDirty().size(), 2u);
  EXPECT_EQ(r.Publish(5, {{4, big}}, {}, 0, &dropped), big_bytes);  // dirty again after it
}

TEST(RegistryTest, PublishDropsTheVersionsNoSnapshotSees) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  for (uint64_t v = 1; v <= 5; ++v) r.Publish(v, {{9, Leaf(v)}}, {}, /*oldest=*/2, &dropped);
  EXPECT_EQ(r.versions(), 4u);  // 2, what a reader at 2 sees, and the ones after it
  BlobId blob;
  for (uint64_t snapshot : {2, 5}) {
    auto v = r.Resolve(9, snapshot, &blob);
    SOP_ASSERT_OK(v);
    EXPECT_EQ(VersionOf(*v), std::to_string(snapshot));
  }
  r.Publish(6, {}, {9}, /*oldest=*/5, &dropped);
  EXPECT_EQ(r.versions(), 2u);
  EXPECT_TRUE(absl::IsNotFound(r.Resolve(9, 6, &blob).status()));
}

TEST(RegistryTest, UnpublishTakesBackOneCommitOnly) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  r.Publish(1, {{1, Leaf(1)}, {2, Leaf(1)}}, {}, 0, &dropped);
  r.Publish(2, {{1, Leaf(2)}, {3, Leaf(2)}}, {}, 0, &dropped);
  r.Unpublish(2, {1, 3});
  BlobId blob;
  auto v = r.Resolve(1, 9, &blob);
  SOP_ASSERT_OK(v);
  EXPECT_EQ(VersionOf(*v), "1");
  EXPECT_TRUE(absl::IsNotFound(r.Resolve(3, 9, &blob).status()));
  EXPECT_EQ(r.size(), 2u);  // id 3 existed only in the commit taken back
}

TEST(RegistryTest, TakeDirtyReturnsEveryChangedIdOnceWithItsNewestVersion) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  // Ids in every part of the registry, some changed twice.
  for (uint64_t id = 1; id <= 100; ++id) r.Publish(1, {{id, Leaf(1)}}, {}, 0, &dropped);
  for (uint64_t id = 1; id <= 100; id += 3) r.Publish(2, {{id, Leaf(2)}}, {}, 0, &dropped);
  r.Unpublish(1, {50});
  auto dirty = r.TakeDirty();
  std::sort(dirty.begin(), dirty.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  ASSERT_EQ(dirty.size(), 99u);  // 50 was taken back
  for (const auto& [id, v] : dirty) {
    EXPECT_NE(id, 50u);
    EXPECT_EQ(v.version, (id - 1) % 3 == 0 ? 2u : 1u) << id;
  }
  EXPECT_TRUE(r.TakeDirty().empty());
  r.MarkDirty(42);
  ASSERT_EQ(r.TakeDirty().size(), 1u);
}

TEST(RegistryTest, PruneKeepsWhatTheOldestReaderSees) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  for (uint64_t v = 1; v <= 5; ++v) r.Publish(v, {{9, Leaf(v)}}, {}, 0, &dropped);
  EXPECT_FALSE(r.Prune(9, 3, &dropped));  // keeps 3 (the oldest reader's) and 4, 5
  EXPECT_EQ(r.versions(), 3u);
  BlobId blob;
  auto v = r.Resolve(9, 3, &blob);
  SOP_ASSERT_OK(v);
  EXPECT_EQ(VersionOf(*v), "3");
  EXPECT_TRUE(r.Prune(9, 5, &dropped));
  EXPECT_EQ(r.versions(), 1u);
  r.Publish(6, {}, {9}, 0, &dropped);
  EXPECT_FALSE(r.Prune(9, 5, &dropped));  // a reader at 5 still sees it
  EXPECT_TRUE(r.Prune(9, 6, &dropped));   // deleted and nobody sees past: gone
  EXPECT_EQ(r.size(), 0u);
}

// The node cache learns which of its entries no reader can reach: the blobs
// of the written versions a publish or a prune drops (unwritten ones have
// nothing cached).
TEST(RegistryTest, DroppingAWrittenVersionReportsItsBlob) {
  Registry r;
  std::vector<BlobId> dropped;
  r.Load(4, BlobId{100, 30});
  r.Publish(1, {{4, Leaf(1)}}, {}, 0, &dropped);
  EXPECT_TRUE(dropped.empty());  // a reader at 0 sees the loaded one
  r.Publish(2, {{4, Leaf(2)}}, {}, 1, &dropped);
  EXPECT_EQ(dropped, (std::vector<BlobId>{BlobId{100, 30}}));
  dropped.clear();
  EXPECT_TRUE(r.Prune(4, 2, &dropped));
  EXPECT_TRUE(dropped.empty());  // version 1 was never written
  r.MarkWritten(4, 2, BlobId{200, 30}, nullptr);
  r.Publish(3, {{4, Leaf(3)}}, {}, 2, &dropped);
  EXPECT_TRUE(r.Prune(4, 3, &dropped));
  EXPECT_EQ(dropped, (std::vector<BlobId>{BlobId{200, 30}}));
}

// What a commit trims once every reader has passed it: the hidden versions,
// never a deleted id, which only a checkpoint that recorded it may drop.
TEST(RegistryTest, TrimDropsHiddenVersionsButKeepsADeletion) {
  Registry r;
  std::vector<BlobId> dropped;
  for (uint64_t v = 1; v <= 3; ++v) r.Publish(v, {{9, Leaf(v)}}, {}, 0, &dropped);
  r.Trim(9, 2, &dropped);  // a reader at 2 sees 2
  EXPECT_EQ(r.versions(), 2u);
  r.Trim(9, 3, &dropped);
  EXPECT_EQ(r.versions(), 1u);
  r.Publish(4, {}, {9}, 3, &dropped);
  r.Trim(9, 4, &dropped);
  EXPECT_EQ(r.size(), 1u);  // the deletion waits for the checkpoint
  ASSERT_EQ(r.TakeDirty().size(), 1u);
  EXPECT_TRUE(r.Prune(9, 4, &dropped));
  EXPECT_EQ(r.size(), 0u);
}

TEST(RegistryTest, AWrittenVersionResolvesThroughTheCacheWhileItLasts) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  r.Publish(1, {{4, Leaf(1)}}, {}, 0, &dropped);
  auto cached = Leaf(1);
  r.MarkWritten(4, 1, BlobId{200, 30}, cached);
  BlobId blob;
  auto hit = r.Resolve(4, 1, &blob);
  SOP_ASSERT_OK(hit);
  ASSERT_NE(*hit, nullptr);
  EXPECT_EQ(VersionOf(*hit), "1");
  EXPECT_TRUE(cached->referenced.load());
  hit->reset();
  cached.reset();  // evicted: the registry's pointer expires
  auto miss = r.Resolve(4, 1, &blob);
  SOP_ASSERT_OK(miss);
  EXPECT_EQ(*miss, nullptr);
  EXPECT_EQ(blob, (BlobId{200, 30}));
}

// A version knows where its node in memory keeps its key heads, so that a
// lookup can ask for them early: set when a commit publishes the node, when
// a checkpoint hands the cache the node it wrote, and when a node read from
// disk is cached.
TEST(RegistryTest, AVersionPointsAtTheKeyHeadsOfItsNodeInMemory) {
  Registry r;
  std::vector<BlobId> dropped;
  auto heads_of = [&](uint64_t id) -> const uint64_t* {
    r.MarkDirty(id);
    for (const auto& [dirty, v] : r.TakeDirty()) {
      if (dirty == id) return v.heads;
    }
    return nullptr;
  };
  auto published = Leaf(1);
  r.Publish(1, {{4, published}}, {}, 0, &dropped);
  EXPECT_EQ(heads_of(4), published->node.heads());
  auto written = Leaf(1);
  r.MarkWritten(4, 1, BlobId{200, 30}, written);
  EXPECT_EQ(heads_of(4), written->node.heads());
  r.Load(9, BlobId{300, 30});
  EXPECT_EQ(heads_of(9), nullptr);
  auto read = Leaf(0);
  r.NoteCached(9, BlobId{300, 30}, read);
  EXPECT_EQ(heads_of(9), read->node.heads());
}

// Readers resolve while a writer publishes, marks versions written and
// prunes, as commits and checkpoints do, keeping what the oldest reader's
// snapshot sees: every read finds exactly the version of its snapshot. Run
// under TSan too (label concurrency).
TEST(RegistryTest, ReadersResolveWhileCommitsAndCheckpointsChangeIt) {
  Registry r;
  std::vector<BlobId> dropped;  // blobs of written versions dropped
  constexpr uint64_t kIds = 64;
  constexpr int kReaders = 3;
  for (uint64_t id = 1; id <= kIds; ++id) r.Publish(1, {{id, Leaf(1)}}, {}, 0, &dropped);
  Mutex mu;  // what the database's snapshot list does: pins versions
  uint64_t published = 1;
  std::vector<uint64_t> pinned(kReaders, 0);  // 0: no snapshot held
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, hits{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      for (uint64_t i = t; !stop.load(); ++i) {
        uint64_t snapshot;
        {
          MutexLock lock(&mu);
          snapshot = published;
          pinned[t] = snapshot;
        }
        BlobId blob;
        auto v = r.Resolve(1 + i % kIds, snapshot, &blob);
        ASSERT_TRUE(v.ok()) << v.status();
        if (*v != nullptr) {
          // Version `snapshot` changed every id: a reader at it sees exactly it.
          ASSERT_EQ(VersionOf(*v), std::to_string(snapshot));
          hits.fetch_add(1);
        } else {
          ASSERT_EQ(blob.page, 1 + i % kIds);
        }
        {
          MutexLock lock(&mu);
          pinned[t] = 0;
        }
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::shared_ptr<CachedNode>> cache;  // the node cache, holding the last checkpoint's
  // At least 300 versions, and on until the readers have had their turn: on a
  // loaded machine the writer can finish before a reader thread first runs.
  for (uint64_t version = 2; version <= 300 || reads.load() < 1000 || hits.load() < 100;
       ++version) {
    auto oldest_pinned = [&](uint64_t newest) {
      MutexLock lock(&mu);
      uint64_t oldest = newest;
      for (uint64_t p : pinned) {
        if (p != 0) oldest = std::min(oldest, p);
      }
      return oldest;
    };
    // Publishing drops what no reader sees while the readers resolve.
    const uint64_t before = oldest_pinned(version - 1);
    for (uint64_t id = 1; id <= kIds; ++id) {
      r.Publish(version, {{id, Leaf(version)}}, {}, before, &dropped);
    }
    {
      MutexLock lock(&mu);
      published = version;
    }
    const uint64_t oldest = oldest_pinned(version);
    if (version % 10 == 0) {
      cache.clear();
      for (const auto& [id, v] : r.TakeDirty()) {
        cache.push_back(v.node);  // as a checkpoint hands the cache the entry
        r.MarkWritten(id, v.version, BlobId{id, 1}, cache.back());
      }
    }
    for (uint64_t id = 1; id <= kIds; ++id) r.Prune(id, oldest, &dropped);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
}

}  // namespace
}  // namespace sop
