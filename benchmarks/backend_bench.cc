// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Backend micro-benchmarks. Durable operations are reported next to the cost
// of one raw fdatasync measured in the same run (BM_RawFdatasync), since only
// the ratio is meaningful on a noisy machine.
//
//   build/release/benchmarks/backend_bench --benchmark_min_time=2
// Runs in $TMPDIR (default /tmp): point it at the disk you care about.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "benchmark/benchmark.h"
#include "sop/backend.h"
#include "util/coding.h"

namespace {

std::string ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/sop-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The machine's limit: one 128-byte append plus fdatasync on a plain file.
void BM_RawFdatasync(benchmark::State& state) {
  std::string dir = ScratchDir();
  int fd = ::open((dir + "/raw").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  std::string rec(128, 'r');
  off_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, rec.data(), rec.size(), off) < 0 || ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
    off += static_cast<off_t>(rec.size());
  }
  ::close(fd);
}
BENCHMARK(BM_RawFdatasync)->UseRealTime();

// One durable commit-log record per call; with threads, group commit shares syncs.
void BM_LogAppendDurable(benchmark::State& state) {
  static std::unique_ptr<sop::Backend> backend;
  if (state.thread_index() == 0) {
    auto b = sop::OpenFileBackend(ScratchDir() + "/db");
    if (!b.ok()) {
      state.SkipWithError(b.status().ToString().c_str());
      return;
    }
    backend = std::move(*b);
  }
  std::string rec(100, 'x');
  for (auto _ : state) {
    auto seq = backend->log()->Append(rec);
    if (!seq.ok()) {
      state.SkipWithError(seq.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) backend.reset();
}
BENCHMARK(BM_LogAppendDurable)->UseRealTime()->Threads(1)->Threads(4)->Threads(8);

// A batch of N small blobs (4000 B, a B-tree node's size) applied durably.
void BM_ApplyBatch(benchmark::State& state) {
  auto b = sop::OpenFileBackend(ScratchDir() + "/db");
  if (!b.ok()) {
    state.SkipWithError(b.status().ToString().c_str());
    return;
  }
  sop::BlobStore& blobs = (*b)->blobs();
  std::string node(4000, 'n');
  std::vector<sop::BlobId> previous;
  for (auto _ : state) {
    sop::WriteBatch batch;
    std::vector<sop::BlobId> ids;
    for (int64_t i = 0; i < state.range(0); ++i) {
      auto id = blobs.Reserve(node.size());
      batch.Put(*id, node);
      ids.push_back(*id);
    }
    for (const auto& id : previous) batch.Delete(id);
    if (auto st = blobs.Apply(batch); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    previous = std::move(ids);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0) * node.size());
}
BENCHMARK(BM_ApplyBatch)->UseRealTime()->Arg(1)->Arg(16)->Arg(256);

void BM_ReadBlob(benchmark::State& state) {
  auto b = sop::OpenFileBackend(ScratchDir() + "/db");
  sop::BlobStore& blobs = (*b)->blobs();
  std::string data(state.range(0), 'v');
  auto id = blobs.Reserve(data.size());
  sop::WriteBatch batch;
  batch.Put(*id, data);
  if (!blobs.Apply(batch).ok()) return;
  for (auto _ : state) benchmark::DoNotOptimize(blobs.Read(*id));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReadBlob)->Arg(4000)->Arg(1 << 20);

void BM_Checksum(benchmark::State& state) {
  std::string data(state.range(0), 'c');
  for (auto _ : state) benchmark::DoNotOptimize(sop::Checksum(data, 7));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(4096)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
