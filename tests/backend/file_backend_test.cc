// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "backend/file/data_file.h"
#include "gtest/gtest.h"
#include "sop/backend.h"
#include "sop/fault_injection_env.h"
#include "test_util.h"
#include "util/coding.h"

namespace sop {
namespace {

using testing::Pattern;
using testing::TempDir;

using testing::ReadFileBytes;
using testing::WriteFileBytes;

class FileBackendTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<Backend>> Open(FileBackendOptions options = {}) {
    if (options.env == nullptr) options.env = env_;
    return OpenFileBackend(path_, options);
  }
  static BlobId Put(Backend& b, const std::string& data, const std::string& meta = "") {
    auto id = b.blobs().Reserve(data.size());
    EXPECT_TRUE(id.ok()) << id.status();
    WriteBatch batch;
    batch.Put(*id, data);
    if (!meta.empty()) batch.SetMeta(meta, data.substr(0, 16));
    auto st = b.blobs().Apply(batch);
    EXPECT_TRUE(st.ok()) << st;
    return *id;
  }

  TempDir dir_;
  std::string path_ = dir_.File("db");
  Env* env_ = Env::Default();
};

TEST_F(FileBackendTest, CreatesFilesAndRefusesMissingWithoutCreate) {
  FileBackendOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_TRUE(absl::IsNotFound(Open(no_create).status()));
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
  }
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
  SOP_EXPECT_OK(Open(no_create));
}

TEST_F(FileBackendTest, BadPageSizeIsInvalidArgumentAndOtherPageSizesWork) {
  FileBackendOptions bad;
  bad.page_size = 3000;
  EXPECT_TRUE(absl::IsInvalidArgument(Open(bad).status()));
  for (uint32_t ps : {512u, 16384u}) {
    TempDir d;
    FileBackendOptions o;
    o.page_size = ps;
    BlobId id;
    {
      auto b = OpenFileBackend(d.File("db"), o);
      SOP_ASSERT_OK(b);
      id = Put(**b, Pattern(ps, 3 * ps + 5));
    }
    auto b = OpenFileBackend(d.File("db"));  // the page size comes from the file
    SOP_ASSERT_OK(b);
    EXPECT_EQ(*(*b)->blobs().Read(id), Pattern(ps, 3 * ps + 5));
  }
}

TEST_F(FileBackendTest, SecondOpenInThisProcessIsRefusedNamingThePid) {
  auto first = Open();
  SOP_ASSERT_OK(first);
  auto second = Open();
  ASSERT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_NE(second.status().message().find(absl::StrCat(getpid())), std::string::npos);
}

TEST_F(FileBackendTest, SecondProcessGetsFailedPreconditionNamingTheHolder) {
  auto first = Open();
  SOP_ASSERT_OK(first);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto b = OpenFileBackend(path_);
    std::string report = b.ok() ? "OPENED" : b.status().ToString();
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, n);
  ::close(fds[0]);
  ::waitpid(child, nullptr, 0);
  EXPECT_NE(report.find("FAILED_PRECONDITION"), std::string::npos) << report;
  EXPECT_NE(report.find(absl::StrCat("process ", getpid())), std::string::npos) << report;
}

TEST_F(FileBackendTest, NotASopFileIsFailedPrecondition) {
  WriteFileBytes(path_, std::string(8192, 'z'));
  auto b = Open();
  EXPECT_TRUE(absl::IsFailedPrecondition(b.status())) << b.status();
  std::filesystem::create_directory(dir_.File("adir"));
  auto d = OpenFileBackend(dir_.File("adir"));
  EXPECT_FALSE(d.ok());
}

