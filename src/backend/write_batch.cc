// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "sop/backend.h"

namespace sop {

void WriteBatch::Put(BlobId id, std::string data) { puts_.push_back({id, std::move(data), false}); }

void WriteBatch::PutWritten(BlobId id) { puts_.push_back({id, std::string(), true}); }

void WriteBatch::Delete(BlobId id) { deletes_.push_back(id); }

void WriteBatch::SetMeta(std::string name, std::optional<std::string> value) {
  meta_[std::move(name)] = std::move(value);
}

}  // namespace sop
