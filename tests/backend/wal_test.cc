// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "backend/file/wal.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "test_util.h"
#include "util/coding.h"
#include "util/mutex.h"

namespace sop {
namespace {

class WalTest : public ::testing::Test {
 protected:
  WalTest() : env_(NewMemEnv()) { SOP_EXPECT_OK(env_->CreateDir("/w")); }

  // The log's records (without the zeros it grows ahead of them).
  std::string Raw() {
    auto f = env_->OpenFile(path_, OpenMode::kExisting);
    std::string s(*(*f)->Size(), '\0');
    EXPECT_TRUE(ReadExactly(**f, 0, absl::MakeSpan(s)).ok());
    return testing::WithoutZeroTail(s);
  }
  void WriteRaw(const std::string& s) {
    auto f = env_->OpenFile(path_, OpenMode::kExisting);
    ASSERT_TRUE((*f)->Truncate(0).ok());
    ASSERT_TRUE((*f)->WriteAt(0, s).ok());
  }
  // Appends records "r1".."rN", each in its own group.
  void Fill(int n) {
    auto wal = Wal::Create(env_.get(), path_, 0);
    SOP_ASSERT_OK(wal);
    for (int i = 1; i <= n; ++i) {
      auto seq =
          (*wal)->Append(WalRecordType::kLog, "r" + std::to_string(i) + std::string(40, 'x'));
      SOP_ASSERT_OK(seq);
      EXPECT_EQ(*seq, static_cast<uint64_t>(i));
    }
  }

  std::unique_ptr<Env> env_;
  std::string path_ = "/w/db-wal";
};

TEST_F(WalTest, RecordsComeBackInOrderAfterReopen) {
  Fill(10);
  std::vector<WalRecord> records;
  auto wal = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(wal);
  ASSERT_EQ(records.size(), 10u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].seq, i + 1);
    EXPECT_EQ(records[i].payload, "r" + std::to_string(i + 1) + std::string(40, 'x'));
  }
  auto seq = (*wal)->Append(WalRecordType::kLog, "next");
  SOP_ASSERT_OK(seq);
  EXPECT_EQ(*seq, 11u);
}

// Found by fuzz_wal: records of a log whose base position is past the
// plausibility window measured from 0 were dropped as garbage on reopen.
TEST_F(WalTest, ALogFarAlongKeepsItsRecords) {
  const uint64_t base = (uint64_t{1} << 41) + 5;
  {
    auto wal = Wal::Create(env_.get(), path_, base);
    SOP_ASSERT_OK(wal);
    for (int i = 1; i <= 3; ++i) {
      auto seq = (*wal)->Append(WalRecordType::kLog, "r" + std::to_string(i));
      SOP_ASSERT_OK(seq);
      EXPECT_EQ(*seq, base + i);
    }
  }
  std::vector<WalRecord> records;
  auto wal = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(wal);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.back().seq, base + 3);
  wal->reset();
  // A header claiming a position no log can reach is damage.
  auto bad = Wal::Create(env_.get(), path_, uint64_t{1} << 63);
  SOP_ASSERT_OK(bad);
  bad->reset();
  EXPECT_TRUE(absl::IsDataLoss(Wal::Open(env_.get(), path_, &records).status()));
}

TEST_F(WalTest, TornTailIsCutOffSilently) {
  Fill(5);
  std::string raw = Raw();
  for (size_t cut = raw.size() - 1; cut > raw.size() - 80; --cut) {
    WriteRaw(raw.substr(0, cut));
    std::vector<WalRecord> records;
    auto wal = Wal::Open(env_.get(), path_, &records);
    SOP_ASSERT_OK(wal);
    EXPECT_EQ(records.size(), 4u) << "cut at " << cut;
    // And the file was cut where the good records end, so appends follow them.
    auto seq = (*wal)->Append(WalRecordType::kLog, "after");
    SOP_ASSERT_OK(seq);
    wal->reset();
    auto again = Wal::Open(env_.get(), path_, &records);
    SOP_ASSERT_OK(again);
    ASSERT_EQ(records.size(), 5u);
    EXPECT_EQ(records.back().payload, "after");
  }
}