// The data file's header names a log position. Past 2^62 it is damage; a log
// that ends before it is another file's log (the one a compacted copy took
// over): harmless when empty, DataLoss when it holds records.
TEST_F(FileBackendTest, LogPositionsTheHeaderNamesAreChecked) {
  auto set_header_position = [&](uint64_t last_seq) {
    auto f = env_->OpenFile(path_, OpenMode::kExisting);
    ASSERT_TRUE(f.ok());
    auto h = DataFile::ReadHeader(**f);
    ASSERT_TRUE(h.ok()) << h.status();
    DataFile df(*std::move(f), h->page_size);
    DataFile::Header next = *h;
    ++next.checkpoint_no;
    next.last_seq = last_seq;
    SOP_ASSERT_OK(df.WriteHeader(next));
    SOP_ASSERT_OK(df.file().Sync());
  };
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    Put(**b, "before");
  }
  set_header_position(uint64_t{1} << 63);
  auto impossible = Open();
  EXPECT_TRUE(absl::IsDataLoss(impossible.status())) << impossible.status();

  set_header_position(10);  // ahead of the (empty) log: a fresh log is started
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    auto seq = (*b)->log()->Append("after the takeover");
    SOP_ASSERT_OK(seq);
    EXPECT_GT(*seq, 10u);  // new records come after the data file's position
  }
  {
    std::vector<std::string> replayed;
    auto b = Open();
    SOP_ASSERT_OK(b);
    SOP_ASSERT_OK((*b)->log()->Replay(10, [&](const LogRecord& r) {
      replayed.emplace_back(r.payload);
      return absl::OkStatus();
    }));
    EXPECT_EQ(replayed, std::vector<std::string>{"after the takeover"});
  }
  set_header_position(1000);  // ahead of a log that holds records: not its log
  auto foreign = Open();
  EXPECT_TRUE(absl::IsDataLoss(foreign.status())) << foreign.status();
}

TEST_F(FileBackendTest, FlippedByteInADataPageIsDataLossNamingFileAndOffset) {
  BlobId id;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    id = Put(**b, Pattern(1, 10000));
  }
  std::string raw = ReadFileBytes(path_);
  uint64_t offset = id.page * 4096 + 32 + 5000;
  raw[offset] ^= 0x01;
  WriteFileBytes(path_, raw);
  auto b = Open();
  SOP_ASSERT_OK(b);
  auto got = (*b)->blobs().Read(id);
  ASSERT_TRUE(absl::IsDataLoss(got.status())) << got.status();
  EXPECT_NE(got.status().message().find(path_), std::string::npos) << got.status();
  EXPECT_NE(got.status().message().find(
                absl::StrCat("page ", id.page, " at offset ", id.page * 4096 + 32)),
            std::string::npos)
      << got.status();
}

// Blobs past the one-read size and past one chunk are read straight into
// the caller's buffer, a unit (blob or chunk) at a time: a flipped byte
// fails exactly the reads whose range touches its unit, whole or cut.
TEST_F(FileBackendTest, FlippedByteInALargeBlobFailsOnlyTheReadsThatTouchItsChunk) {
  const uint64_t kChunk = DataFile::kChunkSize;
  const std::string one_chunk = Pattern(2, 64 << 10);
  const std::string three_chunks = Pattern(3, 2 * kChunk + 4321);
  BlobId small, large;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    small = Put(**b, one_chunk);
    large = Put(**b, three_chunks);
  }
  auto content = [](BlobId id) { return id.page * 4096 + 32; };
  std::string raw = ReadFileBytes(path_);
  raw[content(small) + 40000] ^= 0x01;
  raw[content(large) + kChunk + 7] ^= 0x01;  // chunk 1
  WriteFileBytes(path_, raw);
  auto b = Open();
  SOP_ASSERT_OK(b);
  BlobStore& blobs = (*b)->blobs();

  auto whole = blobs.Read(small);
  EXPECT_TRUE(absl::IsDataLoss(whole.status())) << whole.status();
  std::string window(100, '\0');
  EXPECT_TRUE(absl::IsDataLoss(blobs.ReadRange(small, 5, absl::MakeSpan(window))));

  whole = blobs.Read(large);
  ASSERT_TRUE(absl::IsDataLoss(whole.status())) << whole.status();
  EXPECT_NE(whole.status().message().find("chunk 1"), std::string::npos) << whole.status();
  struct Case {
    uint64_t offset, size;
    bool damaged;
  };
  for (Case c : {Case{0, kChunk, false}, Case{10, 100, false}, Case{kChunk - 50, 100, true},
                 Case{kChunk, kChunk, true}, Case{2 * kChunk, 4321, false},
                 Case{2 * kChunk - 1, 2, true}, Case{2 * kChunk + 1, 4320, false}}) {
    std::string got(c.size, '\0');
    absl::Status st = blobs.ReadRange(large, c.offset, absl::MakeSpan(got));
    if (c.damaged) {
      EXPECT_TRUE(absl::IsDataLoss(st)) << c.offset << "+" << c.size << ": " << st;
    } else {
      SOP_EXPECT_OK(st);
      EXPECT_TRUE(got == three_chunks.substr(c.offset, c.size)) << c.offset << "+" << c.size;
    }
  }
}

