// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "util/huge_page_arena.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sop {
namespace {

struct Block {
  char* p;
  size_t size;
  char fill;
};

void Fill(const Block& b) { std::memset(b.p, b.fill, b.size); }
bool Intact(const Block& b) {
  for (size_t i = 0; i < b.size; ++i) {
    if (b.p[i] != b.fill) return false;
  }
  return true;
}

// Blocks of every size up to past the largest class neither overlap nor
// lose their contents, and blocks the arena carves are 64-byte aligned.
TEST(HugePageArenaTest, BlocksOfEverySizeAreDistinctAndAligned) {
  HugePageArena arena;
  std::vector<Block> blocks;
  std::map<uintptr_t, size_t> spans;
  for (size_t size = 1; size <= HugePageArena::kMaxClassBytes + 4096; size += 97) {
    Block b{static_cast<char*>(arena.allocate(size, 8)), size, static_cast<char>(size % 251)};
    if (size <= HugePageArena::kMaxClassBytes) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(b.p) % 64, 0u) << size;
    }
    Fill(b);
    blocks.push_back(b);
    spans[reinterpret_cast<uintptr_t>(b.p)] = size;
  }
  uintptr_t end = 0;
  for (const auto& [start, size] : spans) {
    EXPECT_GE(start, end) << "blocks overlap";
    end = start + size;
  }
  for (const Block& b : blocks) EXPECT_TRUE(Intact(b)) << b.size;
  for (const Block& b : blocks) arena.deallocate(b.p, b.size, 8);
}

// A freed block serves the next request of its class, so a steady
// allocate-and-free load takes no more memory.
TEST(HugePageArenaTest, FreedBlocksAreReused) {
  HugePageArena arena;
  void* a = arena.allocate(4000, 8);
  arena.deallocate(a, 4000, 8);
  EXPECT_EQ(arena.allocate(3990, 8), a);  // the same class: 3,969 to 4,032 bytes
  arena.deallocate(a, 3990, 8);
  std::mt19937_64 rng(3);
  std::vector<std::pair<void*, size_t>> live;
  size_t first = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 2000; ++i) {
      size_t size = 64 + rng() % 8192;
      live.emplace_back(arena.allocate(size, 8), size);
    }
    const size_t reserved = arena.reserved_bytes();
    for (auto& [p, size] : live) arena.deallocate(p, size, 8);
    live.clear();
    if (round == 0) first = reserved;
    // Each round asks for different sizes, so a class may need a few blocks
    // more than any round before; never a round's worth more.
    EXPECT_LE(reserved, first + HugePageArena::kChunkBytes) << "round " << round;
  }
}

// What a chunk holds in blocks is close to what was asked: the rounding to
// classes and the chunk tails waste little.
TEST(HugePageArenaTest, RoundingWastesLittle) {
  HugePageArena arena;
  std::mt19937_64 rng(4);
  size_t asked = 0;
  std::vector<std::pair<void*, size_t>> live;
  while (asked < (size_t{64} << 20)) {
    size_t size = 1024 + rng() % (40 << 10);
    live.emplace_back(arena.allocate(size, 8), size);
    asked += size;
  }
  EXPECT_LE(static_cast<double>(arena.reserved_bytes()), 1.08 * static_cast<double>(asked));
  for (auto& [p, size] : live) arena.deallocate(p, size, 8);
}

TEST(HugePageArenaTest, ContainersAndLargeOrAlignedBlocks) {
  HugePageArena arena;
  std::pmr::vector<uint64_t> v(&arena);
  for (uint64_t i = 0; i < 100000; ++i) v.push_back(i);  // grows past the classes
  for (uint64_t i = 0; i < 100000; ++i) ASSERT_EQ(v[i], i);
  void* aligned = arena.allocate(256, 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 4096, 0u);
  arena.deallocate(aligned, 256, 4096);
}

// Threads allocating and freeing at once (and freeing each other's blocks)
// never share a block.
TEST(HugePageArenaTest, ConcurrentUseKeepsBlocksApart) {
  HugePageArena arena;
  constexpr int kThreads = 4;
  std::vector<std::vector<Block>> handed(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> broken{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::vector<Block> mine;
      for (int i = 0; i < 20000; ++i) {
        if (!mine.empty() && rng() % 2 == 0) {
          Block b = mine[rng() % mine.size()];
          if (!Intact(b)) broken++;
          arena.deallocate(b.p, b.size, 8);
          mine.erase(
              std::find_if(mine.begin(), mine.end(), [&](const Block& m) { return m.p == b.p; }));
        } else {
          size_t size = 1 + rng() % 6000;
          Block b{static_cast<char*>(arena.allocate(size, 8)), size, static_cast<char>(t + 1)};
          Fill(b);
          mine.push_back(b);
        }
      }
      handed[t] = std::move(mine);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(broken.load(), 0);
  // Freed by another thread than the one that took them.
  for (int t = 0; t < kThreads; ++t) {
    for (const Block& b : handed[(t + 1) % kThreads]) {
      EXPECT_TRUE(Intact(b));
      arena.deallocate(b.p, b.size, 8);
    }
  }
}

}  // namespace
}  // namespace sop
