// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The heap as a memory resource, through operator new's fast path.
// libstdc++ 12's std::pmr::new_delete_resource() passes every request's
// alignment on to the aligned operator new, which glibc serves through
// memalign: ~300 instructions an allocation (and its free) where plain
// malloc's thread cache takes ~20. A node's buffers need no more alignment
// than new gives anyway, and a transaction copies a node's three buffers for
// every leaf it changes.

#ifndef SOP_SRC_UTIL_HEAP_RESOURCE_H_
#define SOP_SRC_UTIL_HEAP_RESOURCE_H_

#include <cstddef>
#include <memory_resource>
#include <new>

namespace sop {

class HeapResource final : public std::pmr::memory_resource {
 public:
  // The one instance; thread-safe, never destroyed.
  static HeapResource* Get() {
    static HeapResource* resource = new HeapResource;
    return resource;
  }

 private:
  HeapResource() = default;

  void* do_allocate(size_t bytes, size_t alignment) override {
    if (alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(bytes);
    return ::operator new(bytes, std::align_val_t(alignment));
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    (void)bytes;  // unsized: clang enables sized deallocation only on request
    if (alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      ::operator delete(p);
    } else {
      ::operator delete(p, std::align_val_t(alignment));
    }
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

}  // namespace sop

#endif  // SOP_SRC_UTIL_HEAP_RESOURCE_H_
