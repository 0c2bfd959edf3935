// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The database's record parsers — commit-log records and their operations,
// catalog entries, checkpoint roots, registry pages — on any bytes: a
// result or false, never a crash; what parses re-encodes to a parse.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "txn/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      sop::LogEntry entry;
      if (sop::DecodeLogEntry(in, &entry)) {
        std::vector<sop::Op> ops;
        (void)sop::DecodeOps(entry.ops, &ops);
      }
      break;
    }
    case 1: {
      std::vector<sop::Op> ops;
      if (sop::DecodeOps(in, &ops)) {
        std::string again;
        for (const sop::Op& op : ops) sop::AppendOp(&again, op);
        std::vector<sop::Op> back;
        if (!sop::DecodeOps(again, &back) || back.size() != ops.size()) std::abort();
      }
      break;
    }
    case 2: {
      sop::StoreMeta m;
      if (sop::DecodeStoreMeta(in, &m)) {
        sop::StoreMeta back;
        if (!sop::DecodeStoreMeta(sop::EncodeStoreMeta(m), &back) || back.root != m.root ||
            back.comparator != m.comparator) {
          std::abort();
        }
      }
      break;
    }
    case 3: {
      sop::CheckpointRoot r;
      if (sop::DecodeCheckpointRoot(in, &r)) {
        sop::CheckpointRoot back;
        if (!sop::DecodeCheckpointRoot(sop::EncodeCheckpointRoot(r), &back) ||
            back.registry_pages.size() != r.registry_pages.size()) {
          std::abort();
        }
      }
      break;
    }
    default: {
      std::vector<std::pair<uint64_t, sop::BlobId>> entries;
      uint64_t page = size > 1 ? data[1] : 0;
      (void)sop::DecodeRegistryPage(in, page, &entries);
      break;
    }
  }
  return 0;
}
