// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "btree/btree.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sop {
namespace {

absl::Status Corrupt(uint64_t id, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("B-tree node ", id, ": ", what));
}

}  // namespace

int BTree::Compare(absl::string_view a, uint64_t a_dup, absl::string_view b, uint64_t b_dup) const {
  // The common comparator without a virtual call.
  int c = bytewise_ ? a.compare(b) : cmp_->Compare(a, b);
  if (c != 0) return c;
  return a_dup < b_dup ? -1 : (a_dup > b_dup ? 1 : 0);
}

size_t BTree::Rank(const Node& n, absl::string_view key, uint64_t dup, bool or_equal) const {
  size_t lo = 0, hi = n.size();
  if (!bytewise_ || hi == 0) {
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      const int c = Compare(n.key(mid), n.dup(mid), key, dup);
      (or_equal ? c <= 0 : c < 0) ? lo = mid + 1 : hi = mid;
    }
    return lo;
  }
  // Byte-wise: the node's keys share a prefix, and their next 8 bytes are in
  // the slots (decision 0011), so most steps compare two integers and never
  // touch a key's bytes, a cache miss each.
  n.PrefetchHeads();
  const absl::string_view prefix = n.prefix();
  const size_t common = std::min(key.size(), prefix.size());
  int c = common == 0 ? 0 : std::memcmp(key.data(), prefix.data(), common);
  if (c == 0 && key.size() < prefix.size()) c = -1;
  if (c != 0) return c < 0 ? 0 : hi;
  const uint64_t head = Node::HeadOf(key, prefix.size());
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const uint64_t h = n.head(mid);
    bool before;
    if (h != head) {
      before = h < head;
    } else {
      const int d = Compare(n.key(mid), n.dup(mid), key, dup);
      before = or_equal ? d <= 0 : d < 0;
    }
    before ? lo = mid + 1 : hi = mid;
  }
  return lo;
}

absl::Status BTree::Descend(NodeSource& src, TreePath* path, bool rightmost) const {
  // Extends path from its last (internal) frame down to a leaf, always taking
  // the first or the last child.
  while (!path->frames.back().node->leaf) {
    const TreePath::Frame& f = path->frames.back();
    if (f.index >= f.node->children.size()) return Corrupt(f.id, "child index out of range");
    uint64_t child = f.node->children[f.index];
    auto node = src.Read(child);
    if (!node.ok()) return node.status();
    size_t n = (*node)->leaf ? (*node)->size() : (*node)->children.size();
    size_t index = rightmost ? (n == 0 ? 0 : n - 1) : 0;
    if (path->frames.size() > 64) return Corrupt(child, "tree is deeper than 64 levels");
    path->frames.push_back({child, *std::move(node), index});
  }
  return absl::OkStatus();
}

absl::Status BTree::SeekGE(NodeSource& src, absl::string_view key, uint64_t dup,
                           TreePath* path) const {
  path->frames.clear();
  auto node = src.Read(root_);
  if (!node.ok()) return node.status();
  uint64_t id = root_;
  NodePtr n = *std::move(node);
  for (;;) {
    if (n->leaf) {
      const size_t lo = Rank(*n, key, dup, false);
      path->frames.push_back({id, n, lo});
      if (lo < n->size()) return absl::OkStatus();
      // Everything here is smaller: the answer starts the next leaf.
      path->frames.back().index = n->size() == 0 ? 0 : n->size() - 1;
      if (n->size() == 0) return absl::OkStatus();
      return Next(src, path);
    }
    // Child i holds entries in [sep[i-1], sep[i]): take the number of separators <= target.
    const size_t lo = Rank(*n, key, dup, true);
    if (lo >= n->children.size()) return Corrupt(id, "fewer children than separators");
    path->frames.push_back({id, n, lo});
    if (path->frames.size() > 64) return Corrupt(id, "tree is deeper than 64 levels");
    id = n->children[lo];
    auto child = src.Read(id);
    if (!child.ok()) return child.status();
    n = *std::move(child);
  }
}

absl::StatusOr<bool> BTree::FindInLeaf(NodeSource& src, absl::string_view key, uint64_t dup,
                                       const Node** leaf, size_t* index) const {
  uint64_t id = root_;
  for (int depth = 0;; ++depth) {
    auto node = src.Peek(id);
    if (!node.ok()) return node.status();
    const Node* n = *node;
    if (n->leaf) {
      *leaf = n;
      *index = Rank(*n, key, dup, false);
      return *index < n->size() || n->size() == 0;
    }
    if (depth >= 64) return Corrupt(id, "tree is deeper than 64 levels");
    const size_t lo = Rank(*n, key, dup, true);
    if (lo >= n->children.size()) return Corrupt(id, "fewer children than separators");
    id = n->children[lo];
  }
}

