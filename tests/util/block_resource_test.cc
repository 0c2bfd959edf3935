// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "util/block_resource.h"

#include <memory_resource>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sop {
namespace {

// Counts what is taken from it and given back.
class CountingResource final : public std::pmr::memory_resource {
 public:
  size_t live_blocks = 0, live_bytes = 0;

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    ++live_blocks;
    live_bytes += bytes;
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    --live_blocks;
    live_bytes -= bytes;
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

TEST(BlockResourceTest, BuffersLieInOrderInOneBlockAndGoBackWithIt) {
  CountingResource upstream;
  {
    BlockResource block(1024, &upstream);
    EXPECT_EQ(upstream.live_blocks, 1u);
    std::pmr::vector<uint64_t> a(10, 1, &block);
    std::pmr::string b(100, 'x', &block);
    std::pmr::vector<uint32_t> c(5, 2, &block);
    const char* a_end = reinterpret_cast<const char*>(a.data() + a.size());
    EXPECT_GE(b.data(), a_end);
    EXPECT_LT(b.data(), a_end + 16);  // next to it, but for alignment
    EXPECT_GT(reinterpret_cast<const char*>(c.data()), b.data() + b.size());
    EXPECT_EQ(upstream.live_blocks, 1u);  // nothing but the block

    // What no longer fits comes from upstream, and goes back there.
    std::pmr::vector<char> big(2000, 'y', &block);
    EXPECT_EQ(upstream.live_blocks, 2u);
    big = std::pmr::vector<char>(&block);
    EXPECT_EQ(upstream.live_blocks, 1u);
    EXPECT_EQ(a[9], 1u);
    EXPECT_EQ(b.back(), 'x');
    EXPECT_EQ(c[4], 2u);
  }
  EXPECT_EQ(upstream.live_blocks, 0u);
  EXPECT_EQ(upstream.live_bytes, 0u);
}

}  // namespace
}  // namespace sop
