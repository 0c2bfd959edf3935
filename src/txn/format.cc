// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/format.h"

#include "util/coding.h"

namespace sop {
namespace {

constexpr char kRootMagic[8] = {'S', 'O', 'P', 'R', 'O', 'O', 'T', '1'};

}  // namespace

void AppendOp(std::string* record, const Op& op) {
  // Two type bytes and three lengths of at most 5 bytes each.
  record->reserve(record->size() + 17 + op.store.size() + op.key.size() + op.value.size());
  record->push_back(static_cast<char>(op.type));
  PutLengthPrefixed(record, op.store);
  PutLengthPrefixed(record, op.key);
  record->push_back(static_cast<char>(op.kind));
  PutLengthPrefixed(record, op.value);
}

bool DecodeOps(absl::string_view record, std::vector<Op>* ops) {
  Decoder d(record);
  while (!d.empty()) {
    Op op;
    uint8_t type, kind;
    if (!d.GetByte(&type) || type < 1 || type > 6 || !d.GetLengthPrefixed(&op.store) ||
        !d.GetLengthPrefixed(&op.key) || !d.GetByte(&kind) || kind > 1 ||
        !d.GetLengthPrefixed(&op.value)) {
      return false;
    }
    op.type = static_cast<OpType>(type);
    op.kind = static_cast<ValueKind>(kind);
    ops->push_back(op);
  }
  return true;
}

std::string CommitRecord(absl::string_view ops) {
  std::string r;
  r.reserve(1 + ops.size());
  r.push_back(static_cast<char>(RecordKind::kCommit));
  r.append(ops.data(), ops.size());
  return r;
}

std::string PrepareRecord(absl::string_view xid, absl::string_view ops) {
  std::string r(1, static_cast<char>(RecordKind::kPrepare));
  PutLengthPrefixed(&r, xid);
  r.append(ops.data(), ops.size());
  return r;
}

std::string DecisionRecord(absl::string_view xid, bool commit) {
  std::string r(1, static_cast<char>(RecordKind::kDecision));
  r.push_back(commit ? 1 : 0);
  PutLengthPrefixed(&r, xid);
  return r;
}

bool DecodeLogEntry(absl::string_view record, LogEntry* e) {
  if (record.empty()) return false;
  Decoder d(record.substr(1));
  switch (record[0]) {
    case 'C':
      e->kind = RecordKind::kCommit;
      e->ops = record.substr(1);
      return true;
    case 'P':
      e->kind = RecordKind::kPrepare;
      if (!d.GetLengthPrefixed(&e->xid)) return false;
      e->ops = d.rest();
      return true;
    case 'D': {
      e->kind = RecordKind::kDecision;
      uint8_t commit;
      if (!d.GetByte(&commit) || commit > 1 || !d.GetLengthPrefixed(&e->xid) || !d.empty()) {
        return false;
      }
      e->commit = commit == 1;
      return true;
    }
    default:
      return false;
  }
}

std::string EncodeStoreMeta(const StoreMeta& m) {
  std::string out;
  PutVarint64(&out, m.root);
  out.push_back(m.unique ? 1 : 0);
  PutVarint64(&out, m.max_value_in_node);
  PutLengthPrefixed(&out, m.comparator);
  return out;
}

bool DecodeStoreMeta(absl::string_view in, StoreMeta* m) {
  Decoder d(in);
  uint8_t unique;
  uint64_t max_value;
  absl::string_view cmp;
  if (!d.GetVarint64(&m->root) || !d.GetByte(&unique) || unique > 1 || !d.GetVarint64(&max_value) ||
      max_value > UINT32_MAX || !d.GetLengthPrefixed(&cmp) || !d.empty()) {
    return false;
  }
  m->unique = unique == 1;
  m->max_value_in_node = static_cast<uint32_t>(max_value);
  m->comparator = std::string(cmp);
  return true;
}

std::string EncodeBlobId(BlobId id) {
  std::string out;
  PutFixed64(&out, id.page);
  PutFixed64(&out, id.size);
  return out;
}

bool DecodeBlobId(absl::string_view in, BlobId* id) {
  Decoder d(in);
  return d.GetFixed64(&id->page) && d.GetFixed64(&id->size) && d.empty();
}

std::string EncodeCheckpointRoot(const CheckpointRoot& r) {
  std::string out(kRootMagic, 8);
  PutVarint64(&out, r.next_id);
  PutVarint64(&out, r.next_dup);
  PutVarint64(&out, r.registry_pages.size());
  for (const auto& [page, blob] : r.registry_pages) {
    PutVarint64(&out, page);
    PutVarint64(&out, blob.page);
    PutVarint64(&out, blob.size);
  }
  return out;
}

bool DecodeCheckpointRoot(absl::string_view in, CheckpointRoot* r) {
  if (in.substr(0, 8) != absl::string_view(kRootMagic, 8)) return false;
  Decoder d(in.substr(8));
  uint64_t n;
  if (!d.GetVarint64(&r->next_id) || !d.GetVarint64(&r->next_dup) || !d.GetVarint64(&n) ||
      n > in.size()) {
    return false;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t page;
    BlobId blob;
    if (!d.GetVarint64(&page) || !d.GetVarint64(&blob.page) || !d.GetVarint64(&blob.size)) {
      return false;
    }
    r->registry_pages[page] = blob;
  }
  return d.empty();
}

std::string EncodeRegistryPage(const std::vector<std::pair<uint64_t, BlobId>>& entries) {
  std::string out;
  PutVarint64(&out, entries.size());
  for (const auto& [id, blob] : entries) {
    PutVarint64(&out, id);
    PutVarint64(&out, blob.page);
    PutVarint64(&out, blob.size);
  }
  return out;
}

bool DecodeRegistryPage(absl::string_view in, uint64_t page,
                        std::vector<std::pair<uint64_t, BlobId>>* entries) {
  Decoder d(in);
  uint64_t n;
  if (!d.GetVarint64(&n) || n > (uint64_t{1} << kRegistryPageShift)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    BlobId blob;
    if (!d.GetVarint64(&id) || !d.GetVarint64(&blob.page) || !d.GetVarint64(&blob.size)) {
      return false;
    }
    if ((id >> kRegistryPageShift) != page) return false;
    entries->emplace_back(id, blob);
  }
  return d.empty();
}

}  // namespace sop