absl::Status BTree::SeekFirst(NodeSource& src, TreePath* path) const {
  path->frames.clear();
  auto node = src.Read(root_);
  if (!node.ok()) return node.status();
  path->frames.push_back({root_, *std::move(node), 0});
  return Descend(src, path, false);
}

absl::Status BTree::SeekLast(NodeSource& src, TreePath* path) const {
  path->frames.clear();
  auto node = src.Read(root_);
  if (!node.ok()) return node.status();
  const Node& root = **node;
  size_t n = root.leaf ? root.size() : root.children.size();
  path->frames.push_back({root_, *std::move(node), n == 0 ? 0 : n - 1});
  return Descend(src, path, true);
}

absl::Status BTree::Next(NodeSource& src, TreePath* path) const {
  if (path->frames.empty()) return absl::OkStatus();
  TreePath::Frame& leaf = path->frames.back();
  if (leaf.index + 1 < leaf.node->size()) {
    ++leaf.index;
    return absl::OkStatus();
  }
  for (size_t level = path->frames.size() - 1; level-- > 0;) {
    TreePath::Frame& f = path->frames[level];
    if (f.index + 1 < f.node->children.size()) {
      ++f.index;
      path->frames.resize(level + 1);
      return Descend(src, path, false);
    }
  }
  leaf.index = leaf.node->size();  // past the end: invalid
  return absl::OkStatus();
}

absl::Status BTree::Prev(NodeSource& src, TreePath* path) const {
  if (path->frames.empty()) return absl::OkStatus();
  TreePath::Frame& leaf = path->frames.back();
  if (leaf.index > 0 && leaf.index <= leaf.node->size()) {
    --leaf.index;
    return absl::OkStatus();
  }
  for (size_t level = path->frames.size() - 1; level-- > 0;) {
    TreePath::Frame& f = path->frames[level];
    if (f.index > 0) {
      --f.index;
      path->frames.resize(level + 1);
      return Descend(src, path, true);
    }
  }
  path->frames.clear();  // before the beginning: invalid
  return absl::OkStatus();
}

absl::Status BTree::Insert(NodeSink& sink, absl::string_view key, uint64_t dup,
                           absl::string_view value, ValueKind kind, TreePath* existing) const {
  // Descend to the leaf that must hold the entry (no stepping to the next leaf).
  TreePath::Frames path;
  uint64_t id = root_;
  for (;;) {
    auto node = sink.Read(id);
    if (!node.ok()) return node.status();
    const Node& n = **node;
    const bool leaf = n.leaf;
    const size_t lo = Rank(n, key, dup, !leaf);
    path.push_back({id, *node, lo});
    if (leaf) {
      if (lo < n.size() && Compare(n.key(lo), n.dup(lo), key, dup) == 0) {
        if (existing != nullptr) existing->frames = std::move(path);
        return absl::AlreadyExistsError("entry exists");
      }
      break;
    }
    if (lo >= n.children.size()) return Corrupt(id, "fewer children than separators");
    if (path.size() > 64) return Corrupt(id, "tree is deeper than 64 levels");
    id = n.children[lo];
  }
  auto leaf = sink.Mutable(path.back().id);
  if (!leaf.ok()) return leaf.status();
  (*leaf)->InsertEntry(path.back().index, key, dup, value, kind);
  return SplitIfNeeded(sink, path, path.size() - 1);
}

