// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_CURSOR_H_
#define SOP_CURSOR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sop {

// Limits what a cursor visits. A cursor is invalid outside the bounds.
struct CursorOptions {
  // Only keys starting with `prefix`.
  std::string prefix;
  // Only keys >= lower_bound, when set.
  std::optional<std::string> lower_bound;
  // Only keys < upper_bound, when set.
  std::optional<std::string> upper_bound;
};

// Walks a store's entries in key order, forwards or backwards. A cursor
// sees the store as its transaction does: a read-only transaction's
// snapshot, or a read-write transaction's view including its own changes
// (a change made through the store while the cursor is positioned is seen
// from the cursor's next move on).
//
// Errors (an I/O error, a damaged node) make the cursor invalid and are
// reported by status(). Not thread-safe. A cursor must not outlive its
// transaction.
class Cursor {
 public:
  virtual ~Cursor() = default;

  // Positions at the first entry with key >= `key` (within the bounds).
  virtual void Seek(absl::string_view key) = 0;
  // Positions at the last entry with key <= `key` (within the bounds).
  virtual void SeekForPrev(absl::string_view key) = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Require Valid().
  virtual void Next() = 0;
  virtual void Prev() = 0;

  virtual bool Valid() const = 0;
  // Require Valid(). The views stay good until the cursor moves.
  virtual absl::string_view key() const = 0;
  // A value stored outside the node is read (and verified) here; if that
  // fails, value() is empty and the cursor turns invalid with the error in
  // status(): check status() before trusting a value you cannot tell apart.
  virtual absl::string_view value() const = 0;
  // OK unless an error made the cursor invalid.
  virtual absl::Status status() const = 0;
};

}  // namespace sop

#endif  // SOP_CURSOR_H_
