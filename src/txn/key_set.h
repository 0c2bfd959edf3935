// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The keys a transaction writes or reads (WriteKey()s), as a set of byte
// strings kept back to back in chunks: a transaction of a thousand puts
// would otherwise allocate a thousand strings (a 16-byte key with its
// store's name is past std::string's inline room), and the commit history
// frees them all again when it lets the entry go.

#ifndef SOP_SRC_TXN_KEY_SET_H_
#define SOP_SRC_TXN_KEY_SET_H_

#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace sop {

// Not thread-safe. Moving a set keeps the views it hands out valid; copying
// makes the copy's own.
class KeySet {
 public:
  KeySet() = default;
  KeySet(KeySet&&) = default;
  KeySet& operator=(KeySet&&) = default;
  KeySet(const KeySet& other) { *this = other; }
  KeySet& operator=(const KeySet& other);

  // Adds a copy of `key`, if the set does not hold it yet.
  void Insert(absl::string_view key);
  bool contains(absl::string_view key) const { return keys_.contains(key); }
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // The keys, in no order; a view lasts as long as the set (or the set it
  // was moved into).
  auto begin() const { return keys_.begin(); }
  auto end() const { return keys_.end(); }

 private:
  static constexpr size_t kChunkBytes = 4096;

  absl::string_view Store(absl::string_view key);  // a copy in the chunks

  absl::flat_hash_set<absl::string_view> keys_;
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* free_ = nullptr;  // the unused end of the newest chunk
  size_t free_bytes_ = 0;
};

}  // namespace sop

#endif  // SOP_SRC_TXN_KEY_SET_H_