absl::Status BTree::SplitIfNeeded(NodeSink& sink, TreePath::Frames& path, size_t level) const {
  auto mut = sink.Mutable(path[level].id);
  if (!mut.ok()) return mut.status();
  Node* n = *mut;
  // An internal split moves one separator up, so it needs three to leave
  // both halves a separator; a node of two huge separators stays oversized.
  if (n->bytes <= max_bytes_ || n->size() < (n->leaf ? 2u : 3u)) return absl::OkStatus();
  // Appending at the right edge of the tree (ascending keys: bulk loads,
  // counters, timestamps) splits off only the new entry, so the nodes left
  // behind stay full instead of half full; SQLite and LMDB do the same.
  bool append = path[level].index == n->size() - 1;
  for (size_t i = 0; append && i < level; ++i) {
    append = path[i].node != nullptr && path[i].index == path[i].node->size();
  }
  if (!append && n->leaf && level > 0) {
    auto shifted = ShiftToNeighbour(sink, path, level, n);
    if (!shifted.ok()) return shifted.status();
    if (*shifted) return SplitIfNeeded(sink, path, level - 1);
    auto split = SplitTwoIntoThree(sink, path, level, n);
    if (!split.ok()) return split.status();
    if (*split) return SplitIfNeeded(sink, path, level - 1);
  }
  if (level == 0) {
    // The root keeps its id: its contents move down into a new child.
    uint64_t child = sink.Create(std::move(*n));
    *n = Node();
    n->leaf = false;
    n->children = {child};
    n->Recount();
    path.insert(path.begin() + 1, {child, nullptr, path[0].index});
    path[0].index = 0;
    level = 1;
    auto moved = sink.Mutable(child);
    if (!moved.ok()) return moved.status();
    n = *moved;
  }
  // Split where the bytes are halved, or before the appended entry.
  size_t m = n->size();
  if (!append) {
    size_t half = n->bytes / 2, acc = 0;
    for (m = 0; m < n->size() && acc < half;) acc += n->EntryBytes(m++);
  }
  m = std::clamp<size_t>(m, 1, n->size() - (n->leaf ? 1 : 2));
  Node right;
  std::string sep_key;
  uint64_t sep_dup;
  if (n->leaf) {
    n->MoveTail(m, &right);
    sep_key = std::string(right.key(0));
    sep_dup = right.dup(0);
  } else {
    // Separator m moves up; those after it, and their children, go right.
    sep_key = std::string(n->key(m));
    sep_dup = n->dup(m);
    right.children.assign(n->children.begin() + m + 1, n->children.end());
    n->MoveTail(m + 1, &right);
    n->Truncate(m);
    n->children.resize(m + 1);
    n->Recount();
    right.Recount();
  }
  uint64_t right_id = sink.Create(std::move(right));
  auto parent = sink.Mutable(path[level - 1].id);
  if (!parent.ok()) return parent.status();
  (*parent)->InsertSeparator(path[level - 1].index, sep_key, sep_dup, right_id);
  return SplitIfNeeded(sink, path, level - 1);
}

absl::StatusOr<bool> BTree::ShiftToNeighbour(NodeSink& sink, TreePath::Frames& path, size_t level,
                                             Node* n) const {
  // Only when the two leaves together stay below 31/32 full: a neighbour
  // with less room than that would overflow again at once; split instead.
  auto parent = sink.Read(path[level - 1].id);
  if (!parent.ok()) return parent.status();
  const size_t ci = path[level - 1].index;
  const size_t room = 2 * max_bytes_ * 31 / 32;
  for (bool right : {true, false}) {
    if (right ? ci + 1 >= (*parent)->children.size() : ci == 0) continue;
    const uint64_t sibling_id = (*parent)->children[right ? ci + 1 : ci - 1];
    auto sibling = sink.Read(sibling_id);
    if (!sibling.ok()) return sibling.status();
    if (!(*sibling)->leaf) return Corrupt(path[level - 1].id, "children on different levels");
    if ((*sibling)->bytes + n->bytes > room) continue;
    auto pm = sink.Mutable(path[level - 1].id);
    if (!pm.ok()) return pm.status();
    auto sm = sink.Mutable(sibling_id);
    if (!sm.ok()) return sm.status();
    Node* p = *pm;
    Node* sib = *sm;
    // Move entries from the near end of this leaf until the two are even.
    while (n->size() > 1) {
      size_t from = right ? n->size() - 1 : 0;
      size_t entry = n->EntryBytes(from);
      if (n->bytes <= max_bytes_ && n->bytes - entry < sib->bytes + entry) break;
      if (sib->bytes + entry > max_bytes_) break;  // huge entries: split instead
      sib->InsertEntry(right ? 0 : sib->size(), n->key(from), n->dup(from), n->value(from),
                       n->kind(from));
      n->EraseEntry(from);
    }
    const Node* r = right ? sib : n;
    const size_t sep = right ? ci : ci - 1;
    p->SetSeparator(sep, r->key(0), r->dup(0));
    return n->bytes <= max_bytes_;
  }
  return false;
}

