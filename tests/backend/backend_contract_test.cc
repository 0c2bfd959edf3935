// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The promises every Backend makes (sop/backend.h), checked against both the
// memory backend and the file backend (which is also reopened in between).

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sop/backend.h"
#include "test_util.h"

namespace sop {
namespace {

using testing::Pattern;
using testing::TempDir;

class BackendContractTest : public ::testing::TestWithParam<bool> {
 protected:
  BackendContractTest() { Reopen(); }

  bool file_backed() const { return GetParam(); }

  // The file backend is closed and opened again; the memory backend stays.
  void Reopen() {
    if (!file_backed()) {
      if (!backend_) backend_ = NewMemoryBackend();
      return;
    }
    backend_.reset();
    auto b = OpenFileBackend(dir_.File("db"));
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }

  BlobStore& blobs() { return backend_->blobs(); }

  BlobId PutOne(const std::string& data) {
    auto id = blobs().Reserve(data.size());
    EXPECT_TRUE(id.ok()) << id.status();
    WriteBatch batch;
    batch.Put(*id, data);
    EXPECT_TRUE(blobs().Apply(batch).ok());
    return *id;
  }

  TempDir dir_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(BackendContractTest, BlobsOfEverySizeAtPageBoundariesSurviveReopen) {
  const std::vector<size_t> sizes = {0, 1, 4095, 4096, 4097, 1 << 20, 64 << 20};
  std::vector<BlobId> ids;
  for (size_t i = 0; i < sizes.size(); ++i) ids.push_back(PutOne(Pattern(i, sizes[i])));
  Reopen();
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto got = blobs().Read(ids[i]);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->size(), sizes[i]);
    EXPECT_TRUE(*got == Pattern(i, sizes[i])) << "blob of " << sizes[i] << " bytes differs";
  }
}

// One batch of many blobs, as a checkpoint writes them: runs of adjacent
// extents (which the file backend writes at once), gaps between runs, blobs
// of every size from empty to past a chunk, in no particular order.
TEST_P(BackendContractTest, ManyBlobsInOneBatchSurviveReopen) {
  std::mt19937_64 rng(9);
  std::vector<BlobId> ids;
  std::vector<std::string> contents;
  WriteBatch batch;
  for (int i = 0; i < 300; ++i) {
    const uint64_t size = i % 50 == 7 ? (1 << 20) + rng() % 9000 : rng() % 9000;
    auto id = blobs().Reserve(size);
    SOP_ASSERT_OK(id);
    if (rng() % 8 == 0) {
      blobs().Release(*id);  // a hole the next runs go around, or fill
      continue;
    }
    ids.push_back(*id);
    contents.push_back(Pattern(i, size));
  }
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i : order) batch.Put(ids[i], contents[i]);
  SOP_ASSERT_OK(blobs().Apply(batch));
  Reopen();
  for (size_t i = 0; i < ids.size(); ++i) {
    auto got = blobs().Read(ids[i]);
    SOP_ASSERT_OK(got);
    ASSERT_EQ(*got, contents[i]) << "blob " << i;
  }
}

TEST_P(BackendContractTest, BatchIsAllOrNothingWithMetadata) {
  BlobId old = PutOne("old");
  auto a = blobs().Reserve(3);
  auto b = blobs().Reserve(5);
  SOP_ASSERT_OK(a);
  SOP_ASSERT_OK(b);
  WriteBatch batch;
  batch.Put(*a, "aaa");
  batch.Put(*b, "bbbbb");
  batch.Delete(old);
  batch.SetMeta("root", "a");
  SOP_ASSERT_OK(blobs().Apply(batch));
  Reopen();
  EXPECT_EQ(*blobs().Read(*a), "aaa");
  EXPECT_EQ(*blobs().Read(*b), "bbbbb");
  EXPECT_EQ(*blobs().GetMeta("root"), "a");
  WriteBatch erase;
  erase.SetMeta("root", std::nullopt);
  SOP_ASSERT_OK(blobs().Apply(erase));
  EXPECT_TRUE(absl::IsNotFound(blobs().GetMeta("root").status()));
}

TEST_P(BackendContractTest, ABatchWithAnUnreservedOrMisSizedBlobIsRefused) {
  WriteBatch bogus;
  bogus.Put(BlobId{999999, 3}, "abc");
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().Apply(bogus)));
  auto id = blobs().Reserve(4);
  SOP_ASSERT_OK(id);
  WriteBatch wrong_size;
  wrong_size.Put(*id, "too long");
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().Apply(wrong_size)));
  blobs().Release(*id);
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().Reserve((uint64_t{1} << 40) + 1).status()));
}

