// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// One block of an upstream memory resource, handed out front to back: the
// buffers of an object built in it lie next to each other, in the order it
// allocated them. A compact node's slots, heads and bytes come from one
// block so, and a search that reads all three finds them in neighbouring
// cache lines instead of wherever three separate blocks were free (decision
// 0018). Allocations that no longer fit go to the upstream resource.
//
// The object using it must be destroyed first (the block goes back with the
// resource). Not thread-safe; it belongs to one object.

#ifndef SOP_SRC_UTIL_BLOCK_RESOURCE_H_
#define SOP_SRC_UTIL_BLOCK_RESOURCE_H_

#include <cstddef>
#include <memory_resource>

namespace sop {

class BlockResource final : public std::pmr::memory_resource {
 public:
  // A block of `bytes` (none if 0) from `upstream`, which must outlive this.
  BlockResource(size_t bytes, std::pmr::memory_resource* upstream)
      : upstream_(upstream),
        base_(bytes == 0 ? nullptr : static_cast<char*>(upstream->allocate(bytes, kAlign))),
        size_(bytes) {}
  ~BlockResource() override {
    if (base_ != nullptr) upstream_->deallocate(base_, size_, kAlign);
  }
  BlockResource(const BlockResource&) = delete;
  BlockResource& operator=(const BlockResource&) = delete;

  // The block's bytes (0: no block).
  size_t size() const { return size_; }

 private:
  static constexpr size_t kAlign = alignof(std::max_align_t);

  void* do_allocate(size_t bytes, size_t alignment) override {
    const size_t at = (used_ + alignment - 1) & ~(alignment - 1);
    if (alignment <= kAlign && at + bytes <= size_) {
      used_ = at + bytes;
      return base_ + at;
    }
    return upstream_->allocate(bytes, alignment);
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    // The block goes back whole, in the destructor.
    if (base_ != nullptr && p >= base_ && p < base_ + size_) return;
    upstream_->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::pmr::memory_resource* const upstream_;
  char* const base_;
  const size_t size_;
  size_t used_ = 0;
};

}  // namespace sop

#endif  // SOP_SRC_UTIL_BLOCK_RESOURCE_H_
