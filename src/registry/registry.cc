// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "registry/registry.h"

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace sop {

absl::StatusOr<NodePtr> Registry::Resolve(uint64_t id, uint64_t snapshot, BlobId* blob) const {
  const Shard& s = ShardOf(id);
  std::shared_lock lock(s.mu);
  auto it = s.map.find(id);
  if (it != s.map.end()) {
    const auto& versions = it->second;
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->version > snapshot) continue;
      if (v->deleted) break;
      // Asked for now, they arrive while the entry's count is taken (a miss
      // too), instead of after it: the leaf a read reaches is rarely in the
      // CPU's cache.
      Node::PrefetchHeads(v->heads, v->head_count);
      if (v->node != nullptr) return CachedNode::Share(v->node);
      if (std::shared_ptr<CachedNode> c = v->cached.lock()) {
        // Written only when it changes: a store on every hit would pull the
        // entry's line away from the other readers' caches.
        if (!c->referenced.load(std::memory_order_relaxed)) {
          c->referenced.store(true, std::memory_order_relaxed);
        }
        return CachedNode::Share(std::move(c));
      }
      *blob = v->blob;
      return NodePtr();
    }
  }
  return absl::NotFoundError(
      absl::StrCat("node ", id, " is not in the registry at snapshot ", snapshot));
}

void Registry::NoteCached(uint64_t id, BlobId blob, const std::shared_ptr<CachedNode>& cached) {
  Shard& s = ShardOf(id);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return;
  for (NodeVersion& v : it->second) {
    if (v.node == nullptr && v.blob.page == blob.page) {
      v.cached = cached;
      v.Point(cached->node);
    }
  }
}

void Registry::DropHidden(absl::InlinedVector<NodeVersion, 2>* versions, uint64_t oldest,
                          std::vector<BlobId>* dropped) {
  // Keep the newest version <= oldest (what the oldest reader sees) and all after it.
  size_t keep_from = 0;
  for (size_t i = 0; i < versions->size(); ++i) {
    if ((*versions)[i].version <= oldest) keep_from = i;
  }
  for (size_t i = 0; i < keep_from; ++i) {
    if ((*versions)[i].blob.page != 0) dropped->push_back((*versions)[i].blob);
  }
  versions->erase(versions->begin(), versions->begin() + keep_from);
}

uint64_t Registry::Publish(
    uint64_t version, const std::vector<std::pair<uint64_t, std::shared_ptr<CachedNode>>>& nodes,
    const std::vector<uint64_t>& deleted, uint64_t oldest, std::vector<BlobId>* dropped) {
  uint64_t grown = 0;
  for (const auto& [id, node] : nodes) {
    Shard& s = ShardOf(id);
    std::unique_lock lock(s.mu);
    auto& versions = s.map[id];
    uint64_t bytes = node->node.MemoryBytes();
    if (!s.dirty.insert(id).second && !versions.empty() && versions.back().node != nullptr) {
      bytes -= std::min(bytes, versions.back().node->node.MemoryBytes());
    }
    grown += bytes;
    // The versions no snapshot sees go now, not at the next checkpoint: a
    // node every commit changes (the root) would otherwise hold a copy per
    // commit until then.
    DropHidden(&versions, oldest, dropped);
    versions.push_back(NodeVersion{.version = version, .node = node});
    versions.back().Point(node->node);
  }
  for (uint64_t id : deleted) {
    Shard& s = ShardOf(id);
    std::unique_lock lock(s.mu);
    auto& versions = s.map[id];
    DropHidden(&versions, oldest, dropped);
    versions.push_back(NodeVersion{.version = version, .deleted = true});
    s.dirty.insert(id);
  }
  return grown;
}

void Registry::Unpublish(uint64_t version, const std::vector<uint64_t>& ids) {
  for (uint64_t id : ids) {
    Shard& s = ShardOf(id);
    std::unique_lock lock(s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) continue;
    auto& versions = it->second;
    versions.erase(std::remove_if(versions.begin(), versions.end(),
                                  [&](const NodeVersion& v) { return v.version == version; }),
                   versions.end());
    if (it->second.empty()) s.map.erase(it);
  }
}

void Registry::Load(uint64_t id, BlobId blob) {
  Shard& s = ShardOf(id);
  std::unique_lock lock(s.mu);
  s.map[id] = {NodeVersion{.version = 0, .blob = blob}};
}

std::vector<std::pair<uint64_t, NodeVersion>> Registry::TakeDirty() {
  std::vector<std::pair<uint64_t, NodeVersion>> out;
  for (Shard& s : shards_) {
    std::unique_lock lock(s.mu);
    for (uint64_t id : s.dirty) {
      // An id whose only version was taken back (Unpublish) no longer exists.
      if (auto it = s.map.find(id); it != s.map.end()) out.emplace_back(id, it->second.back());
    }
    s.dirty.clear();
  }
  return out;
}

void Registry::MarkWritten(uint64_t id, uint64_t version, BlobId blob,
                           const std::shared_ptr<CachedNode>& cached) {
  Shard& s = ShardOf(id);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return;
  for (NodeVersion& v : it->second) {
    if (v.version == version) {
      v.blob = blob;
      v.node = nullptr;
      v.cached = cached;
      if (cached != nullptr) v.Point(cached->node);
    }
  }
}

void Registry::MarkDirty(uint64_t id) {
  Shard& s = ShardOf(id);
  std::unique_lock lock(s.mu);
  s.dirty.insert(id);
}

void Registry::Trim(uint64_t id, uint64_t oldest, std::vector<BlobId>* dropped) {
  Shard& s = ShardOf(id);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(id);
  if (it != s.map.end()) DropHidden(&it->second, oldest, dropped);
}

bool Registry::Prune(uint64_t id, uint64_t oldest, std::vector<BlobId>* dropped) {
  Shard& s = ShardOf(id);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(id);
  if (it == s.map.end()) return true;
  auto& versions = it->second;
  DropHidden(&versions, oldest, dropped);
  if (versions.size() == 1 && versions[0].deleted && versions[0].version <= oldest) {
    s.map.erase(it);
    return true;
  }
  // Back inline once one version is left: a vector that spilled to the heap
  // while commits added a third version would stay there, and every read
  // of the id would then follow a pointer to a line of its own. (Not at
  // Publish, which pushes another version right after.)
  if (versions.size() == 1) versions.shrink_to_fit();
  return versions.size() == 1;
}

size_t Registry::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.map.size();
  }
  return n;
}

size_t Registry::versions() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    for (const auto& [id, versions] : s.map) n += versions.size();
  }
  return n;
}

}  // namespace sop
