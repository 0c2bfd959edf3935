// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Backend benchmarks. Durable operations are reported next to the machine's
// own limits measured by this same binary: the latency of a bare 4 KiB
// pwrite + fdatasync, and the bandwidth of a bare sequential write + fdatasync.
// Only the ratios mean something on a noisy machine:
//   vs_fdatasync    commit latency / one bare 4 KiB pwrite+fdatasync
//   commits_per_sync  log records made durable per WAL fdatasync (group commit)
//   vs_raw_write    large-blob write bandwidth / bare sequential write bandwidth
//
//   build/release/benchmarks/backend_bench
// Files go to $TMPDIR (default /tmp): point it at the disk you care about.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "benchmark/benchmark.h"
#include "machine_limits.h"
#include "sop/backend.h"
#include "util/coding.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/sop-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Counts fdatasync calls on WAL files, to report commits per sync.
class CountingEnv final : public sop::EnvWrapper {
 public:
  CountingEnv() : EnvWrapper(sop::Env::Default()) {}

  std::atomic<int64_t> wal_syncs{0};

  absl::StatusOr<std::unique_ptr<sop::File>> OpenFile(const std::string& path,
                                                      sop::OpenMode mode) override {
    auto f = base()->OpenFile(path, mode);
    if (!f.ok()) return f;
    if (!absl::EndsWith(path, "-wal") && !absl::EndsWith(path, "-wal.tmp")) return f;
    return std::unique_ptr<sop::File>(new CountingFile(std::move(*f), &wal_syncs));
  }

 private:
  class CountingFile final : public sop::FileWrapper {
   public:
    CountingFile(std::unique_ptr<sop::File> f, std::atomic<int64_t>* n)
        : FileWrapper(std::move(f)), n_(n) {}
    absl::Status Sync() override {
      n_->fetch_add(1, std::memory_order_relaxed);
      return FileWrapper::Sync();
    }

   private:
    std::atomic<int64_t>* n_;
  };
};

using sop::bench::BareFdatasyncSeconds;
using sop::bench::BareWriteBytesPerSecond;
using sop::bench::MedianSeconds;

// The bare limit as a benchmark too, so it sits in the same table.
void BM_Bare4KiBPwriteFdatasync(benchmark::State& state) {
  std::string dir = ScratchDir();
  int fd = ::open((dir + "/raw").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  std::string page(4096, 'r');
  off_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, page.data(), page.size(), off) < 0 || ::fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
    off += 4096;
  }
  ::close(fd);
}
BENCHMARK(BM_Bare4KiBPwriteFdatasync)->UseRealTime();

// One durable 100-byte commit-log record per call, from 1, 2 or 4 threads.
void BM_DurableCommit(benchmark::State& state) {
  static CountingEnv* env;
  static std::unique_ptr<sop::Backend> backend;
  static int64_t syncs_before;
  static double bare_seconds;
  if (state.thread_index() == 0) {
    std::string dir = ScratchDir();
    bare_seconds = BareFdatasyncSeconds(dir);
    env = new CountingEnv;
    sop::FileBackendOptions options;
    options.env = env;
    auto b = sop::OpenFileBackend(dir + "/db", options);
    if (!b.ok()) {
      state.SkipWithError(b.status().ToString().c_str());
      return;
    }
    backend = std::move(*b);
    syncs_before = env->wal_syncs.load();
  }
  std::string rec(100, 'x');
  std::vector<double> lat;
  lat.reserve(1 << 16);
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto seq = backend->log()->Append(rec);
    lat.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (!seq.ok()) {
      state.SkipWithError(seq.status().ToString().c_str());
      break;
    }
  }
  state.counters["vs_fdatasync"] = benchmark::Counter(MedianSeconds(std::move(lat)) / bare_seconds,
                                                      benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Every thread has left its loop (the loop ends at a barrier) and all
    // threads ran the same number of iterations.
    double commits = static_cast<double>(state.iterations()) * state.threads();
    double syncs = static_cast<double>(env->wal_syncs.load() - syncs_before);
    state.counters["commits_per_sync"] = commits / std::max(1.0, syncs);
    backend.reset();
    delete env;
  }
}
BENCHMARK(BM_DurableCommit)->UseRealTime()->Threads(1)->Threads(2)->Threads(4);

// A 256 MiB blob streamed straight to the data file and applied durably.
void BM_LargeBlobWrite(benchmark::State& state) {
  std::string dir = ScratchDir();
  const uint64_t size = static_cast<uint64_t>(state.range(0)) << 20;
  double bare_bps = BareWriteBytesPerSecond(dir, size);
  auto b = sop::OpenFileBackend(dir + "/db");
  if (!b.ok()) {
    state.SkipWithError(b.status().ToString().c_str());
    return;
  }
  sop::BlobStore& blobs = (*b)->blobs();
  std::string chunk(1 << 20, 'm');
  std::vector<sop::BlobId> previous;
  auto t0 = Clock::now();
  for (auto _ : state) {
    auto w = blobs.NewWriter(size);
    for (uint64_t done = 0; done < size; done += chunk.size()) (void)(*w)->Append(chunk);
    auto id = (*w)->Finish();
    sop::WriteBatch batch;
    batch.PutWritten(*id);
    for (const auto& p : previous) batch.Delete(p);
    if (auto st = blobs.Apply(batch); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    previous = {*id};
  }
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  double bps = static_cast<double>(size) * static_cast<double>(state.iterations()) / seconds;
  state.SetBytesProcessed(static_cast<int64_t>(size) * state.iterations());
  state.counters["vs_raw_write"] = bps / bare_bps;
}
BENCHMARK(BM_LargeBlobWrite)->UseRealTime()->Arg(256)->Unit(benchmark::kMillisecond);

// A batch of N node-sized blobs (4000 B) applied durably, replacing the last.
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
  state.SetBytesProcessed(state.iterations() * state.range(0) * static_cast<int64_t>(node.size()));
}
BENCHMARK(BM_ApplyBatch)->UseRealTime()->Arg(1)->Arg(16)->Arg(256);

void BM_ReadBlob(benchmark::State& state) {
  auto b = sop::OpenFileBackend(ScratchDir() + "/db");
  if (!b.ok()) return;
  sop::BlobStore& blobs = (*b)->blobs();
  std::string data(static_cast<size_t>(state.range(0)), 'v');
  auto id = blobs.Reserve(data.size());
  sop::WriteBatch batch;
  batch.Put(*id, data);
  if (!blobs.Apply(batch).ok()) return;
  for (auto _ : state) benchmark::DoNotOptimize(blobs.Read(*id));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ReadBlob)->Arg(4000)->Arg(1 << 20);

void BM_Checksum(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'c');
  for (auto _ : state) benchmark::DoNotOptimize(sop::Checksum(data, 7));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(4096)->Arg(1 << 20);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
