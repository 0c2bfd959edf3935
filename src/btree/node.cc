// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "btree/node.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace sop {

size_t Node::EntryBytes(size_t i) const {
  const Slot& s = slots_[i];
  size_t n = VarintLength(s.key_len) + s.key_len + VarintLength(s.dup);
  if (leaf) {
    n += 1 + VarintLength(s.value_len) + s.value_len;
  } else if (i + 1 < children.size()) {
    n += VarintLength(children[i + 1]);
  }
  return n;
}

uint64_t Node::HeadOf(absl::string_view key, size_t prefix_len) {
  uint64_t h = 0;
  const size_t n = std::min<size_t>(8, key.size() - prefix_len);
  for (size_t i = 0; i < n; ++i) {
    h |= uint64_t{static_cast<uint8_t>(key[prefix_len + i])} << (56 - 8 * i);
  }
  return h;
}

uint64_t Node::Admit(absl::string_view key) {
  if (slots_.empty()) {
    prefix_len_ = key.size();
    std::memcpy(prefix_bytes_, key.data(), std::min(key.size(), sizeof(prefix_bytes_)));
    return 0;
  }
  const absl::string_view p = prefix();
  size_t common = 0;
  const size_t limit = std::min(p.size(), key.size());
  while (common < limit && p[common] == key[common]) ++common;
  if (common < prefix_len_) {
    prefix_len_ = common;
    for (size_t i = 0; i < slots_.size(); ++i) heads_[i] = HeadOf(this->key(i), common);
  }
  return HeadOf(key, prefix_len_);
}

void Node::ResetHeads() {
  heads_.resize(slots_.size());
  if (slots_.empty()) return;
  const absl::string_view first = key(0);
  size_t len = first.size();
  for (size_t i = 1; i < slots_.size() && len > 0; ++i) {
    const absl::string_view k = key(i);
    size_t common = 0;
    const size_t limit = std::min(len, k.size());
    while (common < limit && first[common] == k[common]) ++common;
    len = common;
  }
  prefix_len_ = len;
  std::memcpy(prefix_bytes_, first.data(), std::min(len, sizeof(prefix_bytes_)));
  for (size_t i = 0; i < slots_.size(); ++i) heads_[i] = HeadOf(key(i), len);
}

void Node::Recount() {
  bytes = 8;
  for (size_t i = 0; i < slots_.size(); ++i) bytes += EntryBytes(i);
}

uint32_t Node::Store(absl::string_view b) {
  if (b.empty()) return 0;
  if (b.data() >= heap_.data() && b.data() < heap_.data() + heap_.size()) {
    std::string copy(b);  // appending may move heap_ under `b`
    return Store(copy);
  }
  uint32_t at = static_cast<uint32_t>(heap_.size());
  heap_.append(b.data(), b.size());
  return at;
}

Node Node::EditableCopy(std::pmr::memory_resource* memory) const {
  constexpr size_t kSpareBytes = 512, kSpareSlots = 4;
  Node copy(memory);
  copy.leaf = leaf;
  copy.children.reserve(children.size() + (leaf ? 0 : kSpareSlots));
  copy.children = children;
  copy.bytes = bytes;
  copy.heap_.reserve(heap_.size() + kSpareBytes);
  copy.heap_ = heap_;
  copy.slots_.reserve(slots_.size() + kSpareSlots);
  copy.slots_ = slots_;
  copy.heads_.reserve(heads_.size() + kSpareSlots);
  copy.heads_ = heads_;
  copy.garbage_ = garbage_;
  copy.prefix_len_ = prefix_len_;
  std::memcpy(copy.prefix_bytes_, prefix_bytes_, sizeof(prefix_bytes_));
  return copy;
}

Node::Node(const Node& other, std::pmr::memory_resource* memory)
    : leaf(other.leaf),
      prefix_len_(other.prefix_len_),
      slots_(other.slots_.begin(), other.slots_.end(), memory),
      heads_(memory),
      heap_(LiveBytes(other.heap_, other.garbage_, &slots_, memory)),
      children(other.children),
      bytes(other.bytes) {
  // Slots, then bytes, then heads: the order of the allocations is the
  // order in memory when `memory` is a BlockResource.
  heads_.assign(other.heads_.begin(), other.heads_.end());
  std::memcpy(prefix_bytes_, other.prefix_bytes_, sizeof(prefix_bytes_));
}