// Counts the writeback hints the data file is given.
class WritebackCountingEnv : public EnvWrapper {
 public:
  explicit WritebackCountingEnv(Env* base) : EnvWrapper(base) {}
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    auto f = base()->OpenFile(path, mode);
    if (!f.ok()) return f;
    return std::unique_ptr<File>(new CountingFile(this, *std::move(f)));
  }
  std::atomic<int> hints{0};

 private:
  class CountingFile : public FileWrapper {
   public:
    CountingFile(WritebackCountingEnv* env, std::unique_ptr<File> f)
        : FileWrapper(std::move(f)), env_(env) {}
    void StartWriteback() override {
      ++env_->hints;
      FileWrapper::StartWriteback();
    }

   private:
    WritebackCountingEnv* const env_;
  };
};

// Large writes start the disk on their bytes as they go (a hint every few
// MiB), so that the sync that ends them has little left; the bytes are the
// same, and durable only once synced.
TEST_F(FileBackendTest, LargeWritesStartWritebackEveryFewMegabytes) {
  WritebackCountingEnv env(Env::Default());
  FileBackendOptions o;
  o.env = &env;
  const std::string value = Pattern(9, 20 << 20);
  BlobId id;
  {
    auto b = Open(o);
    SOP_ASSERT_OK(b);
    auto w = (*b)->blobs().NewWriter(value.size());
    SOP_ASSERT_OK(w);
    for (size_t at = 0; at < value.size(); at += 1 << 20) {
      SOP_ASSERT_OK((*w)->Append(absl::string_view(value).substr(at, 1 << 20)));
    }
    auto finished = (*w)->Finish();
    SOP_ASSERT_OK(finished);
    id = *finished;
    WriteBatch batch;
    batch.PutWritten(id);
    SOP_ASSERT_OK((*b)->blobs().Apply(batch));
    const int hints = env.hints;
    EXPECT_GE(hints, 20 / (DataFile::kWritebackBytes >> 20));
    EXPECT_LE(hints, 20 / (DataFile::kWritebackBytes >> 20) + 1);
  }
  auto b = Open(o);
  SOP_ASSERT_OK(b);
  EXPECT_TRUE(*(*b)->blobs().Read(id) == value);
}

// A batch that trims the log (WriteBatch::TrimLog) releases the records
// once durable: the checkpoint the backend runs on its own right after, the
// log being past its size, drops them instead of copying them. A batch that
// does not trim leaves them, for the caller to trim later.
TEST_F(FileBackendTest, ABatchThatTrimsTheLogLetsTheBackendsOwnCheckpointDropTheRecords) {
  FileBackendOptions o;
  o.wal_checkpoint_bytes = 64 << 10;
  auto count = [](Backend& b) {
    int n = 0;
    EXPECT_TRUE(b.log()
                    ->Replay(0,
                             [&](const LogRecord&) {
                               ++n;
                               return absl::OkStatus();
                             })
                    .ok());
    return n;
  };
  for (bool trim : {false, true}) {
    TempDir dir;
    auto b = OpenFileBackend(dir.File("db"), o);
    SOP_ASSERT_OK(b);
    uint64_t last = 0;
    for (int i = 0; i < 100; ++i) {
      auto seq = (*b)->log()->Append(Pattern(i, 1000));
      SOP_ASSERT_OK(seq);
      last = *seq;
    }
    auto id = (*b)->blobs().Reserve(10);
    SOP_ASSERT_OK(id);
    WriteBatch batch;
    batch.Put(*id, "checkpoint");
    if (trim) batch.TrimLog(last);
    SOP_ASSERT_OK((*b)->blobs().Apply(batch));
    EXPECT_EQ(count(**b), trim ? 0 : 100) << (trim ? "trimmed" : "not trimmed");
    b->reset();
    b = OpenFileBackend(dir.File("db"), o);
    SOP_ASSERT_OK(b);
    EXPECT_EQ(count(**b), trim ? 0 : 100) << (trim ? "trimmed" : "not trimmed") << ", reopened";
  }
}

