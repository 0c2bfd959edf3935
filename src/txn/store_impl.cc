// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/store_impl.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "txn/transaction_impl.h"

namespace sop {
namespace {

// The smallest string greater than every string starting with `prefix`, or
// nullopt when there is none (a prefix of 0xFF bytes).
std::optional<std::string> PrefixSuccessor(absl::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<uint8_t>(s.back()) == 0xFF) s.pop_back();
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
  return s;
}

class CursorImpl final : public Cursor {
 public:
  CursorImpl(RawStoreImpl* store, const CursorOptions& options)
      : store_(store),
        cmp_(store->comparator()),
        prefix_(options.prefix),
        range_(store->txn()->NewReadRange(store->name(), store->comparator())) {
    lower_ = options.lower_bound;
    upper_ = options.upper_bound;
    if (!prefix_.empty()) {
      if (!lower_ || cmp_->Compare(*lower_, prefix_) < 0) lower_ = prefix_;
      auto succ = PrefixSuccessor(prefix_);
      if (succ && (!upper_ || cmp_->Compare(*succ, *upper_) < 0)) upper_ = succ;
    }
  }

  void Seek(absl::string_view key) override {
    if (lower_ && cmp_->Compare(key, *lower_) < 0) key = *lower_;
    Cover(key);
    Run([&](TreePath* p) { return tree().SeekGE(source(), key, 0, p); }, /*forward=*/true);
  }

  void SeekForPrev(absl::string_view key) override {
    if (upper_ && cmp_->Compare(key, *upper_) >= 0) {
      SeekBeforeUpper();
      return;
    }
    Cover(key);
    Run(
        [&](TreePath* p) {
          if (auto st = tree().SeekGE(source(), key, UINT64_MAX, p); !st.ok()) return st;
          return tree().Prev(source(), p);
        },
        /*forward=*/false);
  }

  void SeekToFirst() override {
    if (lower_) {
      Seek(*lower_);
    } else {
      CoverFromStart();
      Run([&](TreePath* p) { return tree().SeekFirst(source(), p); }, /*forward=*/true);
    }
  }

  void SeekToLast() override {
    if (upper_) {
      SeekBeforeUpper();
    } else {
      CoverToEnd();
      Run([&](TreePath* p) { return tree().SeekLast(source(), p); }, /*forward=*/false);
    }
  }

  void Next() override {
    if (!Valid()) return;
    Run(
        [&](TreePath* p) {
          if (auto st = Resync(p); !st.ok()) return st;
          if (landed_on_saved_) return tree().Next(source(), p);
          return absl::OkStatus();  // the saved entry is gone: we stand on its successor
        },
        /*forward=*/true);
  }

  void Prev() override {
    if (!Valid()) return;
    Run(
        [&](TreePath* p) {
          if (auto st = Resync(p); !st.ok()) return st;
          return tree().Prev(source(), p);
        },
        /*forward=*/false);
  }

  bool Valid() const override {
    if (!status_.ok() || !path_.valid()) return false;
    absl::string_view k = path_.leaf().key(path_.pos());
    if (lower_ && cmp_->Compare(k, *lower_) < 0) return false;
    if (upper_ && cmp_->Compare(k, *upper_) >= 0) return false;
    return prefix_.empty() || absl::StartsWith(k, prefix_);
  }

  absl::string_view key() const override { return path_.leaf().key(path_.pos()); }

  absl::string_view value() const override {
    const Node& leaf = path_.leaf();
    size_t i = path_.pos();
    if (leaf.kind(i) == ValueKind::kInline) return leaf.value(i);
    if (auto st = store_->LoadValue(leaf.value(i), leaf.kind(i), &value_); !st.ok()) {
      status_ = st;
      value_.clear();
    }
    return value_;
  }

  absl::Status status() const override { return status_; }

 private:
  const BTree& tree() const { return store_->tree(); }
  NodeSource& source() { return *store_->txn(); }

  // Serializable transactions: widen the range this cursor has read.
  void Cover(absl::string_view key) {
    if (!range_) return;
    if (range_->empty) {
      range_->lo = std::string(key);
      range_->hi = std::string(key);
      range_->empty = false;
      return;
    }
    if (range_->lo && cmp_->Compare(key, *range_->lo) < 0) range_->lo = std::string(key);
    if (range_->hi && cmp_->Compare(key, *range_->hi) > 0) range_->hi = std::string(key);
  }
  void CoverFromStart() {
    if (!range_) return;
    if (range_->empty) range_->hi = std::nullopt;
    range_->empty = false;
    range_->lo = std::nullopt;
  }
  void CoverToEnd() {
    if (!range_) return;
    if (range_->empty) range_->lo = std::nullopt;
    range_->empty = false;
    range_->hi = std::nullopt;
  }

