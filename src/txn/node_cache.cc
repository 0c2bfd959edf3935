// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/node_cache.h"

#include <utility>

namespace sop {

namespace {

// Allocates from a memory resource it keeps alive: a shared_ptr's control
// block holds a copy, so the resource outlives the entry built in it.
template <class T>
struct SharingAllocator {
  using value_type = T;
  explicit SharingAllocator(std::shared_ptr<std::pmr::memory_resource> r)
      : resource(std::move(r)) {}
  template <class U>
  SharingAllocator(const SharingAllocator<U>& other) : resource(other.resource) {}  // NOLINT
  T* allocate(size_t n) { return static_cast<T*>(resource->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, size_t n) { resource->deallocate(p, n * sizeof(T), alignof(T)); }
  template <class U>
  bool operator==(const SharingAllocator<U>& other) const {
    return resource == other.resource;
  }
  std::shared_ptr<std::pmr::memory_resource> resource;
};

}  // namespace

NodeCache::NodeCache(uint64_t capacity_bytes, std::shared_ptr<std::pmr::memory_resource> memory)
    : capacity_(capacity_bytes), memory_(std::move(memory)) {}

template <class... Args>
std::shared_ptr<CachedNode> NodeCache::MakeEntry(Args&&... args) const {
  return std::allocate_shared<CachedNode>(SharingAllocator<CachedNode>(memory_),
                                          std::forward<Args>(args)...);
}

std::shared_ptr<CachedNode> NodeCache::Compact(const Node& node) const {
  return MakeEntry(node, memory_.get());
}

std::shared_ptr<CachedNode> NodeCache::Editable(const Node& node) const {
  return MakeEntry(node.EditableCopy(memory_.get()));
}

uint64_t NodeCache::Charge(const Node& node) {
  // The entry and its shared_ptr control block besides the node.
  return node.MemoryBytes() + 64;
}

NodePtr NodeCache::Lookup(uint64_t key) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return nullptr;
  const std::shared_ptr<CachedNode>& entry = s.slots[it->second].entry;
  entry->referenced.store(true, std::memory_order_relaxed);
  return CachedNode::Share(entry);
}

void NodeCache::Evict(Shard& s, uint32_t slot) {
  Slot& victim = s.slots[slot];
  s.usage -= victim.charge;
  s.index.erase(victim.key);
  victim = Slot();
  s.free.push_back(slot);
}

std::shared_ptr<CachedNode> NodeCache::Insert(uint64_t key, std::shared_ptr<CachedNode> entry) {
  if (!entry->compact()) entry = Compact(entry->node);
  return Admit(key, entry) ? entry : nullptr;
}

std::shared_ptr<CachedNode> NodeCache::NewEntry(size_t bytes) const {
  return MakeEntry(bytes, memory_.get());
}

bool NodeCache::Admit(uint64_t key, const std::shared_ptr<CachedNode>& entry) {
  Shard& s = ShardFor(key);
  uint64_t charge = Charge(entry->node);
  uint64_t shard_capacity = capacity_ / kShards;
  MutexLock lock(&s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) Evict(s, it->second);
  if (charge > shard_capacity) return false;  // would evict everything for one node
  // Make room first, so that the new node is not its own victim. Two turns
  // of the hand clear every mark, so the loop ends.
  for (size_t steps = 0; s.usage + charge > shard_capacity && steps < 2 * s.slots.size(); ++steps) {
    if (s.hand >= s.slots.size()) s.hand = 0;
    Slot& slot = s.slots[s.hand];
    // A marked slot loses its mark and gets a second chance.
    if (slot.entry != nullptr &&
        !slot.entry->referenced.exchange(false, std::memory_order_relaxed)) {
      Evict(s, static_cast<uint32_t>(s.hand));
    }
    ++s.hand;
  }
  uint32_t index;
  if (!s.free.empty()) {
    index = s.free.back();
    s.free.pop_back();
  } else {
    index = static_cast<uint32_t>(s.slots.size());
    s.slots.emplace_back();
  }
  s.slots[index] = Slot{key, entry, charge};
  s.index[key] = index;
  s.usage += charge;
  return true;
}

void NodeCache::Erase(uint64_t key) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.index.find(key);
  if (it != s.index.end()) Evict(s, it->second);
}

uint64_t NodeCache::usage() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) {
    MutexLock lock(const_cast<Mutex*>(&s.mu));
    total += s.usage;
  }
  return total;
}

}  // namespace sop
