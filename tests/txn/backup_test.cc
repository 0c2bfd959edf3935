// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Database::Backup (online, through a snapshot) and Database::Compact
// (rewrite in place, atomic under power cuts).

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

using testing::Pattern;
using testing::TempDir;
using testing::WriteFileBytes;
using Contents = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

// Every store's entries, in order, as a snapshot sees them.
Contents ReadAll(Database& db) {
  Contents out;
  auto t = db.Begin(TxnMode::kReadOnly);
  EXPECT_TRUE(t.ok());
  auto names = (*t)->ListStores();
  EXPECT_TRUE(names.ok());
  for (const std::string& name : *names) {
    StoreOptions so;
    auto s = (*t)->OpenStore(name, so);
    if (absl::IsFailedPrecondition(s.status())) {
      so.unique = false;
      s = (*t)->OpenStore(name, so);
    }
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) continue;
    auto& entries = out[name];
    auto c = (*s)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      entries.emplace_back(std::string(c->key()), std::string(c->value()));
    }
    EXPECT_TRUE(c->status().ok()) << c->status();
  }
  return out;
}

std::string Key(int i) { return absl::StrFormat("key%07d", i); }

// A unique store with small and out-of-node values, and a duplicate store.
void Fill(Database& db, int n) {
  SOP_ASSERT_OK(db.Update([&](Transaction& t) -> absl::Status {
    auto u = t.OpenStore("unique");
    if (!u.ok()) return u.status();
    auto d = t.OpenStore("dups", {.unique = false});
    if (!d.ok()) return d.status();
    for (int i = 0; i < n; ++i) {
      std::string value = i % 97 == 0 ? Pattern(i, 3000 + i) : absl::StrCat("value", i);
      if (auto st = (*u)->Put(Key(i), value); !st.ok()) return st;
      if (auto st = (*d)->Add(Key(i % 10), absl::StrCat(i)); !st.ok()) return st;
    }
    return absl::OkStatus();
  }));
}

TEST(BackupTest, CopiesEveryStoreAndIsCompact) {
  TempDir dir;
  auto db = Database::Open(dir.File("db"));
  SOP_ASSERT_OK(db.status());
  Fill(**db, 20000);
  // A 5 MiB value goes through the streaming path.
  SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
    auto s = t.OpenStore("blobs");
    if (!s.ok()) return s.status();
    return (*s)->Put("model", Pattern(9, 5 << 20));
  }));
  // Churn leaves free space and part-full nodes behind in the original.
  SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
    auto u = t.OpenStore("unique");
    if (!u.ok()) return u.status();
    for (int i = 0; i < 20000; i += 3) {
      if (auto st = (*u)->Remove(Key(i)); !st.ok()) return st;
    }
    return absl::OkStatus();
  }));
  uint64_t progress_calls = 0, last_bytes = 0;
  SOP_ASSERT_OK((*db)->Backup(dir.File("copy"), [&](uint64_t bytes) {
    EXPECT_GE(bytes, last_bytes);
    last_bytes = bytes;
    ++progress_calls;
  }));
  EXPECT_GT(progress_calls, 0u);
  EXPECT_GT(last_bytes, uint64_t{5 << 20});
  EXPECT_EQ((*db)->Backup(dir.File("copy")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(dir.File("copy-partial")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("copy-partial-wal")));
  SOP_ASSERT_OK((*db)->Checkpoint());
  Contents original = ReadAll(**db);

  auto copy = Database::Open(dir.File("copy"), {.create_if_missing = false});
  SOP_ASSERT_OK(copy.status());
  SOP_ASSERT_OK((*copy)->Verify());
  EXPECT_EQ(ReadAll(**copy), original);
  EXPECT_EQ(original["dups"].size(), 20000u);
  copy->reset();
  EXPECT_LT(std::filesystem::file_size(dir.File("copy")),
            std::filesystem::file_size(dir.File("db")));
}