absl::StatusOr<bool> BTree::SplitTwoIntoThree(NodeSink& sink, TreePath::Frames& path, size_t level,
                                              Node* n) const {
  auto parent = sink.Read(path[level - 1].id);
  if (!parent.ok()) return parent.status();
  const size_t ci = path[level - 1].index;
  const bool right = ci + 1 < (*parent)->children.size();
  if (!right && ci == 0) return false;  // an only child
  const uint64_t sibling_id = (*parent)->children[right ? ci + 1 : ci - 1];
  auto sibling = sink.Read(sibling_id);
  if (!sibling.ok()) return sibling.status();
  if (!(*sibling)->leaf) return Corrupt(path[level - 1].id, "children on different levels");
  // Only for a full neighbour (else halves are as good) and small entries
  // (so that each third comes out near its share and under the limit).
  const Node* candidates[] = {n, sibling->get()};
  if ((*sibling)->bytes < max_bytes_ * 3 / 4) return false;
  for (const Node* c : candidates) {
    for (size_t i = 0; i < c->size(); ++i) {
      if (c->EntryBytes(i) > max_bytes_ / 8) return false;
    }
  }
  auto pm = sink.Mutable(path[level - 1].id);
  if (!pm.ok()) return pm.status();
  auto sm = sink.Mutable(sibling_id);
  if (!sm.ok()) return sm.status();
  Node* left_node = right ? n : *sm;
  Node* right_node = right ? *sm : n;
  const size_t third = (left_node->bytes + right_node->bytes) / 3;
  // The middle leaf: the tail of the left one, then the head of the right one.
  size_t m = 0, kept = 0;
  while (m < left_node->size() && kept < third) kept += left_node->EntryBytes(m++);
  Node middle;
  left_node->MoveTail(m, &middle);
  while (middle.bytes < third && right_node->size() > 1) {
    middle.InsertEntry(middle.size(), right_node->key(0), right_node->dup(0), right_node->value(0),
                       right_node->kind(0));
    right_node->EraseEntry(0);
  }
  if (middle.size() == 0) return Corrupt(path[level].id, "a leaf too small to split in three");
  const size_t sep = right ? ci : ci - 1;  // the separator between the two
  Node* p = *pm;
  p->SetSeparator(sep, right_node->key(0), right_node->dup(0));
  const std::string middle_key(middle.key(0));
  const uint64_t middle_dup = middle.dup(0);
  p->InsertSeparator(sep, middle_key, middle_dup, sink.Create(std::move(middle)));
  return true;
}

absl::Status BTree::SetValue(NodeSink& sink, const TreePath& path, absl::string_view value,
                             ValueKind kind) const {
  TreePath::Frames frames = path.frames;
  auto leaf = sink.Mutable(frames.back().id);
  if (!leaf.ok()) return leaf.status();
  size_t before = (*leaf)->bytes;
  (*leaf)->SetValue(frames.back().index, value, kind);
  // A longer value may overfill the leaf, a shorter one underfill it; one as
  // long changes nothing around it (and spares reading the neighbours).
  if ((*leaf)->bytes > before) return SplitIfNeeded(sink, frames, frames.size() - 1);
  if ((*leaf)->bytes == before) return absl::OkStatus();
  return Rebalance(sink, frames, frames.size() - 1);
}

absl::Status BTree::Erase(NodeSink& sink, const TreePath& path) const {
  TreePath::Frames frames = path.frames;
  auto leaf = sink.Mutable(frames.back().id);
  if (!leaf.ok()) return leaf.status();
  (*leaf)->EraseEntry(frames.back().index);
  return Rebalance(sink, frames, frames.size() - 1);
}

