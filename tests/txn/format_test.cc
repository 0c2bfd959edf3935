// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The transaction layer's records (commit, prepare, decision, store
// metadata, checkpoint root, registry pages): each round-trips, and every
// cut-short or extended copy is refused rather than misread.

#include "txn/format.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sop {
namespace {

std::string SomeOps() {
  std::string ops;
  AppendOp(&ops, {OpType::kCreateStore, "people", "people", ValueKind::kInline,
                  EncodeStoreMeta({7, false, 300, "sop.bytewise"})});
  AppendOp(&ops, {OpType::kPut, "people", "ada", ValueKind::kInline, "Ada Lovelace"});
  AppendOp(&ops, {OpType::kAdd, "people", "bob", ValueKind::kBlob, EncodeBlobId({12, 99})});
  AppendOp(&ops, {OpType::kRemove, "people", "eve", ValueKind::kInline, ""});
  AppendOp(&ops, {OpType::kDropStore, "old", "old", ValueKind::kInline, ""});
  return ops;
}

TEST(FormatTest, OperationsRoundTripAndACutOneIsRefusedOrAPrefix) {
  const std::string ops = SomeOps();
  std::vector<Op> decoded;
  ASSERT_TRUE(DecodeOps(ops, &decoded));
  ASSERT_EQ(decoded.size(), 5u);
  EXPECT_EQ(decoded[1].key, "ada");
  EXPECT_EQ(decoded[1].value, "Ada Lovelace");
  EXPECT_EQ(decoded[2].kind, ValueKind::kBlob);
  EXPECT_EQ(decoded[4].type, OpType::kDropStore);
  for (size_t cut = 0; cut < ops.size(); ++cut) {
    std::vector<Op> part;
    const std::string prefix = ops.substr(0, cut);  // the decoded views point into it
    if (!DecodeOps(prefix, &part)) continue;
    // A cut at an operation's end is a shorter list: those operations exactly.
    ASSERT_LT(part.size(), decoded.size()) << cut;
    for (size_t i = 0; i < part.size(); ++i) EXPECT_EQ(part[i].key, decoded[i].key) << cut;
  }
  std::string bad_type = ops;
  bad_type[0] = 9;
  EXPECT_FALSE(DecodeOps(bad_type, &decoded));
  std::string bad_kind;
  AppendOp(&bad_kind, {OpType::kPut, "s", "k", ValueKind::kInline, "v"});
  bad_kind[1 + 2 + 2] = 2;  // the kind byte, after the type and two 1-byte strings
  EXPECT_FALSE(DecodeOps(bad_kind, &decoded));
}

TEST(FormatTest, LogRecordsRoundTripAndDamageIsRefused) {
  const std::string ops = SomeOps();
  LogEntry e;  // views into the record decoded
  const std::string commit_record = CommitRecord(ops);
  ASSERT_TRUE(DecodeLogEntry(commit_record, &e));
  EXPECT_EQ(e.kind, RecordKind::kCommit);
  EXPECT_EQ(e.ops, ops);
  const std::string prepare_record = PrepareRecord("x-17", ops);
  ASSERT_TRUE(DecodeLogEntry(prepare_record, &e));
  EXPECT_EQ(e.kind, RecordKind::kPrepare);
  EXPECT_EQ(e.xid, "x-17");
  EXPECT_EQ(e.ops, ops);
  for (bool commit : {false, true}) {
    std::string d = DecisionRecord("x-17", commit);
    ASSERT_TRUE(DecodeLogEntry(d, &e));
    EXPECT_EQ(e.kind, RecordKind::kDecision);
    EXPECT_EQ(e.commit, commit);
    EXPECT_EQ(e.xid, "x-17");
    for (size_t cut = 0; cut < d.size(); ++cut) EXPECT_FALSE(DecodeLogEntry(d.substr(0, cut), &e));
    EXPECT_FALSE(DecodeLogEntry(d + "!", &e));
    d[1] = 2;  // neither commit nor abort
    EXPECT_FALSE(DecodeLogEntry(d, &e));
  }
  EXPECT_FALSE(DecodeLogEntry("", &e));
  EXPECT_FALSE(DecodeLogEntry("Z", &e));
  EXPECT_FALSE(DecodeLogEntry("P", &e));  // no xid
}

TEST(FormatTest, StoreMetaRoundTripsAndDamageIsRefused) {
  const StoreMeta meta{42, false, 4096, "app.reverse"};
  const std::string bytes = EncodeStoreMeta(meta);
  StoreMeta back;
  ASSERT_TRUE(DecodeStoreMeta(bytes, &back));
  EXPECT_EQ(back.root, 42u);
  EXPECT_FALSE(back.unique);
  EXPECT_EQ(back.max_value_in_node, 4096u);
  EXPECT_EQ(back.comparator, "app.reverse");
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeStoreMeta(bytes.substr(0, cut), &back)) << cut;
  }
  EXPECT_FALSE(DecodeStoreMeta(bytes + "x", &back));
  std::string not_bool = bytes;
  not_bool[1] = 5;  // the uniqueness byte after a 1-byte root
  EXPECT_FALSE(DecodeStoreMeta(not_bool, &back));
  std::string huge;
  huge.push_back(1);
  huge.push_back(1);
  for (int i = 0; i < 5; ++i) huge.push_back(static_cast<char>(0xFF));
  huge.push_back(0x7F);  // a varint far above 2^32
  huge.push_back(0);
  EXPECT_FALSE(DecodeStoreMeta(huge, &back));
}

