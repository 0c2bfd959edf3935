// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_TXN_STORE_IMPL_H_
#define SOP_SRC_TXN_STORE_IMPL_H_

#include <memory>
#include <optional>
#include <string>

#include "btree/btree.h"
#include "sop/store.h"
#include "txn/format.h"

namespace sop {

class TransactionImpl;

class RawStoreImpl final : public RawStore {
 public:
  RawStoreImpl(TransactionImpl* txn, std::string name, StoreMeta meta, const Comparator* cmp);

  absl::Status Add(absl::string_view key, absl::string_view value) override;
  absl::Status Put(absl::string_view key, absl::string_view value) override;
  absl::Status Update(absl::string_view key, absl::string_view value) override;
  absl::Status Remove(absl::string_view key) override;
  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::Status Get(absl::string_view key, std::string* value) override;
  std::unique_ptr<Cursor> NewCursor(const CursorOptions& options) override;
  absl::StatusOr<std::unique_ptr<ValueWriter>> NewValueWriter(absl::string_view key,
                                                              uint64_t size) override;
  absl::StatusOr<std::unique_ptr<ValueReader>> NewValueReader(absl::string_view key) override;
  // Stores a finished value (from a ValueWriter): `stored` as StoreValue makes it.
  absl::Status PutStored(absl::string_view key, std::string stored, ValueKind kind);
  const std::string& name() const override { return name_; }

  // Replays a logged operation on this store.
  absl::Status Apply(const Op& op);
  void MarkDropped() { dropped_ = true; }
  const Comparator* comparator() const { return cmp_; }
  const BTree& tree() const { return tree_; }
  TransactionImpl* txn() { return txn_; }
  // The value an entry holds, reading its blob if it is stored outside.
  absl::Status LoadValue(absl::string_view stored, ValueKind kind, std::string* value);

 private:
  absl::Status CheckUsable(bool write) const;
  absl::Status CheckKeyValue(absl::string_view key, absl::string_view value) const;
  // Finds the first entry with `key`; *found says whether there is one.
  absl::Status Find(absl::string_view key, TreePath* path, bool* found);
  // The form a value takes in a leaf: itself, or the id of a blob written now.
  absl::Status StoreValue(absl::string_view value, std::string* stored, ValueKind* kind);
  absl::Status Write(OpType type, absl::string_view key, std::string stored, ValueKind kind);
  void DropStored(const Node& leaf, size_t i);
  friend class ValueWriterImpl;
  // Undoes what a failed write left behind and returns `st`.
  absl::Status Failed(absl::Status st, absl::string_view stored, ValueKind kind);

  TransactionImpl* const txn_;
  const std::string name_;
  const StoreMeta meta_;
  const Comparator* const cmp_;
  const BTree tree_;
  bool dropped_ = false;
};

}  // namespace sop

#endif  // SOP_SRC_TXN_STORE_IMPL_H_