absl::Status BTree::Rebalance(NodeSink& sink, TreePath::Frames& path, size_t level) const {
  if (level == 0) {
    // A root with one child hands its place to that child's contents.
    for (;;) {
      auto root = sink.Mutable(root_);
      if (!root.ok()) return root.status();
      Node* r = *root;
      if (r->leaf || r->size() > 0) return absl::OkStatus();
      uint64_t child_id = r->children[0];
      auto child = sink.Mutable(child_id);
      if (!child.ok()) return child.status();
      Node moved = std::move(**child);
      sink.Free(child_id);
      *r = std::move(moved);
    }
  }
  const size_t min_bytes = max_bytes_ / 4;
  auto self = sink.Read(path[level].id);
  if (!self.ok()) return self.status();
  auto pread = sink.Read(path[level - 1].id);
  if (!pread.ok()) return pread.status();
  const Node& parent = **pread;
  if (parent.children.size() < 2) return Rebalance(sink, path, level - 1);
  size_t ci = path[level - 1].index;
  size_t li;
  bool merge_only = false;
  if ((*self)->bytes >= min_bytes && ((*self)->leaf || (*self)->size() > 0)) {
    // This node is fine, but a small neighbour it can now absorb (one that
    // was kept small by a huge entry here, since removed) is merged.
    auto small_fits = [&](size_t sibling, size_t sep) -> absl::StatusOr<bool> {
      auto sib = sink.Read(parent.children[sibling]);
      if (!sib.ok()) return sib.status();
      size_t sep_bytes = (*sib)->leaf ? 0 : parent.EntryBytes(sep);
      return (*sib)->bytes < min_bytes && (*sib)->bytes + (*self)->bytes + sep_bytes <= max_bytes_;
    };
    if (ci > 0) {
      auto fits = small_fits(ci - 1, ci - 1);
      if (!fits.ok()) return fits.status();
      if (*fits) {
        li = ci - 1;
        merge_only = true;
      }
    }
    if (!merge_only && ci + 1 < parent.children.size()) {
      auto fits = small_fits(ci + 1, ci);
      if (!fits.ok()) return fits.status();
      if (*fits) {
        li = ci;
        merge_only = true;
      }
    }
    if (!merge_only) return absl::OkStatus();
  } else {
    li = ci > 0 ? ci - 1 : 0;
  }
  auto pmut = sink.Mutable(path[level - 1].id);
  if (!pmut.ok()) return pmut.status();
  Node* p = *pmut;
  uint64_t left_id = p->children[li], right_id = p->children[li + 1];
  auto lm = sink.Mutable(left_id);
  if (!lm.ok()) return lm.status();
  auto rm = sink.Mutable(right_id);
  if (!rm.ok()) return rm.status();
  Node* l = *lm;
  Node* r = *rm;
  if (l->leaf != r->leaf) return Corrupt(path[level - 1].id, "children on different levels");
  size_t sep_bytes = l->leaf ? 0 : p->EntryBytes(li);
  if (l->bytes + r->bytes + sep_bytes <= max_bytes_) {
    // Merge right into left.
    if (!l->leaf) {
      l->InsertKey(l->size(), p->key(li), p->dup(li));
      l->children.insert(l->children.end(), r->children.begin(), r->children.end());
    }
    for (size_t i = 0; i < r->size(); ++i) l->AppendFrom(*r, i);
    l->Recount();
    p->EraseSeparator(li);
    sink.Free(right_id);
    path[level - 1].index = li;
    return Rebalance(sink, path, level - 1);
  }
  if (merge_only) return absl::OkStatus();
  // Redistribute one entry at a time towards the smaller side.
  const size_t parent_before = p->bytes;
  for (;;) {
    bool left_bigger = l->bytes > r->bytes;
    Node* big = left_bigger ? l : r;
    Node* small = left_bigger ? r : l;
    if (small->bytes >= min_bytes && (small->leaf || small->size() > 0)) break;
    if (big->size() <= 1) break;
    size_t moving = left_bigger ? big->size() - 1 : 0;
    if (big->bytes - big->EntryBytes(moving) < small->bytes + big->EntryBytes(moving) &&
        small->size() > 0) {
      break;  // moving more would only swap which side is small
    }
    if (l->leaf) {
      size_t from = left_bigger ? l->size() - 1 : 0;
      size_t to = left_bigger ? 0 : l->size();
      Node* src = left_bigger ? l : r;
      Node* dst = left_bigger ? r : l;
      dst->InsertEntry(to, src->key(from), src->dup(from), src->value(from), src->kind(from));
      src->EraseEntry(from);
      p->SetSeparator(li, r->key(0), r->dup(0));
    } else if (left_bigger) {
      // The parent's separator comes down to the right; the left's last goes up.
      size_t last = l->size() - 1;
      r->InsertKey(0, p->key(li), p->dup(li));
      r->children.insert(r->children.begin(), l->children.back());
      p->SetSeparator(li, l->key(last), l->dup(last));
      l->Truncate(last);
      l->children.pop_back();
    } else {
      l->InsertKey(l->size(), p->key(li), p->dup(li));
      l->children.push_back(r->children.front());
      p->SetSeparator(li, r->key(0), r->dup(0));
      r->EraseKey(0);
      r->children.erase(r->children.begin());
    }
    l->Recount();
    r->Recount();
  }
  p->Recount();
  // The parent's separator changed: longer may overfill it, shorter underfill it.
  if (p->bytes > parent_before) return SplitIfNeeded(sink, path, level - 1);
  return Rebalance(sink, path, level - 1);
}

