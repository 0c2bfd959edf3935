// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// B-tree benchmarks on 1,000,000 keys of 16 bytes with 100-byte values (a
// different value per key): point Get, Seek + 100 Next, and Put in durable
// transactions of 1,000, with the cache warm (1 GiB) and with a cache ten
// times smaller than the data.
//
//   build/release/benchmarks/btree_bench
// The database is built once, in $TMPDIR (default /tmp), by the first
// benchmark that needs it; the fill itself is BM_FillRandom.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "sop/sop.h"

namespace {

constexpr int kKeys = 1000000;
constexpr int kValueSize = 100;

std::string Key(uint64_t i) { return absl::StrFormat("%016d", (i * 7919) % 1000003); }
std::string Value(uint64_t i) {
  std::string v(kValueSize, '\0');
  uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>('a' + x % 26);
  }
  return v;
}

std::string Dir() {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/sop-btree-bench";
}

// Fills the database once per process; returns its path.
const std::string& Filled() {
  static const std::string path = [] {
    std::filesystem::remove_all(Dir());
    std::filesystem::create_directories(Dir());
    std::string p = Dir() + "/db";
    auto db = sop::Database::Open(p);
    if (!db.ok()) std::abort();
    for (int batch = 0; batch < kKeys; batch += 1000) {
      auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
      auto s = (*t)->OpenStore("bench");
      for (int i = batch; i < batch + 1000; ++i) (void)(*s)->Put(Key(i), Value(i));
      if (!(*t)->Commit().ok()) std::abort();
    }
    return p;
  }();
  return path;
}

std::unique_ptr<sop::Database> OpenWithCache(uint64_t cache_bytes) {
  sop::Options o;
  o.cache_bytes = cache_bytes;
  auto db = sop::Database::Open(Filled(), o);
  if (!db.ok()) std::abort();
  return std::move(*db);
}

uint64_t CacheFor(int64_t arg) {
  // arg 0: warm (1 GiB); arg 1: a tenth of the data file.
  if (arg == 0) return 1ull << 30;
  return std::filesystem::file_size(Filled()) / 10;
}

void BM_FillRandom(benchmark::State& state) {
  for (auto _ : state) {
    std::filesystem::remove_all(Dir() + "-fill");
    std::filesystem::create_directories(Dir() + "-fill");
    auto db = sop::Database::Open(Dir() + "-fill/db");
    if (!db.ok()) {
      state.SkipWithError(db.status().ToString().c_str());
      return;
    }
    for (int batch = 0; batch < kKeys; batch += 1000) {
      auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
      auto s = (*t)->OpenStore("bench");
      for (int i = batch; i < batch + 1000; ++i) (void)(*s)->Put(Key(i), Value(i));
      if (auto st = (*t)->Commit(); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kKeys);
  std::filesystem::remove_all(Dir() + "-fill");
}
BENCHMARK(BM_FillRandom)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GetRandom(benchmark::State& state) {
  auto db = OpenWithCache(CacheFor(state.range(0)));
  auto t = db->Begin(sop::TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("bench");
  std::mt19937_64 rng(1);
  for (int i = 0; i < (state.range(0) == 0 ? kKeys : 0); ++i) (void)(*s)->Get(Key(i));  // warm
  for (auto _ : state) {
    auto v = (*s)->Get(Key(rng() % kKeys));
    if (!v.ok()) {
      state.SkipWithError(v.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) == 0 ? "cache warm" : "cache = data/10");
}
BENCHMARK(BM_GetRandom)->Arg(0)->Arg(1);

void BM_Seek100Next(benchmark::State& state) {
  auto db = OpenWithCache(CacheFor(state.range(0)));
  auto t = db->Begin(sop::TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("bench");
  auto c = (*s)->NewCursor();
  if (state.range(0) == 0) {
    for (c->SeekToFirst(); c->Valid(); c->Next()) benchmark::DoNotOptimize(c->value());
  }
  std::mt19937_64 rng(2);
  int64_t entries = 0;
  for (auto _ : state) {
    c->Seek(Key(rng() % kKeys));
    for (int n = 0; n < 100 && c->Valid(); ++n, c->Next()) {
      benchmark::DoNotOptimize(c->value());
      ++entries;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["entries/s"] =
      benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
  state.SetLabel(state.range(0) == 0 ? "cache warm" : "cache = data/10");
}
BENCHMARK(BM_Seek100Next)->Arg(0)->Arg(1);

void BM_FullScan(benchmark::State& state) {
  auto db = OpenWithCache(CacheFor(0));
  auto t = db->Begin(sop::TxnMode::kReadOnly);
  auto s = (*t)->OpenStore("bench");
  auto c = (*s)->NewCursor();
  int64_t entries = 0;
  for (auto _ : state) {
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      benchmark::DoNotOptimize(c->value());
      ++entries;
    }
  }
  state.SetItemsProcessed(entries);
}
BENCHMARK(BM_FullScan)->Unit(benchmark::kMillisecond);

// Random overwrites, 1,000 per durable transaction.
void BM_PutBatch(benchmark::State& state) {
  auto db = OpenWithCache(CacheFor(state.range(0)));
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    auto t = db->Begin(sop::TxnMode::kReadWrite);
    auto s = (*t)->OpenStore("bench");
    for (int i = 0; i < 1000; ++i) {
      uint64_t k = rng() % kKeys;
      (void)(*s)->Put(Key(k), Value(k + 1));
    }
    if (auto st = (*t)->Commit(); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetLabel(state.range(0) == 0 ? "cache warm" : "cache = data/10");
}
BENCHMARK(BM_PutBatch)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
