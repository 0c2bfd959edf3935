// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_STORE_H_
#define SOP_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "sop/cursor.h"

namespace sop {

// Streams one value into a store, so that a multi-GB value (model weights,
// say) never has to be in memory: large values go straight to their place
// in the data file, written once. Not thread-safe; must not outlive its
// transaction. Destroying an unfinished writer stores nothing.
class ValueWriter {
 public:
  virtual ~ValueWriter() = default;
  // Appends the next bytes. InvalidArgument past the size declared.
  virtual absl::Status Append(absl::string_view data) = 0;
  // Stores the value under its key, as RawStore::Put would. InvalidArgument
  // unless exactly the declared number of bytes was appended.
  virtual absl::Status Finish() = 0;
};

// Reads one stored value by windows, or whole without copying. Not
// thread-safe; must not outlive its transaction.
class ValueReader {
 public:
  virtual ~ValueReader() = default;
  virtual uint64_t size() const = 0;
  // Copies dst.size() bytes at `offset`, verifying the checksum of every
  // 1 MiB chunk touched. InvalidArgument if the range passes the end.
  virtual absl::Status Read(uint64_t offset, absl::Span<char> dst) = 0;
  // The whole value, verified, without a copy where possible (a value stored
  // outside the node, in a file database: its pages are mapped read-only).
  // The view stays valid until the transaction ends.
  virtual absl::StatusOr<absl::string_view> View() = 0;
};

// One named, ordered map from byte-string keys to byte-string values, seen
// through a transaction (Transaction::OpenStore). For typed keys and values
// see sop::Store<K, V> in typed_store.h.
//
// Keys are at most kMaxKeySize (4 KiB) bytes and values at most
// kMaxValueSize (2^40) bytes; beyond, InvalidArgument. Writing through a
// read-only transaction gives InvalidArgument, and so does any call once the
// transaction has committed or rolled back. Not thread-safe; owned by its
// transaction and valid until the transaction ends.
class RawStore {
 public:
  virtual ~RawStore() = default;

  // Inserts a new entry. AlreadyExists if the key is present in a unique
  // store; in a store allowing duplicates it always adds one more entry.
  virtual absl::Status Add(absl::string_view key, absl::string_view value) = 0;
  // Inserts or replaces (a duplicate store adds another entry, as Add).
  virtual absl::Status Put(absl::string_view key, absl::string_view value) = 0;
  // Replaces the value of an existing entry (the first, with duplicates).
  // NotFound if the key is absent.
  virtual absl::Status Update(absl::string_view key, absl::string_view value) = 0;
  // Removes the entry with this key (every entry with it, with duplicates).
  // NotFound if the key is absent.
  virtual absl::Status Remove(absl::string_view key) = 0;
  // The value of the entry with this key (the first, with duplicates).
  // NotFound if absent.
  virtual absl::StatusOr<std::string> Get(absl::string_view key) = 0;
  // The same into `*value`, reusing its buffer: a loop of reads into one
  // string allocates nothing once the string is large enough. On an error
  // (NotFound included) `*value` is left as it was.
  virtual absl::Status Get(absl::string_view key, std::string* value) = 0;

  // A writer that streams a value of exactly `size` bytes for `key`.
  virtual absl::StatusOr<std::unique_ptr<ValueWriter>> NewValueWriter(absl::string_view key,
                                                                      uint64_t size) = 0;
  // A reader of the value of `key` (the first, with duplicates). NotFound if absent.
  virtual absl::StatusOr<std::unique_ptr<ValueReader>> NewValueReader(absl::string_view key) = 0;

  // A cursor over the entries; see cursor.h.
  virtual std::unique_ptr<Cursor> NewCursor(const CursorOptions& options = {}) = 0;

  virtual const std::string& name() const = 0;
};

}  // namespace sop

#endif  // SOP_STORE_H_