TEST_F(WalTest, FlippedByteBeforeTheTailIsDataLossNamingTheOffset) {
  Fill(5);
  std::string raw = Raw();
  size_t record = (raw.size() - Wal::kHeaderSize) / 5;
  for (size_t pos = Wal::kHeaderSize; pos < Wal::kHeaderSize + 4 * record; pos += 7) {
    std::string damaged = raw;
    damaged[pos] ^= 0x20;
    WriteRaw(damaged);
    std::vector<WalRecord> records;
    auto wal = Wal::Open(env_.get(), path_, &records);
    ASSERT_TRUE(absl::IsDataLoss(wal.status())) << "flip at " << pos << ": " << wal.status();
    size_t bad_record = Wal::kHeaderSize + (pos - Wal::kHeaderSize) / record * record;
    EXPECT_NE(wal.status().message().find("offset " + std::to_string(bad_record)),
              std::string::npos)
        << wal.status();
    EXPECT_NE(wal.status().message().find(path_), std::string::npos);
  }
}

TEST_F(WalTest, DamagedHeaderIsDataLossAndForeignFileIsFailedPrecondition) {
  Fill(1);
  std::string raw = Raw();
  std::vector<WalRecord> records;
  raw[20] ^= 1;
  WriteRaw(raw);
  EXPECT_TRUE(absl::IsDataLoss(Wal::Open(env_.get(), path_, &records).status()));
  WriteRaw("this is not a log file, but it is long enough to hold a header......");
  EXPECT_TRUE(absl::IsFailedPrecondition(Wal::Open(env_.get(), path_, &records).status()));
}

TEST_F(WalTest, ConcurrentAppendersShareSyncsAndGetDistinctOrderedSeqs) {
  auto wal = Wal::Create(env_.get(), path_, 0);
  SOP_ASSERT_OK(wal);
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto seq = (*wal)->Append(WalRecordType::kLog, std::to_string(t) + ":" + std::to_string(i));
        ASSERT_TRUE(seq.ok());
        seqs[t].push_back(*seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<WalRecord> records;
  wal->reset();
  auto reopened = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(reopened);
  ASSERT_EQ(records.size(), static_cast<size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    // Each thread's records are in the log in the order it appended them.
    EXPECT_TRUE(std::is_sorted(seqs[t].begin(), seqs[t].end()));
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ(records[seqs[t][i] - 1].payload, std::to_string(t) + ":" + std::to_string(i));
    }
  }
}

// Files whose Sync takes 2 ms, like a SATA SSD's, and counts itself.
class SlowSyncEnv : public EnvWrapper {
 public:
  explicit SlowSyncEnv(Env* base) : EnvWrapper(base) {}
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    auto f = EnvWrapper::OpenFile(path, mode);
    if (!f.ok()) return f;
    return std::unique_ptr<File>(new SlowFile(std::move(*f), &syncs));
  }
  std::atomic<int> syncs{0};

 private:
  class SlowFile : public FileWrapper {
   public:
    SlowFile(std::unique_ptr<File> base, std::atomic<int>* syncs)
        : FileWrapper(std::move(base)), syncs_(syncs) {}
    absl::Status Sync() override {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ++*syncs_;
      return FileWrapper::Sync();
    }

   private:
    std::atomic<int>* const syncs_;
  };
};

