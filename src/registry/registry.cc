// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "registry/registry.h"

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace sop {

absl::StatusOr<NodePtr> Registry::Resolve(uint64_t id, uint64_t snapshot, BlobId* blob) const {
  std::shared_lock lock(mu_);
  auto it = map_.find(id);
  if (it != map_.end()) {
    const auto& versions = it->second;
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->version > snapshot) continue;
      if (v->deleted) break;
      if (v->node != nullptr) return v->node;
      if (std::shared_ptr<CachedNode> c = v->cached.lock()) {
        c->referenced.store(true, std::memory_order_relaxed);
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
  std::unique_lock lock(mu_);
  auto it = map_.find(id);
  if (it == map_.end()) return;
  for (NodeVersion& v : it->second) {
    if (v.node == nullptr && v.blob.page == blob.page) v.cached = cached;
  }
}

void Registry::Publish(uint64_t version, const std::vector<std::pair<uint64_t, NodePtr>>& nodes,
                       const std::vector<uint64_t>& deleted) {
  std::unique_lock lock(mu_);
  for (const auto& [id, node] : nodes) {
    map_[id].push_back(NodeVersion{version, BlobId{}, node, false});
    dirty_.insert(id);
  }
  for (uint64_t id : deleted) {
    map_[id].push_back(NodeVersion{version, BlobId{}, nullptr, true});
    dirty_.insert(id);
  }
}

void Registry::Unpublish(uint64_t version, const std::vector<uint64_t>& ids) {
  std::unique_lock lock(mu_);
  for (uint64_t id : ids) {
    auto it = map_.find(id);
    if (it == map_.end()) continue;
    auto& versions = it->second;
    versions.erase(std::remove_if(versions.begin(), versions.end(),
                                  [&](const NodeVersion& v) { return v.version == version; }),
                   versions.end());
    if (it->second.empty()) map_.erase(it);
  }
}

void Registry::Load(uint64_t id, BlobId blob) {
  std::unique_lock lock(mu_);
  map_[id] = {NodeVersion{0, blob, nullptr, false}};
}

std::vector<std::pair<uint64_t, NodeVersion>> Registry::TakeDirty() {
  std::unique_lock lock(mu_);
  std::vector<std::pair<uint64_t, NodeVersion>> out;
  out.reserve(dirty_.size());
  for (uint64_t id : dirty_) {
    // An id whose only version was taken back (Unpublish) no longer exists.
    if (auto it = map_.find(id); it != map_.end()) out.emplace_back(id, it->second.back());
  }
  dirty_.clear();
  return out;
}

void Registry::MarkWritten(uint64_t id, uint64_t version, BlobId blob,
                           const std::shared_ptr<CachedNode>& cached) {
  std::unique_lock lock(mu_);
  auto it = map_.find(id);
  if (it == map_.end()) return;
  for (NodeVersion& v : it->second) {
    if (v.version == version) {
      v.blob = blob;
      v.node = nullptr;
      v.cached = cached;
    }
  }
}

void Registry::MarkDirty(uint64_t id) {
  std::unique_lock lock(mu_);
  dirty_.insert(id);
}

bool Registry::Prune(uint64_t id, uint64_t oldest) {
  std::unique_lock lock(mu_);
  auto it = map_.find(id);
  if (it == map_.end()) return true;
  auto& versions = it->second;
  // Keep the newest version <= oldest (what the oldest reader sees) and all after it.
  size_t keep_from = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].version <= oldest) keep_from = i;
  }
  versions.erase(versions.begin(), versions.begin() + keep_from);
  if (versions.size() == 1 && versions[0].deleted && versions[0].version <= oldest) {
    map_.erase(it);
    return true;
  }
  return versions.size() == 1;
}

size_t Registry::size() const {
  std::shared_lock lock(mu_);
  return map_.size();
}

size_t Registry::versions() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [id, versions] : map_) n += versions.size();
  return n;
}

}  // namespace sop
