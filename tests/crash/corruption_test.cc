// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Damaged files: for a real database, one byte at a time is damaged — every
// byte of the data file's header and of the WAL, and a seeded sample of the
// data file's other bytes — and the file is cut at every page boundary. Each
// time the database is opened, checked and read. Allowed outcomes: a clean
// error (DataLoss, FailedPrecondition), or exactly the committed data (for
// the WAL, also the data without its last commit: a damaged last record is
// indistinguishable from a torn write and is cut off, see file-format.md).
// "Partly readable": some reads fail cleanly, and what reads is committed.
// Never a crash, a hang, a sanitizer report, or wrong data returned as OK.
// SOP_CORRUPT_SAMPLES sets the data-file sample (10,000).

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

using Files = std::map<std::string, std::string>;                         // path -> bytes
using Model = std::map<std::string, std::map<std::string, std::string>>;  // store -> entries

constexpr char kPath[] = "/db";
constexpr int kCommits = 24;

std::string Key(int i) { return absl::StrFormat("key%05d", i); }

// The database: three stores, small and out-of-node values, a checkpoint
// after the first half of the commits so both the data file and the log
// hold some. Returns the files as the disk has them, and the model after
// each commit.
void Build(Files* files, std::vector<Model>* after) {
  auto mem = NewMemEnv();
  Options o;
  o.env = mem.get();
  o.checkpoint_log_bytes = 1ull << 40;
  o.checkpoint_dirty_bytes = 1ull << 40;
  auto db = Database::Open(kPath, o);
  ASSERT_TRUE(db.ok()) << db.status();
  Model model;
  std::mt19937_64 rng(5);
  for (int c = 0; c < kCommits; ++c) {
    SOP_ASSERT_OK((*db)->Update([&](Transaction& t) -> absl::Status {
      for (const char* name : {"alpha", "beta", "gamma"}) {
        auto s = t.OpenStore(name);
        if (!s.ok()) return s.status();
        for (int i = 0; i < 40; ++i) {
          int k = static_cast<int>(rng() % 400);
          std::string v = rng() % 50 == 0 ? testing::Pattern(rng(), 3000 + rng() % 3000)
                                          : absl::StrCat("v", c, "-", i);
          if (rng() % 5 == 0 && model[name].count(Key(k))) {
            if (auto st = (*s)->Remove(Key(k)); !st.ok()) return st;
            model[name].erase(Key(k));
          } else {
            if (auto st = (*s)->Put(Key(k), v); !st.ok()) return st;
            model[name][Key(k)] = v;
          }
        }
      }
      return absl::OkStatus();
    }));
    after->push_back(model);
    if (c == kCommits / 2) SOP_ASSERT_OK((*db)->Checkpoint());
  }
  // Every commit is durable: the files now are what a crash would leave.
  for (const char* suffix : {"", "-wal"}) {
    auto f = mem->OpenFile(std::string(kPath) + suffix, OpenMode::kExisting);
    ASSERT_TRUE(f.ok());
    std::string bytes((*f)->Size().value(), '\0');
    ASSERT_TRUE((*f)->ReadAt(0, absl::MakeSpan(bytes)).ok());
    // The zeros the log grows ahead of its records read as its end, like a
    // cut; every byte up to the last record is what the flips below need.
    if (std::string(suffix) == "-wal") bytes = testing::WithoutZeroTail(bytes);
    (*files)[std::string(kPath) + suffix] = bytes;
  }
}

// What one damaged copy gave.
// kEarlierCommit: the state after an earlier commit, whole (log damage).
enum class Outcome { kRefused, kWhole, kEarlierCommit, kPartlyReadable };

