// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "util/huge_page_arena.h"

#include <sanitizer/asan_interface.h>
#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace sop {

HugePageArena::~HugePageArena() {
  MutexLock lock(&mu_);
  for (void* chunk : chunks_) {
    ASAN_UNPOISON_MEMORY_REGION(chunk, kChunkBytes);
    munmap(chunk, kChunkBytes);
  }
}

size_t HugePageArena::reserved_bytes() const {
  MutexLock lock(&mu_);
  return chunks_.size() * kChunkBytes;
}

size_t HugePageArena::ClassOf(size_t bytes) {
  if (bytes <= kSmallLimit) return bytes == 0 ? 0 : (bytes - 1) / kSmallStep;
  return kSmallLimit / kSmallStep + (bytes - kSmallLimit - 1) / kLargeStep;
}

size_t HugePageArena::ClassBytes(size_t c) {
  if (c < kSmallLimit / kSmallStep) return (c + 1) * kSmallStep;
  return kSmallLimit + (c - kSmallLimit / kSmallStep + 1) * kLargeStep;
}

void* HugePageArena::do_allocate(size_t bytes, size_t alignment) {
  if (bytes > kMaxClassBytes || alignment > kSmallStep) {
    return ::operator new(bytes, std::align_val_t(alignment));
  }
  const size_t c = ClassOf(bytes);
  MutexLock lock(&mu_);
  if (FreeBlock* b = free_[c]) {
    ASAN_UNPOISON_MEMORY_REGION(b, ClassBytes(c));
    free_[c] = b->next;
    return b;
  }
  return Carve(c);
}

void HugePageArena::do_deallocate(void* p, size_t bytes, size_t alignment) {
  if (bytes > kMaxClassBytes || alignment > kSmallStep) {
    ::operator delete(p, std::align_val_t(alignment));
    return;
  }
  MutexLock lock(&mu_);
  PushFree(ClassOf(bytes), p);
}

void HugePageArena::PushFree(size_t c, void* p) {
  free_[c] = new (p) FreeBlock{free_[c]};
  // Under AddressSanitizer a use of a freed node is reported, as it would
  // be for memory from malloc.
  ASAN_POISON_MEMORY_REGION(p, ClassBytes(c));
}

void* HugePageArena::Carve(size_t c) {
  const size_t size = ClassBytes(c);
  if (static_cast<size_t>(limit_ - cursor_) < size) {
    // The chunk's tail too small for this class is handed to the smaller
    // classes' free lists, so nothing of a chunk is lost.
    while (limit_ - cursor_ >= static_cast<ptrdiff_t>(kSmallStep)) {
      size_t fit = ClassOf(static_cast<size_t>(limit_ - cursor_));
      if (ClassBytes(fit) > static_cast<size_t>(limit_ - cursor_)) --fit;
      PushFree(fit, cursor_);
      cursor_ += ClassBytes(fit);
    }
    // Twice the size, to cut a 2 MiB-aligned chunk out of it: only an
    // aligned 2 MiB range can be one huge page.
    void* raw =
        mmap(nullptr, 2 * kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kChunkBytes - 1) & ~(kChunkBytes - 1);
    if (aligned > start) munmap(raw, aligned - start);
    munmap(reinterpret_cast<void*>(aligned + kChunkBytes), start + kChunkBytes - aligned);
    char* chunk = reinterpret_cast<char*>(aligned);
    madvise(chunk, kChunkBytes, MADV_HUGEPAGE);  // advice: no huge pages is no error
    chunks_.push_back(chunk);
    cursor_ = chunk;
    limit_ = chunk + kChunkBytes;
  }
  void* block = cursor_;
  cursor_ += size;
  return block;
}

}  // namespace sop