  // Runs a movement, then remembers where it landed so that a change made
  // by the transaction meanwhile can be stepped around.
  template <typename Move>
  void Run(Move move, bool forward) {
    if (auto st = store_->txn()->CheckActive(); !st.ok()) {
      status_ = st;
      path_.frames.clear();
      return;
    }
    status_ = move(&path_);
    if (!status_.ok()) {
      path_.frames.clear();
      return;
    }
    epoch_ = store_->txn()->epoch();
    if (path_.valid()) {
      absl::string_view key = path_.leaf().key(path_.pos());
      // Only a read-write transaction changes the tree under the cursor
      // (Resync); a read-only one never needs the key again.
      if (store_->txn()->mode() == TxnMode::kReadWrite) {
        saved_key_.assign(key.data(), key.size());  // reuses the buffer: no allocation a step
        saved_dup_ = path_.leaf().dup(path_.pos());
      }
      Cover(key);
    } else if (forward) {
      CoverToEnd();  // it looked all the way to the end
    } else {
      CoverFromStart();
    }
  }

  // If the transaction changed the tree since the cursor moved, the path's
  // nodes may be stale: find the saved entry (or its successor) again.
  absl::Status Resync(TreePath* p) {
    landed_on_saved_ = true;
    if (epoch_ == store_->txn()->epoch()) return absl::OkStatus();
    if (auto st = tree().SeekGE(source(), saved_key_, saved_dup_, p); !st.ok()) return st;
    landed_on_saved_ =
        p->valid() && tree().Compare(p->leaf().key(p->pos()), p->leaf().dup(p->pos()), saved_key_,
                                     saved_dup_) == 0;
    return absl::OkStatus();
  }

  void SeekBeforeUpper() {
    Cover(*upper_);
    Run(
        [&](TreePath* p) {
          if (auto st = tree().SeekGE(source(), *upper_, 0, p); !st.ok()) return st;
          return tree().Prev(source(), p);
        },
        /*forward=*/false);
  }

  RawStoreImpl* const store_;
  const Comparator* const cmp_;
  const std::string prefix_;
  const std::shared_ptr<TransactionImpl::ReadRange> range_;  // serializable only
  std::optional<std::string> lower_, upper_;
  TreePath path_;
  uint64_t epoch_ = 0;
  std::string saved_key_;
  uint64_t saved_dup_ = 0;
  bool landed_on_saved_ = true;
  mutable absl::Status status_;
  mutable std::string value_;
};

class ValueReaderImpl final : public ValueReader {
 public:
  ValueReaderImpl(TransactionImpl* txn, std::string inline_value)
      : txn_(txn), inline_(std::move(inline_value)), size_(inline_.size()) {}
  ValueReaderImpl(TransactionImpl* txn, BlobId blob) : txn_(txn), blob_(blob), size_(blob.size) {}

  uint64_t size() const override { return size_; }

  absl::Status Read(uint64_t offset, absl::Span<char> dst) override {
    if (auto st = txn_->CheckActive(); !st.ok()) return st;
    if (offset > size_ || dst.size() > size_ - offset) {
      return absl::InvalidArgumentError(absl::StrCat("range ", offset, "+", dst.size(),
                                                     " is outside the value of ", size_, " bytes"));
    }
    if (blob_.page == 0) {
      std::memcpy(dst.data(), inline_.data() + offset, dst.size());
      return absl::OkStatus();
    }
    return txn_->db()->ReadStoredRange(blob_, offset, dst);
  }

  absl::StatusOr<absl::string_view> View() override {
    if (auto st = txn_->CheckActive(); !st.ok()) return st;
    if (blob_.page == 0) {
      auto copy = std::make_shared<const std::string>(inline_);
      txn_->Pin(copy);
      return absl::string_view(*copy);
    }
    auto view = txn_->db()->ViewStored(blob_);
    if (!view.ok()) return view.status();
    absl::string_view data = (*view)->data();
    txn_->Pin(*std::move(view));
    return data;
  }

 private:
  TransactionImpl* const txn_;
  const std::string inline_;
  const BlobId blob_;
  const uint64_t size_;
};

}  // namespace

class ValueWriterImpl final : public ValueWriter {
 public:
  ValueWriterImpl(RawStoreImpl* store, std::string key, uint64_t size,
                  std::unique_ptr<BlobWriter> blob)
      : store_(store), key_(std::move(key)), size_(size), blob_(std::move(blob)) {}

