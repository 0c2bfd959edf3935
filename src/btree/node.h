// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// A B+tree node, decoded. Nodes refer to their children by logical node id
// (the registry maps ids to blobs), so a changed node does not rewrite its
// parent. Once published a node version is immutable (shared as NodePtr);
// a write transaction changes private copies.
//
// In memory a node is flat: its keys and values live in one byte buffer,
// indexed by a slot array in key order, so that copying a node for a write
// (copy-on-write) or decoding it from its blob costs a few allocations, not
// two per entry. Edits append to the buffer; the space of erased or
// replaced bytes is reclaimed when it outgrows the live bytes.
//
// Encoding (the content of the node's blob):
//   u8 kind ('L' leaf, 'I' internal), varint entry count n,
//   internal: varint child[0], then n x (varint key length, key, varint dup,
//             varint child[i + 1])
//   leaf:     n x (varint key length, key, varint dup, u8 value kind,
//             varint value length, value)
// `dup` orders entries with equal keys in stores that allow duplicates (0 in
// unique stores). A leaf value is the value's bytes (kind 0) or, for a value
// stored as its own blob, the 16-byte blob id (kind 1).

#ifndef SOP_SRC_BTREE_NODE_H_
#define SOP_SRC_BTREE_NODE_H_

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "util/heap_resource.h"

namespace sop {

enum class ValueKind : uint8_t { kInline = 0, kBlob = 1 };

class Node {
  // The members are in the order a search reads them, not by access: in a
  // cached node's entry (its counts, then the node) `leaf`, the prefix, and
  // the slot, head and key pointers share the first two cache lines, so a
  // descent waits for one or two misses per node, not four.
 public:
  bool leaf = true;

 private:
  struct Slot {
    uint32_t key = 0, key_len = 0;      // offset and length in heap_
    uint32_t value = 0, value_len = 0;  // leaf only
    uint64_t dup = 0;
    ValueKind kind = ValueKind::kInline;
  };
  uint32_t prefix_len_ = 0;
  // The prefix's first bytes, so that a search starts without reading a key.
  char prefix_bytes_[24] = {};
  std::pmr::vector<Slot> slots_;
  // head(i), apart from the slots: a search reads only these, packed eight
  // to a cache line instead of one or two.
  std::pmr::vector<uint64_t> heads_;
  std::pmr::string heap_;

 public:
  std::vector<uint64_t> children;  // internal: size() + 1 ids
  size_t bytes = 8;                // encoded size (approximate by a few bytes), kept current

  // A node on the heap (HeapResource: std::pmr's default resource would ask
  // for aligned memory, several times slower to get and give back).
  Node() : Node(HeapResource::Get()) {}
  // A node whose keys, values and slots live in `memory` (the node cache's
  // arena); its copies live on the heap.
  explicit Node(std::pmr::memory_resource* memory)
      : slots_(memory), heads_(memory), heap_(memory) {}

  size_t size() const { return slots_.size(); }
  absl::string_view key(size_t i) const {
    return {heap_.data() + slots_[i].key, slots_[i].key_len};
  }
  uint64_t dup(size_t i) const { return slots_[i].dup; }
  // Leaf only: the value bytes, or an encoded BlobId.
  absl::string_view value(size_t i) const {
    return {heap_.data() + slots_[i].value, slots_[i].value_len};
  }
  ValueKind kind(size_t i) const { return slots_[i].kind; }

  // For searching without reading the keys' bytes (decision 0011): every key
  // of the node begins with prefix(), and head(i) is the next 8 bytes of key i,
  // big-endian and zero-padded (HeadOf). Two heads that differ order their keys
  // byte-wise; equal heads say nothing.
  absl::string_view prefix() const {
    if (slots_.empty()) return {};
    if (prefix_len_ <= sizeof(prefix_bytes_)) return {prefix_bytes_, prefix_len_};
    return key(0).substr(0, prefix_len_);
  }
  uint64_t head(size_t i) const { return heads_[i]; }
  // Asks for all of the heads' cache lines at once when they are few (a
  // leaf's): a binary search would otherwise miss on them one after another.
  void PrefetchHeads() const { PrefetchHeads(heads_.data(), heads_.size()); }
  // The same for heads found elsewhere (the registry keeps where they are).
  static void PrefetchHeads(const uint64_t* heads, size_t n) {
    constexpr size_t kMaxBytes = 512;
    const size_t size = n * sizeof(uint64_t);
    if (size > kMaxBytes) return;
    const char* p = reinterpret_cast<const char*>(heads);
    for (size_t at = 0; at < size; at += 64) __builtin_prefetch(p + at);
  }
  const uint64_t* heads() const { return heads_.data(); }
  static uint64_t HeadOf(absl::string_view key, size_t prefix_len);
  // Encoded bytes of entry i (with its right child, in an internal node).
  size_t EntryBytes(size_t i) const;