absl::Status BTree::Check(NodeSource& src, CheckStats* stats,
                          const std::function<void(uint64_t)>& progress) const {
  int64_t leaf_depth = -1;
  *stats = CheckStats();
  if (auto st = CheckNode(src, root_, Bound(), Bound(), 0, &leaf_depth, stats, progress);
      !st.ok()) {
    return st;
  }
  // Fill is guaranteed while entries are small next to a node; a key can be
  // as big as a node, and then an even split or merge may be impossible.
  if (stats->underfilled != 0 && stats->biggest_entry * 4 < max_bytes_) {
    return Corrupt(stats->underfilled, "under a quarter full");
  }
  return absl::OkStatus();
}

absl::Status BTree::CheckNode(NodeSource& src, uint64_t id, Bound lo, Bound hi, uint64_t depth,
                              int64_t* leaf_depth, CheckStats* stats,
                              const std::function<void(uint64_t)>& progress) const {
  if (depth > 64) return Corrupt(id, "tree is deeper than 64 levels");
  auto read = src.Read(id);
  if (!read.ok()) return read.status();
  const Node& n = **read;
  ++stats->nodes;
  stats->bytes += n.bytes;
  if (progress) progress(stats->bytes);
  if (!n.leaf && n.children.size() != n.size() + 1) {
    return Corrupt(id, "children and separators do not match");
  }
  bool root = id == root_;
  if (root && !n.leaf && n.size() == 0) return Corrupt(id, "root with a single child");
  if (!root && n.leaf && n.size() == 0) return Corrupt(id, "empty leaf below the root");
  for (size_t i = 0; i < n.size(); ++i) {
    stats->biggest_entry = std::max<uint64_t>(stats->biggest_entry, n.EntryBytes(i));
  }
  // The right edge is exempt: an append split leaves a small node there.
  bool right_edge = !hi.set;
  if (!root && !right_edge && n.bytes * 4 < max_bytes_ && stats->underfilled == 0) {
    stats->underfilled = id;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    if (i > 0 && Compare(n.key(i - 1), n.dup(i - 1), n.key(i), n.dup(i)) >= 0) {
      return Corrupt(id, absl::StrCat("entries ", i - 1, " and ", i, " out of order"));
    }
    if (lo.set && Compare(n.key(i), n.dup(i), lo.key, lo.dup) < 0) {
      return Corrupt(id, absl::StrCat("entry ", i, " below its parent's separator"));
    }
    if (hi.set && Compare(n.key(i), n.dup(i), hi.key, hi.dup) >= 0) {
      return Corrupt(id, absl::StrCat("entry ", i, " not below its parent's next separator"));
    }
  }
  if (n.leaf) {
    ++stats->leaves;
    stats->entries += n.size();
    if (*leaf_depth < 0) *leaf_depth = static_cast<int64_t>(depth);
    if (*leaf_depth != static_cast<int64_t>(depth)) {
      return Corrupt(id, "leaves at different depths");
    }
    stats->depth = depth + 1;
    return absl::OkStatus();
  }
  for (size_t i = 0; i < n.children.size(); ++i) {
    Bound child_lo = i == 0 ? lo : Bound{true, n.key(i - 1), n.dup(i - 1)};
    Bound child_hi = i == n.size() ? hi : Bound{true, n.key(i), n.dup(i)};
    if (auto st = CheckNode(src, n.children[i], child_lo, child_hi, depth + 1, leaf_depth, stats,
                            progress);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status BTree::FreeSubtree(NodeSink& sink, uint64_t id) const {
  auto node = sink.Read(id);
  if (!node.ok()) return node.status();
  if (!(*node)->leaf) {
    for (uint64_t child : (*node)->children) {
      if (auto st = FreeSubtree(sink, child); !st.ok()) return st;
    }
  }
  sink.Free(id);
  return absl::OkStatus();
}

absl::Status BTree::Clear(NodeSink& sink) const {
  auto root = sink.Read(root_);
  if (!root.ok()) return root.status();
  if (!(*root)->leaf) {
    for (uint64_t child : (*root)->children) {
      if (auto st = FreeSubtree(sink, child); !st.ok()) return st;
    }
  }
  auto mut = sink.Mutable(root_);
  if (!mut.ok()) return mut.status();
  **mut = Node();
  return absl::OkStatus();
}

}  // namespace sop