// The backup sees one snapshot while a writer commits: counter keys 0..n
// and "last" = n are written together, so a consistent copy has exactly
// the keys up to its "last".
TEST(BackupTest, OnlineBackupIsOneSnapshotWhileAWriterRuns) {
  TempDir dir;
  auto db = Database::Open(dir.File("db"));
  SOP_ASSERT_OK(db.status());
  Fill(**db, 5000);
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto st = (*db)->Update([&](Transaction& t) -> absl::Status {
        auto s = t.OpenStore("counter");
        if (!s.ok()) return s.status();
        if (auto put = (*s)->Put(Key(i), "x"); !put.ok()) return put;
        return (*s)->Put("last", absl::StrCat(i));
      });
      ASSERT_TRUE(st.ok()) << st;
      commits.fetch_add(1);
    }
  });
  while (commits.load() < 20) std::this_thread::yield();
  SOP_ASSERT_OK((*db)->Backup(dir.File("copy")));
  int at_backup_end = commits.load();
  while (commits.load() < at_backup_end + 20) std::this_thread::yield();
  stop = true;
  writer.join();

  auto copy = Database::Open(dir.File("copy"), {.create_if_missing = false});
  SOP_ASSERT_OK(copy.status());
  SOP_ASSERT_OK((*copy)->Verify());
  Contents got = ReadAll(**copy);
  ASSERT_FALSE(got["counter"].empty());
  const auto& counter = got["counter"];
  ASSERT_EQ(counter.back().first, "last");
  int last = std::stoi(counter.back().second);
  ASSERT_EQ(counter.size(), static_cast<size_t>(last) + 2);
  for (int i = 0; i <= last; ++i) EXPECT_EQ(counter[i].first, Key(i));
  EXPECT_LT(last + 1, commits.load());  // the writer went on past the copy
}

TEST(BackupTest, ALeftoverPartialBackupIsReplaced) {
  TempDir dir;
  auto db = Database::Open(dir.File("db"));
  SOP_ASSERT_OK(db.status());
  Fill(**db, 100);
  WriteFileBytes(dir.File("copy-partial"), "whatever a crash left");
  SOP_ASSERT_OK((*db)->Backup(dir.File("copy")));
  auto copy = Database::Open(dir.File("copy"), {.create_if_missing = false});
  SOP_ASSERT_OK(copy.status());
  EXPECT_EQ(ReadAll(**copy), ReadAll(**db));
}

TEST(CompactTest, ReclaimsSpaceKeepsContentsAndTheDatabaseGoesOn) {
  TempDir dir;
  const std::string path = dir.File("db");
  Contents before;
  {
    auto db = Database::Open(path);
    SOP_ASSERT_OK(db.status());
    Fill(**db, 30000);
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      auto u = t.OpenStore("unique");
      if (!u.ok()) return u.status();
      for (int i = 0; i < 30000; ++i) {
        if (i % 5 != 0) {
          if (auto st = (*u)->Remove(Key(i)); !st.ok()) return st;
        }
      }
      return absl::OkStatus();
    }));
    before = ReadAll(**db);
  }
  uint64_t size_before = std::filesystem::file_size(path);
  SOP_ASSERT_OK(Database::Compact(path));
  uint64_t size_after = std::filesystem::file_size(path);
  EXPECT_LT(size_after * 2, size_before) << size_before << " -> " << size_after;
  EXPECT_FALSE(std::filesystem::exists(path + "-compacting"));
  {
    auto db = Database::Open(path, {.create_if_missing = false});
    SOP_ASSERT_OK(db.status());
    SOP_ASSERT_OK((*db)->Verify());
    EXPECT_EQ(ReadAll(**db), before);
    // New commits after the compaction survive a reopen.
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("after");
      if (!s.ok()) return s.status();
      return (*s)->Put("k", "v");
    }));
    before = ReadAll(**db);
  }
  auto db = Database::Open(path, {.create_if_missing = false});
  SOP_ASSERT_OK(db.status());
  EXPECT_EQ(ReadAll(**db), before);
}