TEST_P(BackendContractTest, StreamedBlobIsReadWholeAndByWindows) {
  const size_t size = (3 << 20) + 12345;
  std::string content = Pattern(7, size);
  auto writer = blobs().NewWriter(size);
  SOP_ASSERT_OK(writer);
  for (size_t at = 0; at < size; at += 100003) {
    SOP_ASSERT_OK((*writer)->Append(absl::string_view(content).substr(at, 100003)));
  }
  EXPECT_TRUE(absl::IsInvalidArgument((*writer)->Append("x")));
  auto id = (*writer)->Finish();
  SOP_ASSERT_OK(id);
  WriteBatch batch;
  batch.PutWritten(*id);
  SOP_ASSERT_OK(blobs().Apply(batch));
  Reopen();
  auto whole = blobs().Read(*id);
  SOP_ASSERT_OK(whole);
  EXPECT_TRUE(*whole == content);
  for (size_t at : {size_t{0}, size_t{1 << 20} - 3, size_t{2 << 20} + 17, size - 10}) {
    std::string window(10, '\0');
    SOP_ASSERT_OK(blobs().ReadRange(*id, at, absl::MakeSpan(window)));
    EXPECT_EQ(window, content.substr(at, 10)) << "window at " << at;
  }
  std::string past(11, '\0');
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().ReadRange(*id, size - 10, absl::MakeSpan(past))));
}

TEST_P(BackendContractTest, StreamedBlobsUnderOneChunkReadBack) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, size_t{300000}, size_t{1} << 20}) {
    std::string content = Pattern(size, size);
    auto writer = blobs().NewWriter(size);
    SOP_ASSERT_OK(writer);
    size_t head = std::min<size_t>(size, 1000);
    SOP_ASSERT_OK((*writer)->Append(absl::string_view(content).substr(0, head)));
    SOP_ASSERT_OK((*writer)->Append(absl::string_view(content).substr(head)));
    auto id = (*writer)->Finish();
    SOP_ASSERT_OK(id);
    WriteBatch batch;
    batch.PutWritten(*id);
    SOP_ASSERT_OK(blobs().Apply(batch));
    auto got = blobs().Read(*id);
    SOP_ASSERT_OK(got);
    EXPECT_TRUE(*got == content) << size;
  }
}

// SyncWritten() makes a finished writer's bytes durable without storing
// the blob: it reads back, a reopen (a crash, for the file backend) leaves
// its pages free until Claim() takes them back, and a batch stores it then.
TEST_P(BackendContractTest, ASyncedBlobIsClaimedBackAndStoredLater) {
  const std::string content = Pattern(11, (1 << 20) + 5);
  auto writer = blobs().NewWriter(content.size());
  SOP_ASSERT_OK(writer);
  SOP_ASSERT_OK((*writer)->Append(content));
  auto id = (*writer)->Finish();
  SOP_ASSERT_OK(id);
  SOP_ASSERT_OK(blobs().SyncWritten());
  EXPECT_EQ(*blobs().Read(*id), content);
  Reopen();
  SOP_ASSERT_OK(blobs().Claim(*id));
  SOP_ASSERT_OK(blobs().Claim(*id));  // a second claim of the same blob is harmless
  EXPECT_EQ(*blobs().Read(*id), content);
  BlobId other = PutOne("taken after the claim");
  EXPECT_NE(other.page, id->page);
  WriteBatch batch;
  batch.PutWritten(*id);
  SOP_ASSERT_OK(blobs().Apply(batch));
  Reopen();
  EXPECT_EQ(*blobs().Read(*id), content);
  // Its pages are stored now: claiming them again means the caller's log
  // and the store disagree.
  EXPECT_TRUE(absl::IsDataLoss(blobs().Claim(*id)));
  EXPECT_TRUE(absl::IsDataLoss(blobs().Claim(other)));
  // A hostile log naming the store's own first page (the file's header).
  EXPECT_TRUE(absl::IsDataLoss(blobs().Claim(BlobId{0, 100})));
}

