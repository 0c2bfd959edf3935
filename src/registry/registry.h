// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The registry maps a logical node id to the node's versions (DESIGN.md 2.3).
// Each commit publishes new versions under its commit version number; a
// reader holding snapshot S resolves every id to the newest version <= S, so
// readers never see a half-applied commit and never wait for a writer beyond
// a short shared lock. Versions no snapshot can see any more are pruned.
//
// A version lives in memory (`node`) until a checkpoint writes it to a blob
// (`blob`); after that the node may be dropped and re-read through the node
// cache. Persisting the id -> blob map is the database's checkpoint's job.

#ifndef SOP_SRC_REGISTRY_REGISTRY_H_
#define SOP_SRC_REGISTRY_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "btree/node.h"
#include "sop/backend.h"
#include "util/block_resource.h"

namespace sop {

// A node with its entry: what a transaction changes, what a commit publishes
// and what the node cache holds. A checkpoint hands the cache the very entry
// the commit published, so a written node is not copied again. The registry
// points at a cached entry weakly, so that a read finds a cached node with
// one lookup, and an eviction needs no word back: the pointer just expires.
struct CachedNode {
  // The node is built into the entry: entry and node are one allocation, so
  // a read reaches the node with one cache miss less. It keeps its buffers.
  explicit CachedNode(Node&& n) : memory(0, std::pmr::null_memory_resource()), node(std::move(n)) {}
  // A compact copy of `n`, its buffers in one block of `upstream`.
  CachedNode(const Node& n, std::pmr::memory_resource* upstream)
      : memory(n.CompactBytes() + kBlockSlack, upstream), node(n, &memory) {}
  // An empty node whose buffers come from one block of `bytes` (and the
  // slack) of `upstream`: a node read from disk is decoded into it.
  CachedNode(size_t bytes, std::pmr::memory_resource* upstream)
      : memory(bytes + kBlockSlack, upstream), node(&memory) {}

  // Room for the alignment of the buffers and a string's terminator.
  static constexpr size_t kBlockSlack = 64;

  // Built in one block: a compact copy, or a node decoded into it.
  bool compact() const { return memory.size() > 0; }

  // The node, kept alive by `self` (this entry) rather than by a count of
  // its own.
  static NodePtr Share(std::shared_ptr<CachedNode> self) {
    const Node* n = &self->node;
    return NodePtr(std::move(self), n);
  }

  BlockResource memory;  // empty (and refusing) for a node moved in
  // Changed only by the transaction that made it, before its commit
  // publishes it; read-only from then on.
  Node node;
  std::atomic<bool> referenced{false};  // hit since the cache's hand last passed
};

// What a read looks at comes first, `blob` (needed only on a cache miss)
// last: with the id before it, a map slot's first cache line then holds all
// a cached read needs.
struct NodeVersion {
  uint64_t version = 0;              // the commit that made it; 0 = loaded from disk
  std::shared_ptr<CachedNode> node;  // held while unwritten; may be null once written
  std::weak_ptr<CachedNode> cached;  // once written: the cache's entry, while it lasts
  // Where the node in memory keeps its key heads, and how many: a read asks
  // for them while it waits for the entry, not after. Only ever prefetched
  // (a stale address is harmless).
  const uint64_t* heads = nullptr;
  uint32_t head_count = 0;
  bool deleted = false;
  BlobId blob;  // page 0 until a checkpoint writes this version

  void Point(const Node& n) {
    heads = n.heads();
    head_count = static_cast<uint32_t>(n.size());
  }
};

class Registry {
 public:
  // The version of `id` a reader at `snapshot` sees: its node if it is in
  // memory (unwritten, or in the node cache, whose entry it then marks as
  // hit), else null with its blob in *blob. NotFound if the id did not exist
  // at that snapshot (or was deleted by then).
  absl::StatusOr<NodePtr> Resolve(uint64_t id, uint64_t snapshot, BlobId* blob) const;

  // The node of `id` stored in `blob` is now cached as `cached`.
  void NoteCached(uint64_t id, BlobId blob, const std::shared_ptr<CachedNode>& cached);

  // Installs one commit's changes as versions numbered `version`, dropping
  // the versions of those ids no snapshot >= `oldest` can see. `version`
  // must be above every live snapshot and `oldest`.
  //
  // Returns how much the memory held by unwritten nodes grew: a node already
  // dirty since the last TakeDirty() counts only by what its new version
  // adds, so that commits editing the same leaves again do not bring a
  // checkpoint on sooner than the memory they hold calls for. Versions a
  // long reader pins are not counted.
  //
  // The blobs of written versions it drops are added to *dropped: what the
  // node cache holds of them no reader can reach any more.
  uint64_t Publish(uint64_t version,
                   const std::vector<std::pair<uint64_t, std::shared_ptr<CachedNode>>>& nodes,
                   const std::vector<uint64_t>& deleted, uint64_t oldest,
                   std::vector<BlobId>* dropped);

  // Takes back what Publish(version, ...) installed for `ids` (a commit
  // that never reached the log).
  void Unpublish(uint64_t version, const std::vector<uint64_t>& ids);

  // At open: `id` is stored in `blob` (version 0).
  void Load(uint64_t id, BlobId blob);

  // Ids changed since the last TakeDirty(), and their newest versions.
  std::vector<std::pair<uint64_t, NodeVersion>> TakeDirty();

  // After a checkpoint wrote version `version` of `id` to `blob`: records
  // the blob and lets go of the node, which the cache holds as `cached`
  // (null if it would not take it).
  void MarkWritten(uint64_t id, uint64_t version, BlobId blob,
                   const std::shared_ptr<CachedNode>& cached);

  // Puts `id` back on the dirty list (a checkpoint that failed).
  void MarkDirty(uint64_t id);

  // Drops the versions of `id` that no snapshot >= `oldest` can see, but
  // never the id itself: a deletion stays until a checkpoint has recorded
  // it (Prune). The blobs of written versions it drops are added to
  // *dropped, as by Publish.
  void Trim(uint64_t id, uint64_t oldest, std::vector<BlobId>* dropped);

  // For a checkpoint, after it recorded the ids it took: drops the versions
  // of `id` that no snapshot >= `oldest` can see, and the whole entry if its
  // newest version is a deletion nobody can see past.
  // Returns true when nothing older is left to prune later. The blobs of
  // written versions it drops are added to *dropped, as by Publish.
  bool Prune(uint64_t id, uint64_t oldest, std::vector<BlobId>* dropped);

  size_t size() const;
  // Versions held over all ids (walks the map).
  size_t versions() const;

 private:
  // Split by id, each part under its own lock: readers on two threads do not
  // take turns on one lock's cache line, and a commit publishing a few nodes
  // holds off only readers of the same part. A commit's versions need not
  // appear in all parts at once: they are invisible until it is published.
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    // Oldest first. An id has one version, or two from a commit that
    // changed it until the first commit after every reader has passed it
    // trims the older: kept inline, a lookup touches one slot of the table
    // instead of following a pointer.
    absl::flat_hash_map<uint64_t, absl::InlinedVector<NodeVersion, 2>> map;
    absl::flat_hash_set<uint64_t> dirty;
  };
  static constexpr size_t kShards = 16;
  static void DropHidden(absl::InlinedVector<NodeVersion, 2>* versions, uint64_t oldest,
                         std::vector<BlobId>* dropped);
  Shard& ShardOf(uint64_t id) const { return shards_[id % kShards]; }

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace sop

#endif  // SOP_SRC_REGISTRY_REGISTRY_H_
