// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/key_set.h"

#include <algorithm>
#include <cstring>

namespace sop {

void KeySet::Insert(absl::string_view key) {
  // One hash and probe: the copy is made only when the key is new.
  keys_.lazy_emplace(key, [&](const auto& construct) { construct(Store(key)); });
}

absl::string_view KeySet::Store(absl::string_view key) {
  if (free_bytes_ < key.size()) {
    // A key longer than a chunk gets a chunk of its own size.
    const size_t bytes = std::max(kChunkBytes, key.size());
    chunks_.emplace_back(new char[bytes]);  // not zeroed
    free_ = chunks_.back().get();
    free_bytes_ = bytes;
  }
  if (!key.empty()) std::memcpy(free_, key.data(), key.size());
  absl::string_view stored(free_, key.size());
  free_ += key.size();
  free_bytes_ -= key.size();
  return stored;
}

KeySet& KeySet::operator=(const KeySet& other) {
  if (this == &other) return *this;
  KeySet copy;
  copy.keys_.reserve(other.size());
  for (absl::string_view key : other) copy.Insert(key);
  return *this = std::move(copy);
}

}  // namespace sop
