// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Decoded, clean B-tree nodes, keyed by the first page of their blob, with a
// byte budget (Options::cache_bytes). Eviction is CLOCK (second chance): a
// hit only marks its slot, where least-recently-used would relink a list on
// every read; a sweeping hand evicts the first slot not marked since it last
// passed. A node handed out stays alive while its user holds the NodePtr,
// even if evicted meanwhile. Sharded to keep readers from queueing on one
// lock.

#ifndef SOP_SRC_TXN_NODE_CACHE_H_
#define SOP_SRC_TXN_NODE_CACHE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "btree/node.h"
#include "registry/registry.h"
#include "util/mutex.h"

namespace sop {

class NodeCache {
 public:
  // Entries are allocated in `memory`, and each keeps it alive: a node
  // handed out may outlive the cache, and the database (Database's
  // destructor lets transactions outlive it).
  NodeCache(uint64_t capacity_bytes, std::shared_ptr<std::pmr::memory_resource> memory);

  NodePtr Lookup(uint64_t key);
  // Caches `entry` (a node a checkpoint wrote, as its commit published it,
  // or one read from disk into a NewEntry) under `key`; returns it, for the
  // registry to point at, or null when the node is larger than a shard's
  // budget. A node edited in place rather than published compact (a
  // replayed commit, or one applied again to newer nodes) is cached as a
  // compact copy instead.
  std::shared_ptr<CachedNode> Insert(uint64_t key, std::shared_ptr<CachedNode> entry);
  void Erase(uint64_t key);
  // An empty entry in the cache's memory whose node takes its buffers from
  // one block of `bytes` (Node::DecodedBytes): a node read from disk is
  // decoded into it, so that it is one block like the compact copies
  // commits publish, and the arena's blocks freed by the one fit the other
  // (separate buffers never would: the arena keeps a list per size).
  std::shared_ptr<CachedNode> NewEntry(size_t bytes) const;
  // A compact copy of `node` in the cache's memory, outside its budget: a
  // commit publishes its changed nodes so, and reads of nodes no checkpoint
  // has written yet are as quick as reads of cached ones (decision 0018).
  std::shared_ptr<CachedNode> Compact(const Node& node) const;
  // An editable copy of `node` (Node::EditableCopy) in the cache's memory:
  // what a transaction changes. Its blocks come back to the arena's lists
  // when the commit has made its compact copy, for the next transaction's
  // copies, where malloc would sort and merge blocks of these sizes.
  std::shared_ptr<CachedNode> Editable(const Node& node) const;

  // Bytes charged for the nodes held now (node bytes plus bookkeeping).
  uint64_t usage() const;
  uint64_t capacity() const { return capacity_; }

  // What one node is charged: the memory it holds, and its entry's.
  static uint64_t Charge(const Node& node);

 private:
  static constexpr int kShards = 16;
  struct Slot {
    uint64_t key = 0;
    std::shared_ptr<CachedNode> entry;  // null: the slot is free
    uint64_t charge = 0;
  };
  struct Shard {
    Mutex mu;
    std::vector<Slot> slots ABSL_GUARDED_BY(mu);
    std::vector<uint32_t> free ABSL_GUARDED_BY(mu);  // indexes of free slots
    absl::flat_hash_map<uint64_t, uint32_t> index ABSL_GUARDED_BY(mu);
    size_t hand ABSL_GUARDED_BY(mu) = 0;
    uint64_t usage ABSL_GUARDED_BY(mu) = 0;
  };
  static void Evict(Shard& s, uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  // An entry (and its count) built in the cache's memory, keeping it alive.
  template <class... Args>
  std::shared_ptr<CachedNode> MakeEntry(Args&&... args) const;
  // Puts `entry` under `key`, evicting to make room; false when it is larger
  // than a shard's budget.
  bool Admit(uint64_t key, const std::shared_ptr<CachedNode>& entry);
  Shard& ShardFor(uint64_t key) { return shards_[(key * 0x9E3779B97F4A7C15ull) >> 60]; }

  const uint64_t capacity_;
  const std::shared_ptr<std::pmr::memory_resource> memory_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sop

#endif  // SOP_SRC_TXN_NODE_CACHE_H_