// Write() fills a reserved blob at once, as a finished writer would: it
// reads back, a batch stores it with PutWritten, and until then a reopen
// (a crash, for the file backend) leaves nothing of it.
TEST_P(BackendContractTest, AReservedBlobWrittenAtOnceIsStoredByPutWritten) {
  const std::string stored = Pattern(21, 5000), dropped = Pattern(22, 300);
  auto id = blobs().Reserve(stored.size());
  SOP_ASSERT_OK(id);
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().Write(*id, stored.substr(1))));  // wrong size
  SOP_ASSERT_OK(blobs().Write(*id, stored));
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().Write(*id, stored)));  // already written
  EXPECT_EQ(*blobs().Read(*id), stored);
  EXPECT_TRUE(absl::IsInvalidArgument(blobs().Write(BlobId{id->page + 1000, 300}, dropped)));
  auto other = blobs().Reserve(dropped.size());
  SOP_ASSERT_OK(other);
  SOP_ASSERT_OK(blobs().Write(*other, dropped));
  WriteBatch batch;
  batch.PutWritten(*id);
  SOP_ASSERT_OK(blobs().Apply(batch));
  Reopen();
  EXPECT_EQ(*blobs().Read(*id), stored);
  if (file_backed()) {
    // Never stored: its pages are free again, and taken by the next blob.
    auto next = blobs().Reserve(dropped.size());
    SOP_ASSERT_OK(next);
    EXPECT_EQ(next->page, other->page);
  } else {
    blobs().Release(*other);
    EXPECT_FALSE(blobs().Read(*other).ok());
  }
}

TEST_P(BackendContractTest, UnfinishedWriterCannotBePut) {
  auto writer = blobs().NewWriter(10);
  SOP_ASSERT_OK(writer);
  SOP_ASSERT_OK((*writer)->Append("12345"));
  EXPECT_TRUE(absl::IsInvalidArgument((*writer)->Finish().status()));
}

TEST_P(BackendContractTest, PreparedBatchIsInvisibleUntilCommitted) {
  auto id = blobs().Reserve(4);
  SOP_ASSERT_OK(id);
  WriteBatch batch;
  batch.Put(*id, "prep");
  batch.SetMeta("state", "committed");
  SOP_ASSERT_OK(blobs().Prepare(batch, "xid-1"));
  EXPECT_TRUE(absl::IsAlreadyExists(blobs().Prepare(WriteBatch(), "xid-1")));
  EXPECT_TRUE(absl::IsNotFound(blobs().GetMeta("state").status()));
  EXPECT_EQ(blobs().InDoubt(), std::vector<std::string>{"xid-1"});
  SOP_ASSERT_OK(blobs().CommitPrepared("xid-1"));
  EXPECT_TRUE(blobs().InDoubt().empty());
  EXPECT_EQ(*blobs().GetMeta("state"), "committed");
  EXPECT_EQ(*blobs().Read(*id), "prep");
  EXPECT_TRUE(absl::IsNotFound(blobs().CommitPrepared("xid-1")));
  EXPECT_TRUE(absl::IsNotFound(blobs().AbortPrepared("nope")));
}

TEST_P(BackendContractTest, AbortedBatchLeavesNothing) {
  auto id = blobs().Reserve(4);
  SOP_ASSERT_OK(id);
  WriteBatch batch;
  batch.Put(*id, "gone");
  batch.SetMeta("state", "aborted");
  SOP_ASSERT_OK(blobs().Prepare(batch, "xid-2"));
  SOP_ASSERT_OK(blobs().AbortPrepared("xid-2"));
  Reopen();
  EXPECT_TRUE(blobs().InDoubt().empty());
  EXPECT_TRUE(absl::IsNotFound(blobs().GetMeta("state").status()));
}

TEST_P(BackendContractTest, CommitLogReplaysDurableRecordsAfterAPosition) {
  CommitLog* log = backend_->log();
  ASSERT_NE(log, nullptr);
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 5; ++i) {
    auto seq = log->Append("rec" + std::to_string(i));
    SOP_ASSERT_OK(seq);
    seqs.push_back(*seq);
  }
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(log->last_seq(), seqs.back());
  Reopen();
  log = backend_->log();
  std::vector<std::string> seen;
  SOP_ASSERT_OK(log->Replay(seqs[1], [&](const LogRecord& r) {
    seen.push_back(r.payload);
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"rec2", "rec3", "rec4"}));
  // Trimmed records may go at the next checkpoint; untrimmed ones stay.
  log->Trim(seqs[2]);
  SOP_ASSERT_OK(blobs().Checkpoint());
  Reopen();
  seen.clear();
  SOP_ASSERT_OK(backend_->log()->Replay(seqs[2], [&](const LogRecord& r) {
    seen.push_back(r.payload);
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"rec3", "rec4"}));
}

INSTANTIATE_TEST_SUITE_P(MemoryAndFile, BackendContractTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "File" : "Memory";
                         });

}  // namespace
}  // namespace sop