// Where a sync is long, waiting committers stop yielding and sleep (decision
// 0016); they must still be woken for their group's result and to lead.
TEST_F(WalTest, AppendersOnASlowDiskSleepAndStillShareSyncs) {
  SlowSyncEnv slow(env_.get());
  auto wal = Wal::Create(&slow, path_, 0);
  SOP_ASSERT_OK(wal);
  const int created_syncs = slow.syncs.load();
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> appended{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto seq = (*wal)->Append(WalRecordType::kLog, std::to_string(t) + ":" + std::to_string(i));
        if (seq.ok()) ++appended;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(appended.load(), kThreads * kPerThread);
  // Eight appenders and a 2 ms sync: groups form (one sync per append
  // would be 200).
  EXPECT_LE(slow.syncs.load() - created_syncs, kThreads * kPerThread / 2);
  std::vector<WalRecord> records;
  wal->reset();
  SOP_ASSERT_OK(Wal::Open(env_.get(), path_, &records));
  EXPECT_EQ(records.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(WalTest, FailedSyncMakesEveryLaterAppendFail) {
  FaultInjectionEnv fenv(env_.get());
  auto wal = Wal::Create(&fenv, path_, 0);
  SOP_ASSERT_OK(wal);
  SOP_ASSERT_OK((*wal)->Append(WalRecordType::kLog, "ok"));
  fenv.InjectFault(FaultInjectionEnv::Op::kSync, absl::UnavailableError("EIO on fsync"));
  EXPECT_FALSE((*wal)->Append(WalRecordType::kLog, "lost").ok());
  auto later = (*wal)->Append(WalRecordType::kLog, "refused");
  EXPECT_FALSE(later.ok());
  EXPECT_NE(later.status().message().find("read-only"), std::string::npos) << later.status();
}

TEST_F(WalTest, AfterAFailedWriteNothingIsLoggedUntilResume) {
  FaultInjectionEnv fenv(env_.get());
  auto wal = Wal::Create(&fenv, path_, 0);
  SOP_ASSERT_OK(wal);
  fenv.SetFreeSpace(0);  // a full disk
  uint64_t a = (*wal)->Enqueue(WalRecordType::kLog, "a");
  uint64_t b = (*wal)->Enqueue(WalRecordType::kLog, "b, built on a");
  EXPECT_TRUE(absl::IsResourceExhausted((*wal)->Await(a).status()));
  EXPECT_FALSE((*wal)->Await(b).ok());  // b was enqueued behind a: refused too
  EXPECT_FALSE((*wal)->Append(WalRecordType::kLog, "c").ok());
  fenv.SetFreeSpace(std::nullopt);
  EXPECT_FALSE((*wal)->Append(WalRecordType::kLog, "c").ok());  // still refused
  (*wal)->Resume();
  auto d = (*wal)->Append(WalRecordType::kLog, "d");
  SOP_ASSERT_OK(d);
  std::vector<WalRecord> records;
  wal->reset();
  auto again = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(again);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].payload, "d");
}

TEST_F(WalTest, GrowsAheadOfItsRecordsAndFallsBackToTheGroupAloneOnAFullDisk) {
  FaultInjectionEnv fenv(env_.get());
  auto wal = Wal::Create(&fenv, path_, 0);
  SOP_ASSERT_OK(wal);
  SOP_ASSERT_OK((*wal)->Append(WalRecordType::kLog, "first"));
  auto f = env_->OpenFile(path_, OpenMode::kExisting);
  SOP_ASSERT_OK(f);
  EXPECT_GE(*(*f)->Size(), Wal::kHeaderSize + Wal::kPreallocBytes);  // zeros ahead
  // Room for the group but not for growing ahead: the group still commits.
  fenv.SetFreeSpace(1024);
  SOP_ASSERT_OK((*wal)->Append(WalRecordType::kLog, std::string(Wal::kPreallocBytes, 'x')));
  fenv.SetFreeSpace(std::nullopt);
  SOP_ASSERT_OK((*wal)->Append(WalRecordType::kLog, "third"));
  wal->reset();
  std::vector<WalRecord> records;
  auto again = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(again);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].payload, "third");
}

TEST_F(WalTest, RewriteKeepsSelectedRecordsAndSeqsContinue) {
  Fill(6);
  std::vector<WalRecord> records;
  auto wal = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(wal);
  SOP_ASSERT_OK((*wal)->Rewrite(4, [](const WalRecordView& r) { return r.seq > 4; }));
  auto seq = (*wal)->Append(WalRecordType::kLog, "seven");
  SOP_ASSERT_OK(seq);
  EXPECT_EQ(*seq, 7u);
  wal->reset();
  auto again = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(again);
  EXPECT_EQ((*again)->base_seq(), 4u);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].seq, 5u);
  EXPECT_EQ(records[2].payload, "seven");
  EXPECT_FALSE(env_->FileExists(path_ + ".tmp"));
}

