// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// B-tree node decoding: any bytes give a node or DataLoss; a node that
// decodes encodes back to bytes that decode to the same node.

#include <cstdint>
#include <cstdlib>

#include "btree/node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto node = sop::DecodeNode(bytes, "fuzz");
  if (!node.ok()) {
    if (!absl::IsDataLoss(node.status())) std::abort();
    return 0;
  }
  std::string again = sop::EncodeNode(*node);
  auto back = sop::DecodeNode(again, "fuzz");
  if (!back.ok() || sop::EncodeNode(*back) != again || back->size() != node->size()) std::abort();
  for (size_t i = 0; i < node->size(); ++i) {
    if (back->key(i) != node->key(i) || back->dup(i) != node->dup(i)) std::abort();
    if (node->leaf && back->value(i) != node->value(i)) std::abort();
  }
  return 0;
}
