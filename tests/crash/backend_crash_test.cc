// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Power loss at every point of a workload of batches. The workload is run
// once to count its file-system mutations (over 1,000); then, for each crash
// point, it is run again with the power going at that point, twice: each
// point pairs two of the four ways a power cut can treat unsynced data. After the cut and a reopen:
//  * the store opens without error;
//  * it holds exactly the state after batch k, for k = the last batch whose
//    call returned OK, or the one after it (in flight when the power went):
//    every acknowledged batch is wholly present, no batch is partly present;
//  * it accepts new batches, and they survive a clean reopen.
// SOP_CRASH_POINTS_STRIDE (default 1) visits every n-th crash point.

#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sop/backend.h"
#include "sop/fault_injection_env.h"
#include "test_util.h"

namespace sop {
namespace {

using testing::Pattern;

constexpr int kBatches = 160;
constexpr char kDb[] = "/crash/db";

// What batch i leaves behind: meta "b<i>" naming its blobs, deletes of batch
// i-2's blobs and meta, and "last" = i. The model is the set of meta records.
struct Model {
  std::map<std::string, std::string> meta;
  std::map<std::string, std::vector<std::pair<BlobId, uint64_t>>> blobs;  // meta -> (id, seed)
};

size_t BlobSize(int batch, int j) {
  static const size_t kSizes[] = {0, 100, 4000, 4097, 70000, 300000};
  return kSizes[(batch * 3 + j) % 6];
}

// Runs the workload until it ends or an operation fails (the power went).
// Returns how many batches were acknowledged; fills the model after each.
int RunWorkload(Backend& b, std::vector<Model>* models) {
  Model m;
  models->assign(1, m);
  for (int i = 1; i <= kBatches; ++i) {
    WriteBatch batch;
    std::string listing;
    std::vector<std::pair<BlobId, uint64_t>> made;
    for (int j = 0; j < 1 + i % 3; ++j) {
      size_t size = BlobSize(i, j);
      uint64_t seed = i * 10 + j;
      if (size >= 300000) {  // streamed straight to the data file
        auto w = b.blobs().NewWriter(size);
        if (!w.ok()) return i - 1;
        std::string data = Pattern(seed, size);
        if (!(*w)->Append(absl::string_view(data).substr(0, 1000)).ok()) return i - 1;
        if (!(*w)->Append(absl::string_view(data).substr(1000)).ok()) return i - 1;
        auto id = (*w)->Finish();
        if (!id.ok()) return i - 1;
        batch.PutWritten(*id);
        made.push_back({*id, seed});
      } else {
        auto id = b.blobs().Reserve(size);
        if (!id.ok()) return i - 1;
        batch.Put(*id, Pattern(seed, size));
        made.push_back({*id, seed});
      }
      listing += absl::StrCat(made.back().first.page, ",");
    }
    std::string name = absl::StrCat("b", i);
    batch.SetMeta(name, listing);
    batch.SetMeta("last", absl::StrCat(i));
    std::string old = absl::StrCat("b", i - 2);
    if (m.blobs.count(old) > 0) {
      for (const auto& [id, seed] : m.blobs[old]) batch.Delete(id);
      batch.SetMeta(old, std::nullopt);
    }
    // Every fifth batch goes through two-phase commit.
    absl::Status st;
    if (i % 5 == 0) {
      st = b.blobs().Prepare(batch, absl::StrCat("x", i));
      if (st.ok()) st = b.blobs().CommitPrepared(absl::StrCat("x", i));
    } else {
      st = b.blobs().Apply(batch);
    }
    // The model after batch i, whatever the outcome (it may be in flight).
    m.meta[name] = listing;
    m.meta["last"] = absl::StrCat(i);
    m.blobs[name] = made;
    m.meta.erase(old);
    m.blobs.erase(old);
    models->push_back(m);
    if (!st.ok()) return i - 1;
    if (i % 8 == 0 && !b.blobs().Checkpoint().ok()) return i;
  }
  return kBatches;
}

// Checks the store holds exactly models[k] for some k in {acked, acked + 1}.
void Verify(Backend& b, const std::vector<Model>& models, int acked, const std::string& where) {
  int k = 0;
  auto last = b.blobs().GetMeta("last");
  if (last.ok()) {
    k = std::stoi(*last);
  } else {
    ASSERT_TRUE(absl::IsNotFound(last.status())) << where << last.status();
  }
  ASSERT_TRUE(k == acked || k == acked + 1)
      << where << "store is at batch " << k << ", " << acked << " acknowledged";
  ASSERT_LT(static_cast<size_t>(k), models.size()) << where;
  const Model& m = models[k];
  for (int i = 1; i <= kBatches; ++i) {
    std::string name = absl::StrCat("b", i);
    auto got = b.blobs().GetMeta(name);
    auto want = m.meta.find(name);
    if (want == m.meta.end()) {
      ASSERT_TRUE(absl::IsNotFound(got.status())) << where << name << " should be absent";
      continue;
    }
    ASSERT_TRUE(got.ok()) << where << name << ": " << got.status();
    ASSERT_EQ(*got, want->second) << where << name;
    for (const auto& [id, seed] : m.blobs.at(name)) {
      auto data = b.blobs().Read(id);
      ASSERT_TRUE(data.ok()) << where << name << " blob at page " << id.page << ": "
                             << data.status();
      ASSERT_TRUE(*data == Pattern(seed, id.size)) << where << name << " blob at page " << id.page;
    }
  }
}

struct CrashMode {
  const char* name;
  FaultInjectionEnv::PowerLoss how;
};

TEST(BackendCrashTest, EveryAcknowledgedBatchSurvivesPowerLossAtEveryPoint) {
  FileBackendOptions options;
  options.wal_checkpoint_bytes = 200 << 10;  // checkpoints and WAL rewrites happen mid-run
  options.inline_batch_bytes = 64 << 10;     // both inline and data-file batches happen

  // Count the mutations of a whole run.
  int64_t total = 0;
  {
    auto mem = NewMemEnv();
    FaultInjectionEnv env(mem.get());
    SOP_ASSERT_OK(env.CreateDir("/crash"));
    options.env = &env;
    auto b = OpenFileBackend(kDb, options);
    SOP_ASSERT_OK(b);
    std::vector<Model> models;
    ASSERT_EQ(RunWorkload(**b, &models), kBatches);
    total = env.mutation_count();
  }
  const char* stride_env = std::getenv("SOP_CRASH_POINTS_STRIDE");
  int64_t stride = stride_env != nullptr ? std::max(1, std::atoi(stride_env)) : 1;

  const CrashMode modes[] = {
      {"drop-all", {.keep_some = false}},
      {"keep-some", {.keep_some = true}},
      {"keep-some-tear-512", {.keep_some = true, .tear_bytes = 512}},
      {"keep-some-tear-4096", {.keep_some = true, .tear_bytes = 4096}},
  };
  const char* only_env = std::getenv("SOP_CRASH_POINT");  // replay one point
  int64_t first = only_env != nullptr ? std::atoll(only_env) : 0;
  int64_t end = only_env != nullptr ? first + 1 : total;
  int runs = 0;
  for (int64_t point = first; point < end; point += stride) {
    for (size_t mode_index : {point % 4, (point + 2) % 4}) {
      const CrashMode& mode = modes[mode_index];
      auto mem = NewMemEnv();
      FaultInjectionEnv env(mem.get());
      SOP_ASSERT_OK(env.CreateDir("/crash"));
      options.env = &env;
      std::vector<Model> models;
      int acked = 0;
      env.CrashAfter(point);
      {
        auto b = OpenFileBackend(kDb, options);
        if (b.ok()) acked = RunWorkload(**b, &models);
      }
      FaultInjectionEnv::PowerLoss how = mode.how;
      how.seed = static_cast<uint64_t>(point) * 7919 + mode_index;  // replayable from the point
      SOP_ASSERT_OK(env.SimulatePowerLoss(how));
      std::string where = absl::StrCat("crash point ", point, "/", total, " mode ", mode.name,
                                       " seed ", how.seed, ": ");
      auto b = OpenFileBackend(kDb, options);
      ASSERT_TRUE(b.ok()) << where << b.status();
      if (models.empty()) models.assign(1, Model{});
      // Resolve what was in doubt: the coordinator never saw a commit succeed.
      for (const std::string& xid : (*b)->blobs().InDoubt()) {
        SOP_ASSERT_OK((*b)->blobs().AbortPrepared(xid));
      }
      Verify(**b, models, acked, where);
      if (::testing::Test::HasFatalFailure()) return;
      // The store goes on after recovery.
      auto id = (*b)->blobs().Reserve(9);
      SOP_ASSERT_OK(id);
      WriteBatch after;
      after.Put(*id, "after-cut");
      after.SetMeta("after", "yes");
      SOP_ASSERT_OK((*b)->blobs().Apply(after));
      b->reset();
      auto again = OpenFileBackend(kDb, options);
      ASSERT_TRUE(again.ok()) << where << again.status();
      ASSERT_EQ(*(*again)->blobs().GetMeta("after"), "yes") << where;
      ASSERT_EQ(*(*again)->blobs().Read(*id), "after-cut") << where;
      ++runs;
    }
  }
  std::printf("%d crash runs over %lld crash points\n", runs, static_cast<long long>(total));
  if (stride == 1) {
    EXPECT_GE(total, 1000);
    EXPECT_GE(runs, 2000);
  }
}

}  // namespace
}  // namespace sop
