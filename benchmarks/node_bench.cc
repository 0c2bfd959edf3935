// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Micro-benchmarks of the inner parts a regression would show in first:
// searching, copying, decoding and encoding a node, and the key codec.
// (Checksums and log appends are in backend_bench.)

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <tuple>

#include "absl/strings/str_format.h"
#include "btree/btree.h"
#include "btree/node.h"
#include "sop/codec.h"

namespace sop {
namespace {

// A full leaf of 16-byte keys and 100-byte values, as the B-tree makes them.
Node FullLeaf() {
  Node n;
  for (int i = 0; n.bytes < 3900; ++i) {
    n.InsertEntry(n.size(), absl::StrFormat("%016d", i * 7), 0, std::string(100, 'v'),
                  ValueKind::kInline);
  }
  return n;
}

void BM_NodeSearch(benchmark::State& state) {
  Node n = FullLeaf();
  BTree tree(1, BytewiseComparator(), 4000);
  std::mt19937 rng(1);
  for (auto _ : state) {
    std::string key = absl::StrFormat("%016d", static_cast<int>(rng() % (n.size() * 7)));
    size_t lo = 0, hi = n.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (tree.Compare(n.key(mid), n.dup(mid), key, 0) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    benchmark::DoNotOptimize(lo);
  }
  state.SetLabel(absl::StrFormat("%zu entries", n.size()));
}
BENCHMARK(BM_NodeSearch);

void BM_NodeCopy(benchmark::State& state) {  // what copy-on-write pays per node
  Node n = FullLeaf();
  for (auto _ : state) {
    Node copy = n;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_NodeCopy);

void BM_NodeDecode(benchmark::State& state) {  // what a cache miss pays after the read
  std::string bytes = EncodeNode(FullLeaf());
  for (auto _ : state) {
    auto n = DecodeNode(bytes, "bench");
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_NodeDecode);

void BM_NodeEncode(benchmark::State& state) {  // what a checkpoint pays per node
  Node n = FullLeaf();
  for (auto _ : state) {
    std::string bytes = EncodeNode(n);
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_NodeEncode);

void BM_NodeInsertErase(benchmark::State& state) {  // an edit in the middle of a full node
  Node n = FullLeaf();
  for (auto _ : state) {
    n.InsertEntry(n.size() / 2, "0000000000000003", 0, std::string(100, 'w'), ValueKind::kInline);
    n.EraseEntry(n.size() / 2);
  }
}
BENCHMARK(BM_NodeInsertErase);

void BM_CodecCompositeKey(benchmark::State& state) {
  std::tuple<std::string, int32_t, uint64_t> key{"customer-42", -7, 1234567890123ull};
  for (auto _ : state) {
    std::string encoded = EncodeKey(key);
    std::tuple<std::string, int32_t, uint64_t> back;
    benchmark::DoNotOptimize(DecodeKey(encoded, &back));
  }
}
BENCHMARK(BM_CodecCompositeKey);

}  // namespace
}  // namespace sop

BENCHMARK_MAIN();