// Opens `files`, verifies and reads every store. Fails the test on a wrong
// error code, or on data reported OK that is not the state after one of the
// commits from `oldest_ok` on (default: the last two).
Outcome Probe(const Files& files, const std::vector<Model>& after, const std::string& what,
              size_t oldest_ok = kCommits - 2) {
  auto mem = NewMemEnv();
  for (const auto& [path, bytes] : files) {
    auto f = mem->OpenFile(path, OpenMode::kCreateIfMissing);
    EXPECT_TRUE(f.ok() && (*f)->WriteAt(0, bytes).ok()) << what;
  }
  auto clean = [&](const absl::Status& st) {
    EXPECT_TRUE(absl::IsDataLoss(st) || absl::IsFailedPrecondition(st))
        << what << ": not a clean error: " << st;
  };
  Options o;
  o.env = mem.get();
  o.create_if_missing = false;
  auto db = Database::Open(kPath, o);
  if (!db.ok()) {
    clean(db.status());
    return Outcome::kRefused;
  }
  absl::Status verified = (*db)->Verify();
  if (!verified.ok()) clean(verified);
  // Read everything; what is returned as OK must be what was committed, in
  // the final state or (log damage) the state before the last commit.
  bool errors = false;
  Model got;
  auto txn = (*db)->Begin(TxnMode::kReadOnly);
  if (!txn.ok()) {
    clean(txn.status());
    return Outcome::kRefused;
  }
  auto names = (*txn)->ListStores();
  if (!names.ok()) {
    clean(names.status());
    return Outcome::kRefused;
  }
  for (const std::string& name : *names) {
    auto s = (*txn)->OpenStore(name);
    if (!s.ok()) {
      clean(s.status());
      errors = true;
      continue;
    }
    auto c = (*s)->NewCursor();
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      std::string key(c->key()), value(c->value());
      if (!c->status().ok()) break;  // value() failed: the cursor says so
      got[name][key] = value;
    }
    if (!c->status().ok()) {
      clean(c->status());
      errors = true;
    }
  }
  const Model& last = after.back();
  const Model& before_last = after[after.size() - 2];
  std::string wrong;
  auto within = [&](const Model& m) {
    for (const auto& [store, entries] : got) {
      auto it = m.find(store);
      if (it == m.end()) {
        wrong = absl::StrCat("store ", store, " was never created");
        return false;
      }
      for (const auto& [k, v] : entries) {
        auto e = it->second.find(k);
        if (e == it->second.end() || e->second != v) {
          wrong = absl::StrCat("store ", store, " key ", k, " = ", v.substr(0, 40),
                               e == it->second.end() ? " (no such key)" : " (other value)");
          return false;
        }
      }
    }
    return true;
  };
  if (!errors && verified.ok()) {
    if (got == last) return Outcome::kWhole;
    for (size_t k = oldest_ok; k + 1 < after.size(); ++k) {
      if (got == after[k]) return Outcome::kEarlierCommit;
    }
    ADD_FAILURE() << what << ": opened, verified and read OK, but the data is wrong";
    return Outcome::kPartlyReadable;
  }
  bool in_last = within(last);
  std::string wrong_last = wrong;
  EXPECT_TRUE(in_last || within(before_last))
      << what << ": an entry read without error is not one that was committed: " << wrong_last
      << "; against the state before the last commit: " << wrong;
  return Outcome::kPartlyReadable;
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Build(&files_, &after_)); }
  Files files_;
  std::vector<Model> after_;
};

void Report(const char* what, const std::map<Outcome, int>& n) {
  auto count = [&](Outcome o) { return n.count(o) ? n.at(o) : 0; };
  std::printf(
      "%s: %d refused cleanly, %d whole, %d an earlier commit's state, %d partly readable\n", what,
      count(Outcome::kRefused), count(Outcome::kWhole), count(Outcome::kEarlierCommit),
      count(Outcome::kPartlyReadable));
}

TEST_F(CorruptionTest, EveryByteOfTheHeaderAndTheLog) {
  ASSERT_EQ(Probe(files_, after_, "undamaged"), Outcome::kWhole);
  for (const std::string suffix : {"", "-wal"}) {
    const std::string path = std::string(kPath) + suffix;
    // The data file's two 512-byte header slots; all of the log.
    const size_t end = suffix.empty() ? 1024 : files_[path].size();
    std::map<Outcome, int> outcomes;
    for (size_t i = 0; i < end; ++i) {
      Files damaged = files_;
      damaged[path][i] ^= static_cast<char>(1 << (i % 8));
      Outcome o = Probe(damaged, after_, absl::StrCat(path, " byte ", i));
      if (suffix.empty()) {
        EXPECT_NE(o, Outcome::kEarlierCommit) << "header byte " << i;
      }
      ++outcomes[o];
      if (HasFailure()) return;
    }
    Report(suffix.empty() ? "header bytes" : "log bytes", outcomes);
    if (!suffix.empty()) {
      EXPECT_GT(outcomes[Outcome::kRefused], 0);
    }
  }
}

