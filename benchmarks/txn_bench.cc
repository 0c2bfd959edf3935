// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Transaction benchmarks: durable one-put transactions with 1, 2, 4 and 8
// writer threads (group commit; reported next to a bare fdatasync measured
// in the same run), the abort rate of read-modify-write on 10 hot keys, and
// point reads while a writer commits continuously.
//
//   build/release/benchmarks/txn_bench

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "machine_limits.h"
#include "sop/sop.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Dir(const char* name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/sop-txn-bench-" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

using sop::bench::BareFdatasyncSeconds;

// One Put per durable transaction, from state.threads() threads at once.
void BM_DurableOnePutTxn(benchmark::State& state) {
  static std::unique_ptr<sop::Database> db;
  static double bare;
  if (state.thread_index() == 0) {
    std::string dir = Dir("oneput");
    bare = BareFdatasyncSeconds(dir);
    auto d = sop::Database::Open(dir + "/db");
    if (!d.ok()) {
      state.SkipWithError(d.status().ToString().c_str());
      return;
    }
    db = std::move(*d);
    auto t = db->Begin(sop::TxnMode::kReadWrite);
    (void)(*t)->OpenStore("s");
    (void)(*t)->Commit();
  }
  std::mt19937_64 rng(state.thread_index());
  std::string value(100, 'v');
  int64_t aborted = 0;
  auto t0 = Clock::now();
  for (auto _ : state) {
    auto t = db->Begin(sop::TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    (void)(*s)->Put(absl::StrFormat("%016d", rng() % 1000000), value);
    auto st = (*t)->Commit();
    if (absl::IsAborted(st)) ++aborted;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  double per_commit = seconds / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  state.counters["latency_vs_fdatasync"] =
      benchmark::Counter(per_commit / bare, benchmark::Counter::kAvgThreads);
  state.counters["aborted"] = benchmark::Counter(static_cast<double>(aborted));
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) db.reset();
}
BENCHMARK(BM_DurableOnePutTxn)->UseRealTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);

// Read-modify-write of one of 10 hot keys, 4 threads: how often a commit loses.
void BM_HotKeysAbortRate(benchmark::State& state) {
  static std::unique_ptr<sop::Database> db;
  if (state.thread_index() == 0) {
    auto d = sop::Database::Open(Dir("hot") + "/db");
    if (!d.ok()) return;
    db = std::move(*d);
    auto t = db->Begin(sop::TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    for (int k = 0; k < 10; ++k) (void)(*s)->Put(absl::StrCat("hot", k), "0");
    (void)(*t)->Commit();
  }
  std::mt19937_64 rng(state.thread_index() + 100);
  int64_t aborted = 0, committed = 0;
  for (auto _ : state) {
    auto t = db->Begin(sop::TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    std::string key = absl::StrCat("hot", rng() % 10);
    int64_t n = 0;
    (void)absl::SimpleAtoi(*(*s)->Get(key), &n);
    (void)(*s)->Put(key, std::to_string(n + 1));
    auto st = (*t)->Commit();
    if (st.ok()) {
      ++committed;
    } else {
      ++aborted;
    }
  }
  state.counters["abort_rate"] = benchmark::Counter(
      static_cast<double>(aborted) / static_cast<double>(std::max<int64_t>(1, aborted + committed)),
      benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(committed);
  if (state.thread_index() == 0) db.reset();
}
BENCHMARK(BM_HotKeysAbortRate)->UseRealTime()->Threads(4);

// Point reads on 100,000 keys while one background writer commits without pause.
void BM_ReadsWhileWriting(benchmark::State& state) {
  auto d = sop::Database::Open(Dir("rw") + "/db");
  if (!d.ok()) return;
  auto& db = *d;
  constexpr int kKeys = 100000;
  {
    auto t = db->Begin(sop::TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("s");
    for (int i = 0; i < kKeys; ++i)
      (void)(*s)->Put(absl::StrFormat("%016d", i), std::string(100, 'x'));
    (void)(*t)->Commit();
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0};
  std::thread writer([&] {
    std::mt19937_64 rng(7);
    while (!stop.load()) {
      auto t = db->Begin(sop::TxnMode::kReadWrite);
      auto s = (*t)->OpenStore("s");
      (void)(*s)->Put(absl::StrFormat("%016d", rng() % kKeys), std::string(100, 'y'));
      if ((*t)->Commit().ok()) ++writes;
    }
  });
  std::mt19937_64 rng(1);
  auto t = db->Begin(sop::TxnMode::kReadOnly);
  for (auto _ : state) {
    // A fresh snapshot every 1,000 reads, so readers keep up with the writer.
    if (state.iterations() % 1000 == 0) t = db->Begin(sop::TxnMode::kReadOnly);
    auto s = (*t)->OpenStore("s");
    benchmark::DoNotOptimize((*s)->Get(absl::StrFormat("%016d", rng() % kKeys)));
  }
  stop = true;
  writer.join();
  state.SetItemsProcessed(state.iterations());
  state.counters["writer_commits"] = benchmark::Counter(static_cast<double>(writes.load()));
}
BENCHMARK(BM_ReadsWhileWriting)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
