// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Memory for the node cache's decoded nodes, from 2 MiB chunks the kernel is
// asked to back with transparent huge pages (madvise MADV_HUGEPAGE). A warm
// read descends through nodes scattered over a cache of hundreds of MB; on
// 4 KiB pages nearly every node touched is a TLB miss, and measured, a
// third of a point read's time went to them (docs/benchmarks.md, decision
// 0015). Where the kernel gives no huge pages, the chunks are plain memory.
//
// Blocks are rounded up to a size class and kept on that class's free list
// when freed; chunks go back to the system only when the arena is
// destroyed, so its footprint is the peak of what was live at once, plus
// the rounding (under 6 % for blocks of 1 KiB and more). Blocks over 64 KiB
// come from operator new.
//
// Thread-safe. Every block must be freed before the arena is destroyed.

#ifndef SOP_SRC_UTIL_HUGE_PAGE_ARENA_H_
#define SOP_SRC_UTIL_HUGE_PAGE_ARENA_H_

#include <array>
#include <cstddef>
#include <memory_resource>
#include <vector>

#include "util/mutex.h"

namespace sop {

class HugePageArena final : public std::pmr::memory_resource {
 public:
  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kMaxClassBytes = size_t{64} << 10;

  HugePageArena() = default;
  ~HugePageArena() override;
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;

  // Bytes of chunks taken from the system.
  size_t reserved_bytes() const;

 private:
  // 64-byte steps up to 4 KiB, then 512-byte steps up to kMaxClassBytes.
  static constexpr size_t kSmallStep = 64, kSmallLimit = 4096, kLargeStep = 512;
  static constexpr size_t kClasses =
      kSmallLimit / kSmallStep + (kMaxClassBytes - kSmallLimit) / kLargeStep;
  static size_t ClassOf(size_t bytes);
  static size_t ClassBytes(size_t c);

  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
  // A fresh block of class `c` from the current chunk (a new one if needed).
  void* Carve(size_t c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushFree(size_t c, void* block) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct FreeBlock {
    FreeBlock* next;
  };
  mutable Mutex mu_;
  std::array<FreeBlock*, kClasses> free_ ABSL_GUARDED_BY(mu_) = {};
  std::vector<void*> chunks_ ABSL_GUARDED_BY(mu_);
  char* cursor_ ABSL_GUARDED_BY(mu_) = nullptr;  // unused part of the newest chunk
  char* limit_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace sop

#endif  // SOP_SRC_UTIL_HUGE_PAGE_ARENA_H_
