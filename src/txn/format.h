// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// What the database layer writes: commit records (the transaction's logical
// operations, appended to the commit log), store descriptions (values of the
// catalog store), and the checkpoint's registry pages and root blob.
//
// A commit-log record is one of
//   'C' ops                      a committed transaction
//   'P' xid ops                  a transaction prepared (two-phase commit)
//   'D' u8 commit xid            the decision on a prepared one (1 commit, 0 abort)
// with xid as varint length + bytes, and ops a sequence of operations:
//   u8 type, store name (varint length + bytes), key (varint length +
//   bytes), u8 value kind (0 inline, 1 blob), value (varint length + bytes)
// Stores are named, not numbered, so replay does not depend on node ids.

#ifndef SOP_SRC_TXN_FORMAT_H_
#define SOP_SRC_TXN_FORMAT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "btree/node.h"
#include "sop/backend.h"

namespace sop {

enum class OpType : uint8_t {
  kCreateStore = 1,  // key: name; value: encoded StoreMeta
  kDropStore = 2,
  kAdd = 3,
  kPut = 4,
  kUpdate = 5,
  kRemove = 6,
};

struct Op {
  OpType type;
  absl::string_view store;
  absl::string_view key;
  ValueKind kind = ValueKind::kInline;
  absl::string_view value;
};

enum class RecordKind : char { kCommit = 'C', kPrepare = 'P', kDecision = 'D' };

void AppendOp(std::string* record, const Op& op);
// Splits a record into ops (views into `record`). False if malformed.
bool DecodeOps(absl::string_view record, std::vector<Op>* ops);

// The parts of a commit-log record. False if malformed.
struct LogEntry {
  RecordKind kind;
  absl::string_view xid;  // prepare, decision
  bool commit = false;    // decision
  absl::string_view ops;  // commit, prepare
};
bool DecodeLogEntry(absl::string_view record, LogEntry* entry);
std::string CommitRecord(absl::string_view ops);
std::string PrepareRecord(absl::string_view xid, absl::string_view ops);
std::string DecisionRecord(absl::string_view xid, bool commit);

// A store's entry in the catalog.
struct StoreMeta {
  uint64_t root = 0;  // logical id of the root node, fixed for the store's life
  bool unique = true;
  uint32_t max_value_in_node = 1024;
  std::string comparator;
};
std::string EncodeStoreMeta(const StoreMeta& m);
bool DecodeStoreMeta(absl::string_view in, StoreMeta* m);

std::string EncodeBlobId(BlobId id);
bool DecodeBlobId(absl::string_view in, BlobId* id);

// The checkpoint root: counters and where each registry page is.
struct CheckpointRoot {
  uint64_t next_id = 0;
  uint64_t next_dup = 0;
  std::map<uint64_t, BlobId> registry_pages;  // page number -> blob
};
std::string EncodeCheckpointRoot(const CheckpointRoot& r);
bool DecodeCheckpointRoot(absl::string_view in, CheckpointRoot* r);

// A registry page: the blobs of node ids [page << kRegistryPageShift, ...).
inline constexpr int kRegistryPageShift = 9;
std::string EncodeRegistryPage(const std::vector<std::pair<uint64_t, BlobId>>& entries);
bool DecodeRegistryPage(absl::string_view in, uint64_t page,
                        std::vector<std::pair<uint64_t, BlobId>>* entries);

}  // namespace sop

#endif  // SOP_SRC_TXN_FORMAT_H_
