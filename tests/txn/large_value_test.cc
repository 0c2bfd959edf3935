// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Values from 0 B to 256 MiB streamed in by chunks and read back by chunks
// and through the zero-copy view, across a reopen. Content is generated per
// chunk, so no test step holds a whole large value in memory.

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"
#include "util/coding.h"

namespace sop {
namespace {

using testing::Pattern;
using testing::TempDir;

constexpr size_t kChunk = 1 << 20;

std::string Chunk(uint64_t size, uint64_t index) {
  uint64_t start = index * kChunk;
  return Pattern(size * 131 + index, std::min<uint64_t>(kChunk, size - start));
}

class LargeValueTest : public ::testing::Test {
 protected:
  void Open() {
    db_.reset();
    auto db = Database::Open(dir_.File("db"));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(LargeValueTest, ValuesFromZeroTo256MiBStreamInAndOutByChunksAndByView) {
  const std::vector<uint64_t> sizes = {
      0, 1, 1000, 1025, kChunk, kChunk + 1, 16 * kChunk + 7, 256 * kChunk};
  Open();
  {
    auto t = db_->Begin(TxnMode::kReadWrite);
    SOP_ASSERT_OK(t);
    auto s = (*t)->OpenStore("models");
    SOP_ASSERT_OK(s);
    for (uint64_t size : sizes) {
      auto w = (*s)->NewValueWriter(absl::StrCat("v", size), size);
      SOP_ASSERT_OK(w);
      for (uint64_t i = 0; i * kChunk < size; ++i) SOP_ASSERT_OK((*w)->Append(Chunk(size, i)));
      EXPECT_TRUE(absl::IsInvalidArgument((*w)->Append("x")));
      SOP_ASSERT_OK((*w)->Finish());
    }
    SOP_ASSERT_OK((*t)->Commit());
  }
  Open();
  auto t = db_->Begin(TxnMode::kReadOnly);
  SOP_ASSERT_OK(t);
  auto s = (*t)->OpenStore("models");
  SOP_ASSERT_OK(s);
  for (uint64_t size : sizes) {
    auto r = (*s)->NewValueReader(absl::StrCat("v", size));
    SOP_ASSERT_OK(r);
    ASSERT_EQ((*r)->size(), size);
    std::string buf;
    for (uint64_t i = 0; i * kChunk < size; ++i) {
      std::string want = Chunk(size, i);
      buf.resize(want.size());
      SOP_ASSERT_OK((*r)->Read(i * kChunk, absl::MakeSpan(buf)));
      ASSERT_TRUE(buf == want) << "value of " << size << " bytes, chunk " << i;
    }
    auto view = (*r)->View();
    SOP_ASSERT_OK(view);
    ASSERT_EQ(view->size(), size);
    for (uint64_t i = 0; i * kChunk < size; ++i) {
      ASSERT_TRUE(view->substr(i * kChunk, kChunk) == Chunk(size, i))
          << "view of " << size << " bytes, chunk " << i;
    }
    std::string past(2, '\0');
    EXPECT_TRUE(absl::IsInvalidArgument((*r)->Read(size, absl::MakeSpan(past))));
  }
  SOP_EXPECT_OK(db_->Verify());
}

TEST_F(LargeValueTest, AnUnfinishedWriterStoresNothing) {
  Open();
  auto t = db_->Begin(TxnMode::kReadWrite);
  auto s = (*t)->OpenStore("s");
  {
    auto w = (*s)->NewValueWriter("k", 5000);
    SOP_ASSERT_OK(w);
    SOP_ASSERT_OK((*w)->Append(std::string(4000, 'a')));
    EXPECT_TRUE(absl::IsInvalidArgument((*w)->Finish()));
  }
  EXPECT_TRUE(absl::IsNotFound((*s)->Get("k").status()));
  SOP_ASSERT_OK((*t)->Commit());
}

// A transaction refused for a conflict (at commit or at prepare) had already made its large values
// durable (they go before the commit record): the refusal must give their
// space back, or every retried conflict leaks a value's worth of file.
TEST_F(LargeValueTest, AConflictGivesTheLosersValuesBack) {
  Open();
  const std::string big(1 << 20, 'v');
  for (int round = 0; round < 30; ++round) {
    auto a = db_->Begin(TxnMode::kReadWrite);
    auto b = db_->Begin(TxnMode::kReadWrite);
    SOP_ASSERT_OK(a);
    SOP_ASSERT_OK(b);
    auto sa = (*a)->OpenStore("s");
    auto sb = (*b)->OpenStore("s");
    SOP_ASSERT_OK(sa);
    SOP_ASSERT_OK(sb);
    SOP_ASSERT_OK((*sa)->Put("k", big));
    SOP_ASSERT_OK((*sb)->Put("k", big));
    SOP_ASSERT_OK((*a)->Commit());
    // The loser is refused at commit, or at prepare in a two-phase commit.
    auto lost = round % 2 == 0 ? (*b)->Commit() : (*b)->Prepare(absl::StrCat("x", round));
    ASSERT_TRUE(absl::IsAborted(lost)) << lost;
    SOP_ASSERT_OK(db_->Checkpoint());  // frees what is free, for the next round to reuse
  }
  // A few values' worth (the live one, those freed and not yet reused, nodes
  // and slack), not 30 lost ones.
  EXPECT_LT(std::filesystem::file_size(dir_.File("db")), 8u << 20);
  Open();  // and the space stays given back across a reopen
  SOP_ASSERT_OK(db_->Verify());
  {
    auto t = db_->Begin(TxnMode::kReadOnly);
    auto v = (*(*t)->OpenStore("s"))->Get("k");
    SOP_ASSERT_OK(v);
    EXPECT_EQ(*v, big);
  }
  db_.reset();
  EXPECT_LT(std::filesystem::file_size(dir_.File("db")), 8u << 20);
}

TEST_F(LargeValueTest, ADamagedValueIsDataLossNotGarbage) {
  Open();
  {
    auto t = db_->Begin(TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    SOP_ASSERT_OK((*s)->Put("k", Pattern(3, 3 * kChunk)));
    SOP_ASSERT_OK((*t)->Commit());
  }
  db_.reset();
  // Flip a byte in the middle of the value's second chunk: find it by content.
  std::string path = dir_.File("db");
  std::string raw = testing::ReadFileBytes(path);
  std::string needle = Pattern(3, 3 * kChunk).substr(kChunk + 1000, 64);
  size_t at = raw.find(needle);
  ASSERT_NE(at, std::string::npos);
  raw[at] ^= 0x10;
  testing::WriteFileBytes(path, raw);
  Open();
  auto t = db_->Begin(TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("s");
  SOP_ASSERT_OK(s);
  EXPECT_TRUE(absl::IsDataLoss((*s)->Get("k").status()));
  auto r = (*s)->NewValueReader("k");
  SOP_ASSERT_OK(r);
  std::string first(100, '\0');
  SOP_EXPECT_OK((*r)->Read(0, absl::MakeSpan(first)));  // chunk 0 is intact
  std::string second(100, '\0');
  EXPECT_TRUE(absl::IsDataLoss((*r)->Read(kChunk + 900, absl::MakeSpan(second))));
  EXPECT_TRUE(absl::IsDataLoss((*r)->View().status()));
  EXPECT_TRUE(absl::IsDataLoss(db_->Verify()));
}

TEST_F(LargeValueTest, ADamagedNodeIsDataLossNotACrash) {
  Open();
  {
    auto t = db_->Begin(TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    for (int i = 0; i < 5000; ++i) {
      SOP_ASSERT_OK((*s)->Put(absl::StrCat("key-", 100000 + i), "value-for-the-node"));
    }
    SOP_ASSERT_OK((*t)->Commit());
  }
  db_.reset();
  std::string path = dir_.File("db");
  std::string raw = testing::ReadFileBytes(path);
  size_t at = raw.find("key-102500");
  ASSERT_NE(at, std::string::npos);
  raw[at + 3] ^= 0x01;
  testing::WriteFileBytes(path, raw);
  Open();
  auto t = db_->Begin(TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("s");
  SOP_ASSERT_OK(s);
  auto got = (*s)->Get("key-102500");
  ASSERT_TRUE(absl::IsDataLoss(got.status())) << got.status();
  EXPECT_NE(got.status().message().find("page"), std::string::npos) << got.status();
  auto verify = db_->Verify();
  EXPECT_TRUE(absl::IsDataLoss(verify)) << verify;
}

}  // namespace
}  // namespace sop
