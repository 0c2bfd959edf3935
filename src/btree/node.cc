// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "btree/node.h"

#include "absl/strings/str_cat.h"
#include "util/coding.h"

namespace sop {

size_t Node::EntryBytes(size_t i) const {
  size_t n = VarintLength(keys[i].size()) + keys[i].size() + VarintLength(dups[i]);
  if (leaf) {
    n += 1 + VarintLength(values[i].size()) + values[i].size();
  } else {
    n += VarintLength(children[i + 1]);
  }
  return n;
}

void Node::Recount() {
  bytes = 8;
  for (size_t i = 0; i < keys.size(); ++i) bytes += EntryBytes(i);
}

void Node::InsertEntry(size_t i, std::string key, uint64_t dup, std::string value, ValueKind kind) {
  keys.insert(keys.begin() + i, std::move(key));
  dups.insert(dups.begin() + i, dup);
  values.insert(values.begin() + i, std::move(value));
  kinds.insert(kinds.begin() + i, kind);
  bytes += EntryBytes(i);
}

void Node::SetValue(size_t i, std::string value, ValueKind kind) {
  bytes -= EntryBytes(i);
  values[i] = std::move(value);
  kinds[i] = kind;
  bytes += EntryBytes(i);
}

void Node::EraseEntry(size_t i) {
  bytes -= EntryBytes(i);
  keys.erase(keys.begin() + i);
  dups.erase(dups.begin() + i);
  values.erase(values.begin() + i);
  kinds.erase(kinds.begin() + i);
}

void Node::InsertSeparator(size_t i, std::string key, uint64_t dup, uint64_t right_child) {
  keys.insert(keys.begin() + i, std::move(key));
  dups.insert(dups.begin() + i, dup);
  children.insert(children.begin() + i + 1, right_child);
  bytes += EntryBytes(i);
}

void Node::EraseSeparator(size_t i) {
  bytes -= EntryBytes(i);
  keys.erase(keys.begin() + i);
  dups.erase(dups.begin() + i);
  children.erase(children.begin() + i + 1);
}

void Node::MoveTail(size_t from, Node* right) {
  right->leaf = leaf;
  right->keys.assign(std::make_move_iterator(keys.begin() + from),
                     std::make_move_iterator(keys.end()));
  right->dups.assign(dups.begin() + from, dups.end());
  keys.resize(from);
  dups.resize(from);
  if (leaf) {
    right->values.assign(std::make_move_iterator(values.begin() + from),
                         std::make_move_iterator(values.end()));
    right->kinds.assign(kinds.begin() + from, kinds.end());
    values.resize(from);
    kinds.resize(from);
  }
  Recount();
  right->Recount();
}

std::string EncodeNode(const Node& node) {
  std::string out;
  out.reserve(node.bytes + 16);
  out.push_back(node.leaf ? 'L' : 'I');
  PutVarint64(&out, node.keys.size());
  if (!node.leaf) PutVarint64(&out, node.children[0]);
  for (size_t i = 0; i < node.keys.size(); ++i) {
    PutLengthPrefixed(&out, node.keys[i]);
    PutVarint64(&out, node.dups[i]);
    if (node.leaf) {
      out.push_back(static_cast<char>(node.kinds[i]));
      PutLengthPrefixed(&out, node.values[i]);
    } else {
      PutVarint64(&out, node.children[i + 1]);
    }
  }
  return out;
}

absl::StatusOr<Node> DecodeNode(absl::string_view bytes, absl::string_view where) {
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
  Node node;
  node.leaf = kind == 'L';
  node.keys.reserve(n);
  node.dups.reserve(n);
  if (!node.leaf) {
    uint64_t child;
    if (!d.GetVarint64(&child)) return bad("is truncated");
    node.children.push_back(child);
  }
  for (uint64_t i = 0; i < n; ++i) {
    absl::string_view key;
    uint64_t dup;
    if (!d.GetLengthPrefixed(&key) || !d.GetVarint64(&dup)) return bad("is truncated");
    node.keys.emplace_back(key);
    node.dups.push_back(dup);
    if (node.leaf) {
      uint8_t vk;
      absl::string_view value;
      if (!d.GetByte(&vk) || vk > 1 || !d.GetLengthPrefixed(&value)) return bad("is truncated");
      if (vk == 1 && value.size() != 16) return bad("has a bad value reference");
      node.kinds.push_back(static_cast<ValueKind>(vk));
      node.values.emplace_back(value);
    } else {
      uint64_t child;
      if (!d.GetVarint64(&child)) return bad("is truncated");
      node.children.push_back(child);
    }
  }
  if (!d.empty()) return bad("has trailing bytes");
  node.Recount();
  return node;
}

}  // namespace sop