TEST(FormatTest, BlobIdsRootsAndRegistryPagesRefuseEveryCut) {
  BlobId id;
  const std::string blob = EncodeBlobId({123456789, 4000});
  ASSERT_TRUE(DecodeBlobId(blob, &id));
  EXPECT_EQ(id.page, 123456789u);
  EXPECT_EQ(id.size, 4000u);
  EXPECT_FALSE(DecodeBlobId(blob.substr(0, 15), &id));
  EXPECT_FALSE(DecodeBlobId(blob + "x", &id));

  CheckpointRoot root;
  root.next_id = 1000;
  root.next_dup = 77;
  root.registry_pages = {{0, {5, 600}}, {3, {9, 1200}}};
  const std::string root_bytes = EncodeCheckpointRoot(root);
  CheckpointRoot back;
  ASSERT_TRUE(DecodeCheckpointRoot(root_bytes, &back));
  EXPECT_EQ(back.next_id, 1000u);
  EXPECT_EQ(back.next_dup, 77u);
  EXPECT_EQ(back.registry_pages.size(), 2u);
  EXPECT_EQ(back.registry_pages.at(3).page, 9u);
  for (size_t cut = 0; cut < root_bytes.size(); ++cut) {
    CheckpointRoot part;
    EXPECT_FALSE(DecodeCheckpointRoot(root_bytes.substr(0, cut), &part)) << cut;
  }
  EXPECT_FALSE(DecodeCheckpointRoot(root_bytes + "x", &back));
  std::string wrong_magic = root_bytes;
  wrong_magic[0] = 'X';
  EXPECT_FALSE(DecodeCheckpointRoot(wrong_magic, &back));

  const uint64_t page = 2;
  std::vector<std::pair<uint64_t, BlobId>> entries = {
      {page << kRegistryPageShift, {10, 100}}, {(page << kRegistryPageShift) + 5, {11, 200}}};
  const std::string reg = EncodeRegistryPage(entries);
  std::vector<std::pair<uint64_t, BlobId>> got;
  ASSERT_TRUE(DecodeRegistryPage(reg, page, &got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].first, (page << kRegistryPageShift) + 5);
  EXPECT_EQ(got[1].second.size, 200u);
  for (size_t cut = 0; cut < reg.size(); ++cut) {
    std::vector<std::pair<uint64_t, BlobId>> part;
    EXPECT_FALSE(DecodeRegistryPage(reg.substr(0, cut), page, &part)) << cut;
  }
  EXPECT_FALSE(DecodeRegistryPage(reg, page + 1, &got));  // ids of another page
  EXPECT_FALSE(DecodeRegistryPage(reg + "x", page, &got));
  std::string too_many;
  too_many.push_back(static_cast<char>(0xFF));
  too_many.push_back(0x7F);  // 16383 entries claimed: more than a page holds
  EXPECT_FALSE(DecodeRegistryPage(too_many, page, &got));
}

}  // namespace
}  // namespace sop