TEST_F(FileBackendTest, TornWalTailIsCutOffAndEarlierBatchesSurvive) {
  FaultInjectionEnv fenv(env_);
  env_ = &fenv;
  std::vector<BlobId> ids;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    for (int i = 0; i < 5; ++i) ids.push_back(Put(**b, Pattern(i, 3000), "m" + std::to_string(i)));
    fenv.CrashAfter(0);  // the power goes before the close can checkpoint
  }
  SOP_ASSERT_OK(fenv.SimulatePowerLoss({.seed = 3, .keep_some = false}));
  // Tear the last record: cut the WAL in the middle of it.
  std::string wal = testing::WithoutZeroTail(ReadFileBytes(path_ + "-wal"));
  WriteFileBytes(path_ + "-wal", wal.substr(0, wal.size() - 1500));
  auto b = Open();
  SOP_ASSERT_OK(b);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*(*b)->blobs().Read(ids[i]), Pattern(i, 3000));
  EXPECT_TRUE(absl::IsNotFound((*b)->blobs().GetMeta("m4").status()));
  // The store goes on: the torn bytes are gone from the file.
  Put(**b, "after", "after");
  b->reset();
  auto again = Open();
  SOP_ASSERT_OK(again);
  EXPECT_EQ(*(*again)->blobs().GetMeta("after"), "after");
}

TEST_F(FileBackendTest, FlippedByteInsideTheWalBeforeTheTailIsDataLoss) {
  FaultInjectionEnv fenv(env_);
  env_ = &fenv;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    for (int i = 0; i < 5; ++i) Put(**b, Pattern(i, 3000), "m" + std::to_string(i));
    fenv.CrashAfter(0);
  }
  SOP_ASSERT_OK(fenv.SimulatePowerLoss({.seed = 3, .keep_some = false}));
  std::string wal = ReadFileBytes(path_ + "-wal");
  wal[200] ^= 0x40;  // inside the first record
  WriteFileBytes(path_ + "-wal", wal);
  auto b = Open();
  ASSERT_TRUE(absl::IsDataLoss(b.status())) << b.status();
  EXPECT_NE(b.status().message().find(path_ + "-wal: offset 64"), std::string::npos) << b.status();
}

TEST_F(FileBackendTest, RecoveryReplaysBatchesWhoseDataPagesWereLost) {
  FaultInjectionEnv fenv(env_);
  env_ = &fenv;
  std::vector<BlobId> ids;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    for (int i = 0; i < 20; ++i) ids.push_back(Put(**b, Pattern(i, 100 + 700 * i)));
    fenv.CrashAfter(0);
  }
  // Data file pages were never synced; only the WAL was.
  SOP_ASSERT_OK(fenv.SimulatePowerLoss({.seed = 1, .keep_some = false}));
  auto b = Open();
  SOP_ASSERT_OK(b);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(*(*b)->blobs().Read(ids[i]), Pattern(i, 100 + 700 * i));
}

TEST_F(FileBackendTest, FailedFsyncMakesTheStoreRefuseWritesUntilReopen) {
  FaultInjectionEnv fenv(env_);
  env_ = &fenv;
  BlobId kept;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    kept = Put(**b, "committed before", "before");
    fenv.InjectFault(FaultInjectionEnv::Op::kSync, absl::UnavailableError("EIO on fsync"), "-wal");
    auto id = (*b)->blobs().Reserve(5);
    SOP_ASSERT_OK(id);
    WriteBatch batch;
    batch.Put(*id, "maybe");
    batch.SetMeta("maybe", "x");
    EXPECT_FALSE((*b)->blobs().Apply(batch).ok());
    // Never retried as if it had worked: every later write is refused.
    WriteBatch later;
    later.SetMeta("later", "y");
    auto st = (*b)->blobs().Apply(later);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("read-only"), std::string::npos) << st;
    EXPECT_FALSE((*b)->log()->Append("rec").ok());
    EXPECT_FALSE((*b)->blobs().Checkpoint().ok());
    EXPECT_EQ(*(*b)->blobs().Read(kept), "committed before");  // reads still work
  }
  SOP_ASSERT_OK(fenv.SimulatePowerLoss({.seed = 0, .keep_some = false}));
  auto b = Open();
  SOP_ASSERT_OK(b);
  EXPECT_EQ(*(*b)->blobs().Read(kept), "committed before");
  EXPECT_EQ(*(*b)->blobs().GetMeta("before"), "committed before");
  EXPECT_TRUE(absl::IsNotFound((*b)->blobs().GetMeta("maybe").status()));
  Put(**b, "works again", "again");
}