// Passes over the synced log (ForEach, Rewrite) read it a window at a time:
// records cut by a window's end, and one larger than a window, come back
// whole; a damaged record in the middle is DataLoss, not a shorter log.
TEST_F(WalTest, PassesOverALogLargerThanTheirWindowSeeEveryRecordWhole) {
  std::vector<std::string> payloads;
  {
    auto wal = Wal::Create(env_.get(), path_, 0);
    SOP_ASSERT_OK(wal);
    for (int i = 0; i < 40; ++i) {
      payloads.push_back(testing::Pattern(i, i == 17 ? (5 << 20) / 2 : 100003 + i));
      SOP_ASSERT_OK((*wal)->Append(WalRecordType::kLog, payloads.back()));
    }
  }
  std::vector<WalRecord> records;
  auto wal = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(wal);
  size_t seen = 0;
  SOP_ASSERT_OK((*wal)->ForEach([&](const WalRecordView& r) {
    EXPECT_EQ(r.seq, seen + 1);
    EXPECT_TRUE(r.payload == payloads[seen]) << "record " << r.seq;
    ++seen;
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, payloads.size());
  SOP_ASSERT_OK((*wal)->Rewrite(0, [](const WalRecordView& r) { return r.seq % 2 == 0; }));
  wal->reset();
  wal = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(wal);
  ASSERT_EQ(records.size(), payloads.size() / 2);
  for (const WalRecord& r : records) {
    EXPECT_TRUE(r.payload == payloads[r.seq - 1]) << "record " << r.seq;
  }

  // A byte of the 2.5 MiB record flipped under the open log, records after it.
  std::string raw = Raw();
  raw[raw.size() / 2] ^= 0x01;
  WriteRaw(raw);
  EXPECT_TRUE(
      absl::IsDataLoss((*wal)->ForEach([](const WalRecordView&) { return absl::OkStatus(); })));
  EXPECT_TRUE(absl::IsDataLoss((*wal)->Rewrite(0, [](const WalRecordView&) { return true; })));
}

// A rewrite copies the synced records without holding appends off: an
// append made while it copies completes at once, and the rewritten log
// carries it (copied in the rewrite's second pass).
TEST_F(WalTest, AppendsGoOnWhileARewriteCopies) {
  Fill(50);
  std::vector<WalRecord> records;
  auto wal = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(wal);
  Mutex mu;
  CondVar cv;
  bool copying = false, appended = false;
  std::thread rewriter([&] {
    SOP_EXPECT_OK((*wal)->Rewrite(40, [&](const WalRecordView& r) {
      if (r.seq == 1) {  // the first record copied: hold the copy until the append is done
        MutexLock lock(&mu);
        copying = true;
        cv.SignalAll();
        for (int i = 0; i < 500 && !appended; ++i) cv.WaitFor(&mu, std::chrono::milliseconds(10));
        EXPECT_TRUE(appended) << "an append waited for the rewrite's copy";
      }
      return r.seq > 40;
    }));
  });
  {
    MutexLock lock(&mu);
    while (!copying) cv.Wait(&mu);
  }
  auto seq = (*wal)->Append(WalRecordType::kLog, "during");
  SOP_ASSERT_OK(seq);
  EXPECT_EQ(*seq, 51u);
  {
    MutexLock lock(&mu);
    appended = true;
    cv.SignalAll();
  }
  rewriter.join();
  SOP_ASSERT_OK((*wal)->Append(WalRecordType::kLog, "after"));
  wal->reset();
  auto again = Wal::Open(env_.get(), path_, &records);
  SOP_ASSERT_OK(again);
  EXPECT_EQ((*again)->base_seq(), 40u);
  ASSERT_EQ(records.size(), 12u);  // 41..50, "during", "after"
  EXPECT_EQ(records[0].seq, 41u);
  EXPECT_EQ(records[10].payload, "during");
  EXPECT_EQ(records[11].seq, 52u);
  EXPECT_EQ(records[11].payload, "after");
}

}  // namespace
}  // namespace sop
