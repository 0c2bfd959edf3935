// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// B+tree algorithms over logical node ids. The tree does not know where
// nodes live: it reads them through a NodeSource (a snapshot, or a write
// transaction's view) and changes them through a NodeSink, which hands out
// private copy-on-write versions. The root keeps its id for the tree's whole
// life: a root split pushes the root's contents down into a new child.

#ifndef SOP_SRC_BTREE_BTREE_H_
#define SOP_SRC_BTREE_BTREE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "btree/node.h"
#include "sop/options.h"

namespace sop {

class NodeSource {
 public:
  virtual ~NodeSource() = default;
  virtual absl::StatusOr<NodePtr> Read(uint64_t id) = 0;
  // Node `id`, held by the source itself and valid until the source's next
  // call: a descent that uses each node only until it reads the next takes
  // no reference count per level, an atomic write to a line every reader of
  // that node shares.
  virtual absl::StatusOr<const Node*> Peek(uint64_t id) = 0;
};

class NodeSink : public NodeSource {
 public:
  // A private, changeable version of node `id` (copied on first use).
  virtual absl::StatusOr<Node*> Mutable(uint64_t id) = 0;
  // Registers a new node and returns its id.
  virtual uint64_t Create(Node node) = 0;
  virtual void Free(uint64_t id) = 0;
};

// A position in the tree: one frame per level, root first. For an internal
// frame `index` is the child taken; for the leaf frame it is the entry.
struct TreePath {
  struct Frame {
    uint64_t id;
    NodePtr node;
    size_t index;
  };
  // Inline: a descent pushes a frame a level, and growing a heap vector
  // for that cost allocations on every seek.
  using Frames = absl::InlinedVector<Frame, 8>;
  Frames frames;
  bool valid() const { return !frames.empty() && frames.back().index < frames.back().node->size(); }
  const Node& leaf() const { return *frames.back().node; }
  size_t pos() const { return frames.back().index; }
};

class BTree {
 public:
  // `max_node_bytes`: a node is split when its encoding passes this size.
  BTree(uint64_t root, const Comparator* cmp, size_t max_node_bytes)
      : root_(root),
        cmp_(cmp),
        bytewise_(cmp == BytewiseComparator()),
        max_bytes_(max_node_bytes) {}

  // Orders entries: by key with the comparator, then by dup.
  int Compare(absl::string_view a, uint64_t a_dup, absl::string_view b, uint64_t b_dup) const;

  // The number of entries of `n` ordered before (key, dup), or at or before
  // it when `or_equal`: a binary search.
  size_t Rank(const Node& n, absl::string_view key, uint64_t dup, bool or_equal) const;

  // A point lookup through src.Peek(): *leaf is the leaf where (key, dup)
  // belongs and *index the first of its entries at or after it. Returns
  // false when that is past the leaf's last entry (the next entry at or after
  // the key may start the next leaf; SeekGE finds it). *leaf is valid until
  // src's next call.
  absl::StatusOr<bool> FindInLeaf(NodeSource& src, absl::string_view key, uint64_t dup,
                                  const Node** leaf, size_t* index) const;

  // Cursor movement. After each call path->valid() tells whether it points
  // at an entry.
  absl::Status SeekGE(NodeSource& src, absl::string_view key, uint64_t dup, TreePath* path) const;
  absl::Status SeekFirst(NodeSource& src, TreePath* path) const;
  absl::Status SeekLast(NodeSource& src, TreePath* path) const;
  absl::Status Next(NodeSource& src, TreePath* path) const;
  absl::Status Prev(NodeSource& src, TreePath* path) const;

  // Inserts an entry. One with the same key and dup changes nothing and
  // gives AlreadyExists, with its position in *existing when given (so that
  // a caller replacing it need not descend again).
  absl::Status Insert(NodeSink& sink, absl::string_view key, uint64_t dup, absl::string_view value,
                      ValueKind kind, TreePath* existing = nullptr) const;
  // Replaces the value of the entry `path` points at (a path from SeekGE,
  // or from Insert).
  absl::Status SetValue(NodeSink& sink, const TreePath& path, absl::string_view value,
                        ValueKind kind) const;
  // Removes the entry `path` points at and rebalances.
  absl::Status Erase(NodeSink& sink, const TreePath& path) const;
  // Frees every node but the root and empties the root.
  absl::Status Clear(NodeSink& sink) const;

  // Verifies the whole tree: keys strictly ordered within each node and
  // within the bounds its parent's separators set, every leaf at the same
  // depth, no node empty but the root, every node but the root and those on
  // the right edge (where an append split leaves a small one) at least a
  // quarter full when no entry is itself a quarter of a node, and every node
  // readable (so every blob's checksum verified). DataLoss naming the node.
  struct CheckStats {
    uint64_t nodes = 0, leaves = 0, entries = 0, bytes = 0, depth = 0;
    uint64_t biggest_entry = 0;  // encoded bytes of the largest entry
    uint64_t underfilled = 0;    // id of a non-root node under a quarter full, or 0
  };
  // `progress`, if set, is told the node bytes checked so far, node by node.
  absl::Status Check(NodeSource& src, CheckStats* stats,
                     const std::function<void(uint64_t)>& progress = {}) const;

  uint64_t root() const { return root_; }

 private:
  struct Bound {
    bool set = false;
    absl::string_view key;
    uint64_t dup = 0;
  };
  absl::Status CheckNode(NodeSource& src, uint64_t id, Bound lo, Bound hi, uint64_t depth,
                         int64_t* leaf_depth, CheckStats* stats,
                         const std::function<void(uint64_t)>& progress) const;
  absl::Status Descend(NodeSource& src, TreePath* path, bool rightmost) const;
  absl::Status SplitIfNeeded(NodeSink& sink, TreePath::Frames& path, size_t level) const;
  absl::Status Rebalance(NodeSink& sink, TreePath::Frames& path, size_t level) const;
  // For the overfull leaf `n` (path[level]): moves entries into a neighbour
  // with room instead of splitting, so leaves stay fuller (B*-trees'
  // deferred split). Returns whether that was enough (else the leaf still
  // splits); the parent's separator changes, and its size with it.
  absl::StatusOr<bool> ShiftToNeighbour(NodeSink& sink, TreePath::Frames& path, size_t level,
                                        Node* n) const;
  // For the overfull leaf `n` whose neighbour is full too: makes three
  // leaves of the two, each about two thirds full, instead of splitting `n`
  // into halves (the B*-tree's 2-to-3 split). Returns whether it did; the
  // parent gains a separator.
  absl::StatusOr<bool> SplitTwoIntoThree(NodeSink& sink, TreePath::Frames& path, size_t level,
                                         Node* n) const;
  absl::Status FreeSubtree(NodeSink& sink, uint64_t id) const;

  const uint64_t root_;
  const Comparator* const cmp_;
  const bool bytewise_;
  const size_t max_bytes_;
};

}  // namespace sop

#endif  // SOP_SRC_BTREE_BTREE_H_