  absl::Status Append(absl::string_view data) override {
    if (auto st = store_->CheckUsable(true); !st.ok()) return st;
    if (finished_ || data.size() > size_ - written_) {
      return absl::InvalidArgumentError(absl::StrCat("value writer: ", written_ + data.size(),
                                                     " bytes exceed the declared ", size_));
    }
    written_ += data.size();
    if (blob_ == nullptr) {
      buffer_.append(data.data(), data.size());
      return absl::OkStatus();
    }
    return blob_->Append(data);
  }

  absl::Status Finish() override {
    if (auto st = store_->CheckUsable(true); !st.ok()) return st;
    if (finished_ || written_ != size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("value writer: ", written_, " of ", size_, " declared bytes written"));
    }
    finished_ = true;
    if (blob_ == nullptr) return store_->PutStored(key_, std::move(buffer_), ValueKind::kInline);
    auto id = blob_->Finish();
    if (!id.ok()) return id.status();
    store_->txn()->AddValueBlob(*id);
    return store_->PutStored(key_, EncodeBlobId(*id), ValueKind::kBlob);
  }

 private:
  RawStoreImpl* const store_;
  const std::string key_;
  const uint64_t size_;
  const std::unique_ptr<BlobWriter> blob_;  // null: small enough to live in the node
  std::string buffer_;
  uint64_t written_ = 0;
  bool finished_ = false;
};

RawStoreImpl::RawStoreImpl(TransactionImpl* txn, std::string name, StoreMeta meta,
                           const Comparator* cmp)
    : txn_(txn),
      name_(std::move(name)),
      meta_(std::move(meta)),
      cmp_(cmp),
      tree_(meta_.root, cmp, kMaxNodeBytes) {}

absl::Status RawStoreImpl::CheckUsable(bool write) const {
  if (auto st = write ? txn_->CheckWritable() : txn_->CheckActive(); !st.ok()) return st;
  if (dropped_) return absl::InvalidArgumentError(absl::StrCat("store ", name_, " was dropped"));
  return absl::OkStatus();
}

absl::Status RawStoreImpl::CheckKeyValue(absl::string_view key, absl::string_view value) const {
  if (key.size() > kMaxKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("key of ", key.size(), " bytes exceeds the limit of ", kMaxKeySize));
  }
  if (value.size() > kMaxValueSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("value of ", value.size(), " bytes exceeds the limit of 2^40"));
  }
  return absl::OkStatus();
}

absl::Status RawStoreImpl::Find(absl::string_view key, TreePath* path, bool* found) {
  if (auto st = tree_.SeekGE(*txn_, key, 0, path); !st.ok()) return st;
  *found = path->valid() && cmp_->Compare(path->leaf().key(path->pos()), key) == 0;
  return absl::OkStatus();
}

absl::Status RawStoreImpl::LoadValue(absl::string_view stored, ValueKind kind, std::string* value) {
  if (kind == ValueKind::kInline) {
    value->assign(stored.data(), stored.size());
    return absl::OkStatus();
  }
  BlobId id;
  if (!DecodeBlobId(stored, &id)) {
    return absl::DataLossError(absl::StrCat("store ", name_, ": malformed value reference"));
  }
  auto bytes = txn_->db()->ReadStored(id);
  if (!bytes.ok()) return bytes.status();
  *value = *std::move(bytes);
  return absl::OkStatus();
}

absl::Status RawStoreImpl::StoreValue(absl::string_view value, std::string* stored,
                                      ValueKind* kind) {
  if (value.size() <= meta_.max_value_in_node) {
    *stored = std::string(value);
    *kind = ValueKind::kInline;
    return absl::OkStatus();
  }
  auto writer = txn_->db()->blobs().NewWriter(value.size());
  if (!writer.ok()) return writer.status();
  if (auto st = (*writer)->Append(value); !st.ok()) return st;
  auto id = (*writer)->Finish();
  if (!id.ok()) return id.status();
  txn_->AddValueBlob(*id);
  *stored = EncodeBlobId(*id);
  *kind = ValueKind::kBlob;
  return absl::OkStatus();
}

void RawStoreImpl::DropStored(const Node& leaf, size_t i) {
  if (leaf.kind(i) != ValueKind::kBlob) return;
  BlobId id;
  if (DecodeBlobId(leaf.value(i), &id)) txn_->DropValueBlob(id);
}