void Node::Forget(uint32_t len) {
  garbage_ += len;
  if (garbage_ > 1024 && garbage_ > heap_.size() / 2) Reclaim();
}

std::pmr::string Node::LiveBytes(const std::pmr::string& heap, size_t garbage,
                                 std::pmr::vector<Slot>* slots, std::pmr::memory_resource* memory) {
  // Nothing to drop: one copy, the slots stay as they are. (A commit's
  // compact copy of a leaf it added to is this case, once per leaf.)
  if (garbage == 0) return std::pmr::string(heap, memory);
  size_t size = 0;
  for (const Slot& s : *slots) size += s.key_len + s.value_len;
  // Appended rather than sized and overwritten: sizing would write zeros
  // over every byte first.
  std::pmr::string live(memory);
  live.reserve(size);
  for (Slot& s : *slots) {
    const uint32_t key = s.key;
    s.key = static_cast<uint32_t>(live.size());
    live.append(heap.data() + key, s.key_len);
    const uint32_t value = s.value;
    s.value = static_cast<uint32_t>(live.size());
    live.append(heap.data() + value, s.value_len);
  }
  return live;
}

void Node::Reclaim() {
  heap_ = LiveBytes(heap_, garbage_, &slots_, heap_.get_allocator().resource());
  garbage_ = 0;
}

void Node::InsertEntry(size_t i, absl::string_view key, uint64_t dup, absl::string_view value,
                       ValueKind kind) {
  Slot s;
  const uint64_t head = Admit(key);
  s.key = Store(key);
  s.key_len = static_cast<uint32_t>(key.size());
  s.value = Store(value);
  s.value_len = static_cast<uint32_t>(value.size());
  s.dup = dup;
  s.kind = kind;
  slots_.insert(slots_.begin() + i, s);
  heads_.insert(heads_.begin() + i, head);
  bytes += EntryBytes(i);
}

void Node::SetValue(size_t i, absl::string_view value, ValueKind kind) {
  bytes -= EntryBytes(i);
  Slot& s = slots_[i];
  const uint32_t old = s.value_len;
  if (value.size() <= old) {
    if (!value.empty()) std::memmove(heap_.data() + s.value, value.data(), value.size());
  } else {
    s.value = Store(value);
  }
  s.value_len = static_cast<uint32_t>(value.size());
  s.kind = kind;
  bytes += EntryBytes(i);
  // Last: reclaiming rewrites heap_ from the slots, which must be current.
  Forget(value.size() <= old ? old - s.value_len : old);
}

void Node::EraseEntry(size_t i) {
  bytes -= EntryBytes(i);
  uint32_t len = slots_[i].key_len + slots_[i].value_len;
  slots_.erase(slots_.begin() + i);
  heads_.erase(heads_.begin() + i);
  Forget(len);
}

void Node::MoveTail(size_t from, Node* right) {
  right->leaf = leaf;
  for (size_t i = from; i < slots_.size(); ++i) right->AppendFrom(*this, i);
  Truncate(from);
  Recount();
  right->Recount();
}

void Node::AppendFrom(const Node& other, size_t i) {
  Slot s = other.slots_[i];
  const uint64_t head = Admit(other.key(i));
  s.key = Store(other.key(i));
  s.value = Store(other.value(i));
  slots_.push_back(s);
  heads_.push_back(head);
}

void Node::InsertSeparator(size_t i, absl::string_view key, uint64_t dup, uint64_t right_child) {
  InsertKey(i, key, dup);
  children.insert(children.begin() + i + 1, right_child);
  bytes += EntryBytes(i);
}

void Node::EraseSeparator(size_t i) {
  bytes -= EntryBytes(i);
  EraseKey(i);
  children.erase(children.begin() + i + 1);
}

void Node::SetSeparator(size_t i, absl::string_view key, uint64_t dup) {
  bytes -= EntryBytes(i);
  uint32_t old = slots_[i].key_len;
  const uint64_t head = Admit(key);
  uint32_t at = Store(key);
  heads_[i] = head;
  slots_[i].key = at;
  slots_[i].key_len = static_cast<uint32_t>(key.size());
  slots_[i].dup = dup;
  bytes += EntryBytes(i);
  Forget(old);
}