TEST(CompactTest, RefusesAnOpenDatabaseAndAnUnknownComparator) {
  TempDir dir;
  const std::string path = dir.File("db");
  struct Reverse : Comparator {
    int Compare(absl::string_view a, absl::string_view b) const override { return b.compare(a); }
    const char* Name() const override { return "test.reverse"; }
  } reverse;
  {
    auto db = Database::Open(path);
    SOP_ASSERT_OK(db.status());
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("rev", {.comparator = &reverse});
      if (!s.ok()) return s.status();
      for (int i = 0; i < 100; ++i) {
        if (auto st = (*s)->Put(Key(i), "v"); !st.ok()) return st;
      }
      return absl::OkStatus();
    }));
    EXPECT_EQ(Database::Compact(path).code(), absl::StatusCode::kFailedPrecondition);
  }
  absl::Status st = Database::Compact(path);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("test.reverse"), std::string::npos) << st;
  Options with;
  with.comparators = {&reverse};
  SOP_ASSERT_OK(Database::Compact(path, with));
  auto db = Database::Open(path, with);
  SOP_ASSERT_OK(db.status());
  SOP_ASSERT_OK((*db)->Verify());
  auto t = (*db)->Begin(TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("rev", {.comparator = &reverse});
  SOP_ASSERT_OK(s.status());
  auto c = (*s)->NewCursor();
  c->SeekToFirst();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), Key(99));
}

// A power cut at every mutation of a compaction leaves the old database or
// the new one, with the same contents, never neither.
TEST(CompactTest, PowerCutAtEveryStepLeavesOneWholeDatabase) {
  auto mem = NewMemEnv();
  FaultInjectionEnv env(mem.get());
  Options o;
  o.env = &env;
  const std::string path = "/db";
  Contents expected;
  {
    auto db = Database::Open(path, o);
    SOP_ASSERT_OK(db.status());
    Fill(**db, 2000);
    expected = ReadAll(**db);
  }
  SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = 0, .keep_some = false}));
  // Snapshot the files to start each attempt from the same state.
  std::map<std::string, std::string> files;
  auto save = [&]() {
    files.clear();
    for (const char* suffix : {"", "-wal"}) {
      auto f = mem->OpenFile(path + suffix, OpenMode::kExisting);
      ASSERT_TRUE(f.ok());
      std::string bytes((*f)->Size().value(), '\0');
      ASSERT_TRUE((*f)->ReadAt(0, absl::MakeSpan(bytes)).ok());
      files[path + suffix] = bytes;
    }
  };
  auto restore = [&]() {
    for (const auto& [name, bytes] : files) {
      auto f = env.OpenFile(name, OpenMode::kCreateIfMissing);
      ASSERT_TRUE(f.ok());
      ASSERT_TRUE((*f)->Truncate(0).ok());
      ASSERT_TRUE((*f)->WriteAt(0, bytes).ok());
      ASSERT_TRUE((*f)->Sync().ok());
    }
    for (const char* suffix : {"-compacting", "-compacting-wal", "-compacting-lock"}) {
      if (env.FileExists(path + suffix)) {
        ASSERT_TRUE(env.RemoveFile(path + suffix).ok());
      }
    }
    ASSERT_TRUE(env.SyncDir("/").ok());
  };
  save();
  int crashes = 0;
  for (int64_t point = 0;; ++point) {
    restore();
    int64_t start = env.mutation_count();
    env.CrashAfter(point);
    absl::Status st = Database::Compact(path, o);
    bool finished = st.ok() && env.mutation_count() - start <= point;
    SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = static_cast<uint64_t>(point), .keep_some = true}));
    auto db = Database::Open(path, o);
    ASSERT_TRUE(db.ok()) << "crash point " << point << ": " << db.status();
    SOP_ASSERT_OK((*db)->Verify());
    ASSERT_EQ(ReadAll(**db), expected) << "crash point " << point;
    // The database accepts commits afterwards, and keeps them through a
    // power cut (so recovered from the log, not from a closing checkpoint).
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("later");
      if (!s.ok()) return s.status();
      return (*s)->Put("k", absl::StrCat(point));
    }));
    SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = 1, .keep_some = false}));
    db->reset();
    db = Database::Open(path, o);
    ASSERT_TRUE(db.ok()) << "crash point " << point << ": " << db.status();
    auto t = (*db)->Begin(TxnMode::kReadOnly);
    auto s = (*t)->OpenStore("later");
    SOP_ASSERT_OK(s.status());
    EXPECT_EQ((*s)->Get("k").value_or(""), absl::StrCat(point)) << "crash point " << point;
    t->reset();
    db->reset();
    SOP_ASSERT_OK(env.SimulatePowerLoss({.seed = 1, .keep_some = false}));
    if (finished) break;
    ++crashes;
  }
  EXPECT_GT(crashes, 10);
  std::printf("%d crash points\n", crashes);
}

}  // namespace
}  // namespace sop