absl::Status RawStoreImpl::Write(OpType type, absl::string_view key, std::string stored,
                                 ValueKind kind) {
  TreePath path;
  bool found = false;
  if (type != OpType::kAdd && type != OpType::kPut) {
    if (auto st = Find(key, &path, &found); !st.ok()) return st;
  }
  switch (type) {
    case OpType::kAdd:
    case OpType::kPut: {
      if (!meta_.unique) {
        return tree_.Insert(*txn_, std::string(key), txn_->db()->NewDup(), stored, kind);
      }
      // One descent: the insert finds the entry it would replace, if any.
      absl::Status st = tree_.Insert(*txn_, std::string(key), 0, stored, kind, &path);
      if (!absl::IsAlreadyExists(st) || !path.valid()) return st;
      if (type == OpType::kAdd) {
        return absl::AlreadyExistsError(
            absl::StrCat("store ", name_, ": key of ", key.size(), " bytes already exists"));
      }
      DropStored(path.leaf(), path.pos());
      return tree_.SetValue(*txn_, path, std::move(stored), kind);
    }
    case OpType::kUpdate:
      if (!found) return absl::NotFoundError(absl::StrCat("store ", name_, ": no such key"));
      DropStored(path.leaf(), path.pos());
      return tree_.SetValue(*txn_, path, std::move(stored), kind);
    case OpType::kRemove:
      if (!found) return absl::NotFoundError(absl::StrCat("store ", name_, ": no such key"));
      while (found) {
        DropStored(path.leaf(), path.pos());
        if (auto st = tree_.Erase(*txn_, path); !st.ok()) return st;
        if (meta_.unique) break;
        if (auto st = Find(key, &path, &found); !st.ok()) return st;
      }
      return absl::OkStatus();
    default:
      return absl::InternalError("not a store operation");
  }
}

absl::Status RawStoreImpl::Failed(absl::Status st, absl::string_view stored, ValueKind kind) {
  BlobId id;
  if (kind == ValueKind::kBlob && DecodeBlobId(stored, &id)) txn_->ReleaseUnloggedBlob(id);
  // A refusal changed nothing; any other error may have left the tree half
  // changed, so the transaction can only roll back.
  if (!absl::IsAlreadyExists(st) && !absl::IsNotFound(st)) txn_->Poison(st);
  return st;
}

absl::Status RawStoreImpl::Apply(const Op& op) {
  txn_->Touch();
  return Write(op.type, op.key, std::string(op.value), op.kind);
}

absl::Status RawStoreImpl::Add(absl::string_view key, absl::string_view value) {
  if (auto st = CheckUsable(true); !st.ok()) return st;
  if (auto st = CheckKeyValue(key, value); !st.ok()) return st;
  if (meta_.unique && value.size() > meta_.max_value_in_node) {
    // Refuse before writing a large value for nothing.
    TreePath path;
    bool found;
    if (auto st = Find(key, &path, &found); !st.ok()) return st;
    if (found) {
      return absl::AlreadyExistsError(
          absl::StrCat("store ", name_, ": key of ", key.size(), " bytes already exists"));
    }
  }
  std::string stored;
  ValueKind kind;
  if (auto st = StoreValue(value, &stored, &kind); !st.ok()) return st;
  txn_->Touch();
  if (auto st = Write(OpType::kAdd, key, stored, kind); !st.ok()) return Failed(st, stored, kind);
  txn_->Log({OpType::kAdd, name_, key, kind, stored});
  txn_->NoteWrite(name_, key);
  return absl::OkStatus();
}

absl::Status RawStoreImpl::Put(absl::string_view key, absl::string_view value) {
  if (auto st = CheckUsable(true); !st.ok()) return st;
  if (auto st = CheckKeyValue(key, value); !st.ok()) return st;
  std::string stored;
  ValueKind kind;
  if (auto st = StoreValue(value, &stored, &kind); !st.ok()) return st;
  txn_->Touch();
  if (auto st = Write(OpType::kPut, key, stored, kind); !st.ok()) return Failed(st, stored, kind);
  txn_->Log({OpType::kPut, name_, key, kind, stored});
  txn_->NoteWrite(name_, key);
  return absl::OkStatus();
}

absl::Status RawStoreImpl::Update(absl::string_view key, absl::string_view value) {
  if (auto st = CheckUsable(true); !st.ok()) return st;
  if (auto st = CheckKeyValue(key, value); !st.ok()) return st;
  {
    TreePath path;
    bool found;
    if (auto st = Find(key, &path, &found); !st.ok()) return st;
    if (!found) return absl::NotFoundError(absl::StrCat("store ", name_, ": no such key"));
  }
  std::string stored;
  ValueKind kind;
  if (auto st = StoreValue(value, &stored, &kind); !st.ok()) return st;
  txn_->Touch();
  if (auto st = Write(OpType::kUpdate, key, stored, kind); !st.ok())
    return Failed(st, stored, kind);
  txn_->Log({OpType::kUpdate, name_, key, kind, stored});
  txn_->NoteWrite(name_, key);
  return absl::OkStatus();
}

