// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/node_cache.h"

namespace sop {

NodeCache::NodeCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

uint64_t NodeCache::Charge(const Node& node) {
  // std::string (32 B) per key and value, 8 B per dup/child, the Node itself.
  uint64_t per_entry = node.leaf ? 32 + 32 + 8 + 1 : 32 + 8 + 8;
  return node.bytes + per_entry * node.size() + sizeof(Node) + 64;
}

NodePtr NodeCache::Lookup(uint64_t key) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->node;
}

void NodeCache::Insert(uint64_t key, NodePtr node) {
  Shard& s = ShardFor(key);
  uint64_t charge = Charge(*node);
  uint64_t shard_capacity = capacity_ / kShards;
  MutexLock lock(&s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) {
    s.usage -= it->second->charge;
    s.lru.erase(it->second);
    s.index.erase(it);
  }
  if (charge > shard_capacity) return;  // would evict everything for one node
  s.lru.push_front({key, std::move(node), charge});
  s.index[key] = s.lru.begin();
  s.usage += charge;
  while (s.usage > shard_capacity && !s.lru.empty()) {
    Entry& victim = s.lru.back();
    s.usage -= victim.charge;
    s.index.erase(victim.key);
    s.lru.pop_back();
  }
}

void NodeCache::Erase(uint64_t key) {
  Shard& s = ShardFor(key);
  MutexLock lock(&s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return;
  s.usage -= it->second->charge;
  s.lru.erase(it->second);
  s.index.erase(it);
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
