// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// A B+tree node, decoded. Nodes refer to their children by logical node id
// (the registry maps ids to blobs), so a changed node does not rewrite its
// parent. Once published a node version is immutable (shared as NodePtr);
// a write transaction changes private copies.
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
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sop {

enum class ValueKind : uint8_t { kInline = 0, kBlob = 1 };

struct Node {
  bool leaf = true;
  std::vector<std::string> keys;
  std::vector<uint64_t> dups;
  std::vector<std::string> values;  // leaf: value bytes, or an encoded BlobId
  std::vector<ValueKind> kinds;     // leaf
  std::vector<uint64_t> children;   // internal: keys.size() + 1 ids
  size_t bytes = 8;                 // encoded size (approximate by a few bytes), kept current

  size_t size() const { return keys.size(); }

  // Leaf edits.
  void InsertEntry(size_t i, std::string key, uint64_t dup, std::string value, ValueKind kind);
  void SetValue(size_t i, std::string value, ValueKind kind);
  void EraseEntry(size_t i);
  // Internal edits: separator i sits between children i and i + 1.
  void InsertSeparator(size_t i, std::string key, uint64_t dup, uint64_t right_child);
  void EraseSeparator(size_t i);  // and child i + 1
  // Moves entries [from, size) (leaf) into `right`, which must be empty.
  void MoveTail(size_t from, Node* right);
  void Recount();  // recomputes `bytes`

  size_t EntryBytes(size_t i) const;
};

using NodePtr = std::shared_ptr<const Node>;

std::string EncodeNode(const Node& node);
// Never trusts the bytes: any impossible structure gives DataLoss with `where`.
absl::StatusOr<Node> DecodeNode(absl::string_view bytes, absl::string_view where);

}  // namespace sop

#endif  // SOP_SRC_BTREE_NODE_H_