void Node::InsertKey(size_t i, absl::string_view key, uint64_t dup) {
  Slot s;
  const uint64_t head = Admit(key);
  s.key = Store(key);
  s.key_len = static_cast<uint32_t>(key.size());
  s.dup = dup;
  slots_.insert(slots_.begin() + i, s);
  heads_.insert(heads_.begin() + i, head);
}

void Node::EraseKey(size_t i) {
  uint32_t len = slots_[i].key_len;
  slots_.erase(slots_.begin() + i);
  heads_.erase(heads_.begin() + i);
  Forget(len);
}

void Node::Truncate(size_t n) {
  uint32_t len = 0;
  for (size_t i = n; i < slots_.size(); ++i) len += slots_[i].key_len + slots_[i].value_len;
  slots_.resize(n);
  heads_.resize(n);
  Forget(len);
}

std::string EncodeNode(const Node& node) {
  std::string out;
  out.reserve(node.bytes + 16);
  out.push_back(node.leaf ? 'L' : 'I');
  PutVarint64(&out, node.size());
  if (!node.leaf) PutVarint64(&out, node.children[0]);
  for (size_t i = 0; i < node.size(); ++i) {
    PutLengthPrefixed(&out, node.key(i));
    PutVarint64(&out, node.dup(i));
    if (node.leaf) {
      out.push_back(static_cast<char>(node.kind(i)));
      PutLengthPrefixed(&out, node.value(i));
    } else {
      PutVarint64(&out, node.children[i + 1]);
    }
  }
  return out;
}

size_t Node::DecodedBytes(absl::string_view encoded) {
  Decoder d(encoded);
  uint8_t kind;
  uint64_t n;
  if (!d.GetByte(&kind) || !d.GetVarint64(&n) || n > encoded.size() / 3) return 0;
  // The slots, the encoding with a string's terminator, the heads (in
  // DecodeNode's order); an internal node's children are on the heap.
  return n * sizeof(Slot) + encoded.size() + 1 + n * sizeof(uint64_t);
}

absl::StatusOr<Node> DecodeNode(absl::string_view bytes, absl::string_view where,
                                std::pmr::memory_resource* memory) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(where, ": B-tree node ", what));
  };
  Decoder d(bytes);
  uint8_t kind;
  uint64_t n;
  if (!d.GetByte(&kind) || (kind != 'L' && kind != 'I') || !d.GetVarint64(&n)) {
    return bad("has a bad header");
  }
  // Every entry takes at least 3 bytes: never reserve from an unchecked count.
  if (n > bytes.size() / 3) return bad("claims more entries than its size allows");
  if (bytes.size() > UINT32_MAX) return bad("is larger than 4 GiB");
  Node node(memory);
  node.leaf = kind == 'L';
  // The slots point into the encoding itself, copied in at the end.
  node.slots_.reserve(n);
  auto offset = [&](absl::string_view part) {
    return static_cast<uint32_t>(part.data() - bytes.data());
  };
  if (!node.leaf) {
    node.children.reserve(n + 1);
    uint64_t child;
    if (!d.GetVarint64(&child)) return bad("is truncated");
    node.children.push_back(child);
  }
  size_t live = 0;
  for (uint64_t i = 0; i < n; ++i) {
    absl::string_view key;
    Node::Slot s;
    if (!d.GetLengthPrefixed(&key) || !d.GetVarint64(&s.dup)) return bad("is truncated");
    s.key = offset(key);
    s.key_len = static_cast<uint32_t>(key.size());
    if (node.leaf) {
      uint8_t vk;
      absl::string_view value;
      if (!d.GetByte(&vk) || vk > 1 || !d.GetLengthPrefixed(&value)) return bad("is truncated");
      if (vk == 1 && value.size() != 16) return bad("has a bad value reference");
      s.kind = static_cast<ValueKind>(vk);
      s.value = offset(value);
      s.value_len = static_cast<uint32_t>(value.size());
    } else {
      uint64_t child;
      if (!d.GetVarint64(&child)) return bad("is truncated");
      node.children.push_back(child);
    }
    live += s.key_len + s.value_len;
    node.slots_.push_back(s);
  }
  if (!d.empty()) return bad("has trailing bytes");
  node.garbage_ = bytes.size() - live;
  node.heap_.assign(bytes.data(), bytes.size());
  node.ResetHeads();
  node.Recount();
  return node;
}

}  // namespace sop