TEST_F(FileBackendTest, FullDiskFailsTheBatchKeepsEarlierDataAndLaterBatchesSucceed) {
  FaultInjectionEnv fenv(env_);
  env_ = &fenv;
  auto b = Open();
  SOP_ASSERT_OK(b);
  BlobId early = Put(**b, Pattern(1, 50000), "early");
  fenv.SetFreeSpace(20000);
  std::vector<BlobId> failed_ids;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto id = (*b)->blobs().Reserve(100000);
    SOP_ASSERT_OK(id);
    WriteBatch batch;
    batch.Put(*id, Pattern(2, 100000));
    batch.SetMeta("big", "yes");
    auto st = (*b)->blobs().Apply(batch);
    EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
    (*b)->blobs().Release(*id);
  }
  EXPECT_TRUE(absl::IsNotFound((*b)->blobs().GetMeta("big").status()));
  EXPECT_EQ(*(*b)->blobs().Read(early), Pattern(1, 50000));
  fenv.SetFreeSpace(std::nullopt);
  BlobId later = Put(**b, Pattern(3, 100000), "later");
  b->reset();
  auto again = Open();
  SOP_ASSERT_OK(again);
  EXPECT_EQ(*(*again)->blobs().Read(early), Pattern(1, 50000));
  EXPECT_EQ(*(*again)->blobs().Read(later), Pattern(3, 100000));
  EXPECT_TRUE(absl::IsNotFound((*again)->blobs().GetMeta("big").status()));
}

TEST_F(FileBackendTest, OverwritingTheSameDataKeepsTheFileUnderThreeTimesLiveSize) {
  FileBackendOptions o;
  o.wal_checkpoint_bytes = 4 << 20;
  auto b = Open(o);
  SOP_ASSERT_OK(b);
  constexpr int kBlobs = 40;
  constexpr size_t kSize = 256 << 10;  // 40 x 256 KiB = 10 MiB live
  std::vector<BlobId> live(kBlobs);
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < kBlobs; i += 4) {
      WriteBatch batch;
      for (int j = i; j < i + 4; ++j) {
        auto id = (*b)->blobs().Reserve(kSize);
        SOP_ASSERT_OK(id);
        batch.Put(*id, Pattern(round * kBlobs + j, kSize));
        if (round > 0) batch.Delete(live[j]);
        live[j] = *id;
      }
      SOP_ASSERT_OK((*b)->blobs().Apply(batch));
    }
  }
  SOP_ASSERT_OK((*b)->blobs().Checkpoint());
  uint64_t live_bytes = kBlobs * kSize;
  uint64_t file_bytes = std::filesystem::file_size(path_);
  EXPECT_LT(file_bytes, 3 * live_bytes) << "data file " << file_bytes << " for " << live_bytes;
  for (int j = 0; j < kBlobs; ++j) {
    EXPECT_TRUE(*(*b)->blobs().Read(live[j]) == Pattern(99 * kBlobs + j, kSize));
  }
  // Deleting everything gives the space back to the file system.
  WriteBatch clear;
  for (const BlobId& id : live) clear.Delete(id);
  SOP_ASSERT_OK((*b)->blobs().Apply(clear));
  SOP_ASSERT_OK((*b)->blobs().Checkpoint());
  SOP_ASSERT_OK((*b)->blobs().Checkpoint());  // the second frees the first's state blob
  EXPECT_LT(std::filesystem::file_size(path_), 64u << 10);
}