TEST_F(CorruptionTest, SampledBytesOfTheDataFile) {
  int samples = 10000;
  if (const char* s = std::getenv("SOP_CORRUPT_SAMPLES")) samples = std::atoi(s);
  const std::string path = kPath;
  std::mt19937_64 rng(77);
  std::map<Outcome, int> outcomes;
  for (int n = 0; n < samples; ++n) {
    size_t i = 1024 + rng() % (files_[path].size() - 1024);
    Files damaged = files_;
    damaged[path][i] ^= static_cast<char>(1 << (rng() % 8));
    ++outcomes[Probe(damaged, after_, absl::StrCat("data byte ", i, " (seed 77, sample ", n, ")"))];
    if (HasFailure()) return;
  }
  Report("data bytes", outcomes);
  EXPECT_GT(outcomes[Outcome::kPartlyReadable] + outcomes[Outcome::kRefused], 0);
}

TEST_F(CorruptionTest, TruncatedAtEveryPageBoundary) {
  const std::string path = kPath;
  std::map<Outcome, int> outcomes;
  for (size_t len = 0; len < files_[path].size(); len += 4096) {
    Files cut = files_;
    cut[path].resize(len);
    Outcome o = Probe(cut, after_, absl::StrCat(path, " cut at ", len));
    EXPECT_NE(o, Outcome::kEarlierCommit) << "cut at " << len;
    ++outcomes[o];
    if (HasFailure()) return;
  }
  Report("data file cuts", outcomes);
}

// The database's own metadata records, rewritten through the blob store so
// that every checksum is valid: a value that does not parse, or that names
// what cannot be, is refused cleanly at open.
TEST_F(CorruptionTest, MalformedMetadataWithValidChecksumsIsRefused) {
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"sop.root", "short"},
      {"sop.root", std::string(16, '\xff')},
      {"sop.lsn", "twelve"},
      {"sop.replay_from", "-1"},
      {"sop.replay_from", "99999999999"},  // after sop.lsn
      {"sop.waiting_frees", std::string(17, '\x01')},
      {"sop.waiting_frees", std::string(16, '\x01') + "x"},
  };
  for (const auto& [name, value] : hostile) {
    auto mem = NewMemEnv();
    for (const auto& [path, bytes] : files_) {
      auto f = mem->OpenFile(path, OpenMode::kCreateIfMissing);
      ASSERT_TRUE(f.ok() && (*f)->WriteAt(0, bytes).ok());
    }
    {
      FileBackendOptions fo;
      fo.env = mem.get();
      fo.create_if_missing = false;
      auto backend = OpenFileBackend(kPath, fo);
      SOP_ASSERT_OK(backend);
      WriteBatch batch;
      batch.SetMeta(name, value);
      SOP_ASSERT_OK((*backend)->blobs().Apply(batch));
    }
    Files rewritten;
    for (const auto& [path, bytes] : files_) {
      auto f = mem->OpenFile(path, OpenMode::kExisting);
      ASSERT_TRUE(f.ok());
      std::string now((*f)->Size().value(), '\0');
      ASSERT_TRUE((*f)->ReadAt(0, absl::MakeSpan(now)).ok());
      rewritten[path] = now;
    }
    EXPECT_EQ(Probe(rewritten, after_, absl::StrCat(name, " = ", absl::CEscape(value))),
              Outcome::kRefused)
        << name << " = " << absl::CEscape(value);
  }
}

// A log cut short (no crash does this: a synced file keeps its length, but a
// tool or a person can) loses the commits after the cut without an error,
// as in SQLite; what remains must be the state after one earlier commit,
// never a mixture.
TEST_F(CorruptionTest, ALogCutAtAnyRecordKeepsAPrefixOfTheCommits) {
  const std::string path = std::string(kPath) + "-wal";
  std::map<Outcome, int> outcomes;
  for (size_t len = 0; len < files_[path].size(); len += 8) {
    Files cut = files_;
    cut[path].resize(len);
    ++outcomes[Probe(cut, after_, absl::StrCat(path, " cut at ", len), kCommits / 2)];
    if (HasFailure()) return;
  }
  Report("log cuts", outcomes);
}

}  // namespace
}  // namespace sop