  // Leaf edits; they keep `bytes` current.
  void InsertEntry(size_t i, absl::string_view key, uint64_t dup, absl::string_view value,
                   ValueKind kind);
  void SetValue(size_t i, absl::string_view value, ValueKind kind);
  void EraseEntry(size_t i);
  // Moves entries [from, size) into `right`, which must be empty (either kind
  // of node; an internal node's children are the caller's).
  void MoveTail(size_t from, Node* right);
  // Appends entry i of `other` (its value too, in a leaf).
  void AppendFrom(const Node& other, size_t i);

  // Internal edits: separator i sits between children i and i + 1. These
  // keep `bytes` current.
  void InsertSeparator(size_t i, absl::string_view key, uint64_t dup, uint64_t right_child);
  void EraseSeparator(size_t i);  // and child i + 1
  void SetSeparator(size_t i, absl::string_view key, uint64_t dup);
  // Separator edits that leave `children` and `bytes` to the caller (who
  // then calls Recount): used when children move between nodes too.
  void InsertKey(size_t i, absl::string_view key, uint64_t dup);
  void EraseKey(size_t i);
  void Truncate(size_t n);  // keeps the first n entries

  void Recount();  // recomputes `bytes`
  // Bytes of memory the node holds (its buffers' capacity and itself).
  size_t MemoryBytes() const {
    return sizeof(Node) + heap_.capacity() + slots_.capacity() * sizeof(Slot) +
           (heads_.capacity() + children.capacity()) * sizeof(uint64_t);
  }

  // A copy with room for a few more entries: copy-on-write copies a node to
  // change one entry, and a plain copy has no spare capacity, so its first
  // insert would reallocate (and double) the key heap and the slots.
  // Its buffers come from `memory`.
  Node EditableCopy(std::pmr::memory_resource* memory = HeapResource::Get()) const;
  // A copy in `memory` holding only the bytes in use, with no spare room:
  // what the node cache keeps of a node a checkpoint wrote, and what a
  // commit publishes.
  Node CompactCopy(std::pmr::memory_resource* memory) const { return Node(*this, memory); }
  // The same, built in place (its buffers then never move).
  Node(const Node& other, std::pmr::memory_resource* memory);
  // What a compact copy's buffers take: slots, heads and the bytes in use.
  size_t CompactBytes() const {
    return slots_.size() * (sizeof(Slot) + sizeof(uint64_t)) + heap_.size() - garbage_;
  }

  // The memory DecodeNode(encoded, ...) asks of its resource for the node
  // it builds, so that one block of this size can hold it all (0 when the
  // header is malformed, which the decode then reports).
  static size_t DecodedBytes(absl::string_view encoded);

  friend std::string EncodeNode(const Node& node);
  friend absl::StatusOr<Node> DecodeNode(absl::string_view bytes, absl::string_view where,
                                         std::pmr::memory_resource* memory);

 private:
  // Shortens the prefix, if it must, so that `key` shares it, and returns
  // the head of `key`. Call before `key` joins the slots.
  uint64_t Admit(absl::string_view key);
  void ResetHeads();  // the longest prefix of every key, and their heads
  // Copies `bytes` to the end of heap_ (safe when they are in heap_) and
  // returns their offset.
  uint32_t Store(absl::string_view bytes);
  void Forget(uint32_t len);  // `len` bytes of heap_ are no longer used
  void Reclaim();             // rewrites heap_ with only the bytes in use
  // The bytes of `heap` the slots refer to, packed, in `memory`; points the
  // slots at their new places.
  static std::pmr::string LiveBytes(const std::pmr::string& heap, size_t garbage,
                                    std::pmr::vector<Slot>* slots,
                                    std::pmr::memory_resource* memory);

  size_t garbage_ = 0;  // bytes of heap_ no slot refers to
};

using NodePtr = std::shared_ptr<const Node>;

std::string EncodeNode(const Node& node);
// Never trusts the bytes: any impossible structure gives DataLoss with `where`.
// The node keeps a copy of `bytes`, in `memory`.
absl::StatusOr<Node> DecodeNode(absl::string_view bytes, absl::string_view where,
                                std::pmr::memory_resource* memory = HeapResource::Get());

}  // namespace sop

#endif  // SOP_SRC_BTREE_NODE_H_