absl::Status RawStoreImpl::Remove(absl::string_view key) {
  if (auto st = CheckUsable(true); !st.ok()) return st;
  if (auto st = CheckKeyValue(key, ""); !st.ok()) return st;
  txn_->Touch();
  if (auto st = Write(OpType::kRemove, key, "", ValueKind::kInline); !st.ok()) {
    return Failed(st, "", ValueKind::kInline);
  }
  txn_->Log({OpType::kRemove, name_, key, ValueKind::kInline, ""});
  txn_->NoteWrite(name_, key);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawStoreImpl::Get(absl::string_view key) {
  std::string value;
  if (auto st = Get(key, &value); !st.ok()) return st;
  return value;
}

absl::Status RawStoreImpl::Get(absl::string_view key, std::string* value) {
  if (auto st = CheckUsable(false); !st.ok()) return st;
  if (auto st = CheckKeyValue(key, ""); !st.ok()) return st;
  const Node* leaf;
  size_t i;
  auto in_leaf = tree_.FindInLeaf(*txn_, key, 0, &leaf, &i);
  if (!in_leaf.ok()) return in_leaf.status();
  TreePath path;
  if (!*in_leaf) {
    // The first entry at or after the key starts the next leaf. SeekGE reads
    // through the memo, which may let the peeked leaf go: forget it.
    if (auto st = tree_.SeekGE(*txn_, key, 0, &path); !st.ok()) return st;
    leaf = path.valid() ? &path.leaf() : nullptr;
    i = path.valid() ? path.pos() : 0;
  }
  txn_->NoteRead(name_, key);
  if (leaf == nullptr || i >= leaf->size() || cmp_->Compare(leaf->key(i), key) != 0) {
    return absl::NotFoundError(absl::StrCat("store ", name_, ": no such key"));
  }
  return LoadValue(leaf->value(i), leaf->kind(i), value);
}

absl::StatusOr<std::unique_ptr<ValueWriter>> RawStoreImpl::NewValueWriter(absl::string_view key,
                                                                          uint64_t size) {
  if (auto st = CheckUsable(true); !st.ok()) return st;
  if (key.size() > kMaxKeySize || size > kMaxValueSize) {
    return absl::InvalidArgumentError(absl::StrCat("key of ", key.size(), " bytes or value of ",
                                                   size, " bytes is over the limit"));
  }
  std::unique_ptr<BlobWriter> blob;
  if (size > meta_.max_value_in_node) {
    auto w = txn_->db()->blobs().NewWriter(size);
    if (!w.ok()) return w.status();
    blob = *std::move(w);
  }
  return std::unique_ptr<ValueWriter>(
      new ValueWriterImpl(this, std::string(key), size, std::move(blob)));
}

absl::Status RawStoreImpl::PutStored(absl::string_view key, std::string stored, ValueKind kind) {
  txn_->Touch();
  if (auto st = Write(OpType::kPut, key, stored, kind); !st.ok()) return Failed(st, stored, kind);
  txn_->Log({OpType::kPut, name_, key, kind, stored});
  txn_->NoteWrite(name_, key);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ValueReader>> RawStoreImpl::NewValueReader(absl::string_view key) {
  if (auto st = CheckUsable(false); !st.ok()) return st;
  TreePath path;
  bool found;
  if (auto st = Find(key, &path, &found); !st.ok()) return st;
  txn_->NoteRead(name_, key);
  if (!found) return absl::NotFoundError(absl::StrCat("store ", name_, ": no such key"));
  const absl::string_view stored = path.leaf().value(path.pos());
  if (path.leaf().kind(path.pos()) == ValueKind::kInline) {
    return std::unique_ptr<ValueReader>(new ValueReaderImpl(txn_, std::string(stored)));
  }
  BlobId id;
  if (!DecodeBlobId(stored, &id)) {
    return absl::DataLossError(absl::StrCat("store ", name_, ": malformed value reference"));
  }
  return std::unique_ptr<ValueReader>(new ValueReaderImpl(txn_, id));
}

std::unique_ptr<Cursor> RawStoreImpl::NewCursor(const CursorOptions& options) {
  return std::make_unique<CursorImpl>(this, options);
}

}  // namespace sop