TEST_F(FileBackendTest, PreparedBatchSurvivesReopenInDoubtAndCommitMakesItVisible) {
  FaultInjectionEnv fenv(env_);
  env_ = &fenv;
  BlobId id;
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    auto r = (*b)->blobs().Reserve(6000);
    SOP_ASSERT_OK(r);
    id = *r;
    WriteBatch batch;
    batch.Put(id, Pattern(9, 6000));
    batch.SetMeta("tx", "done");
    SOP_ASSERT_OK((*b)->blobs().Prepare(batch, "global-42"));
    fenv.CrashAfter(0);
  }
  SOP_ASSERT_OK(fenv.SimulatePowerLoss({.seed = 5, .keep_some = false}));
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    EXPECT_EQ((*b)->blobs().InDoubt(), std::vector<std::string>{"global-42"});
    EXPECT_TRUE(absl::IsNotFound((*b)->blobs().GetMeta("tx").status()));
    // A checkpoint while in doubt keeps the prepared batch.
    SOP_ASSERT_OK((*b)->blobs().Checkpoint());
  }
  auto b = Open();
  SOP_ASSERT_OK(b);
  EXPECT_EQ((*b)->blobs().InDoubt(), std::vector<std::string>{"global-42"});
  SOP_ASSERT_OK((*b)->blobs().CommitPrepared("global-42"));
  EXPECT_EQ(*(*b)->blobs().GetMeta("tx"), "done");
  EXPECT_EQ(*(*b)->blobs().Read(id), Pattern(9, 6000));
  b->reset();
  auto again = Open();
  SOP_ASSERT_OK(again);
  EXPECT_TRUE((*again)->blobs().InDoubt().empty());
  EXPECT_EQ(*(*again)->blobs().Read(id), Pattern(9, 6000));
}

TEST_F(FileBackendTest, PreparedBatchAbortedAfterReopenIsDiscarded) {
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    auto r = (*b)->blobs().Reserve(10);
    WriteBatch batch;
    batch.Put(*r, "0123456789");
    batch.SetMeta("tx", "done");
    SOP_ASSERT_OK((*b)->blobs().Prepare(batch, "g-7"));
  }
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    EXPECT_EQ((*b)->blobs().InDoubt(), std::vector<std::string>{"g-7"});
    SOP_ASSERT_OK((*b)->blobs().AbortPrepared("g-7"));
  }
  auto b = Open();
  SOP_ASSERT_OK(b);
  EXPECT_TRUE((*b)->blobs().InDoubt().empty());
  EXPECT_TRUE(absl::IsNotFound((*b)->blobs().GetMeta("tx").status()));
}

TEST_F(FileBackendTest, DamagedNewestHeaderWithRewrittenWalIsDataLoss) {
  {
    auto b = Open();
    SOP_ASSERT_OK(b);
    Put(**b, "one", "one");
    SOP_ASSERT_OK((*b)->blobs().Checkpoint());
    Put(**b, "two", "two");
  }  // close checkpoints again: the newest header is in one slot, the older in the other
  std::string raw = ReadFileBytes(path_);
  // Find the newest slot: damage each in turn and see which one matters.
  bool saw_data_loss = false, saw_ok = false;
  for (int slot = 0; slot < 2; ++slot) {
    std::string damaged = raw;
    damaged[slot * 512 + 20] ^= 0x08;
    WriteFileBytes(path_, damaged);
    auto b = Open();
    if (b.ok()) {
      saw_ok = true;  // the older slot was damaged: the newest still opens everything
      EXPECT_EQ(*(*b)->blobs().GetMeta("two"), "two");
    } else {
      saw_data_loss = true;
      EXPECT_TRUE(absl::IsDataLoss(b.status())) << b.status();
    }
    b = absl::UnknownError("closed");
    WriteFileBytes(path_, raw);
  }
  EXPECT_TRUE(saw_ok);
  EXPECT_TRUE(saw_data_loss);
}

TEST_F(FileBackendTest, BothHeadersDamagedIsDataLoss) {
  { SOP_ASSERT_OK(Open()); }
  std::string raw = ReadFileBytes(path_);
  raw[20] ^= 1;
  raw[512 + 20] ^= 1;
  WriteFileBytes(path_, raw);
  auto b = Open();
  EXPECT_TRUE(absl::IsDataLoss(b.status())) << b.status();
}

TEST_F(FileBackendTest, ConcurrentLogAppendsShareSyncsWhileBatchesApply) {
  auto b = Open();
  SOP_ASSERT_OK(b);
  std::vector<std::thread> threads;
  std::atomic<int> appended{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto seq = (*b)->log()->Append(absl::StrCat(t, ":", i));
        if (seq.ok()) appended++;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) Put(**b, Pattern(i, 5000));
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(appended.load(), 200);
  int replayed = 0;
  SOP_ASSERT_OK((*b)->log()->Replay(0, [&](const LogRecord&) {
    ++replayed;
    return absl::OkStatus();
  }));
  EXPECT_EQ(replayed, 200);
}

}  // namespace
}  // namespace sop
