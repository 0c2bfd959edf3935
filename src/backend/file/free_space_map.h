// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_BACKEND_FILE_FREE_SPACE_MAP_H_
#define SOP_SRC_BACKEND_FILE_FREE_SPACE_MAP_H_

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace sop {

// Which pages of the data file are free. Pages below `first_page` (the
// header) are never handed out; pages at or past end() do not exist yet.
// Allocation is best fit, so small holes are filled before big ones are cut.
// Not thread-safe.
class FreeSpaceMap {
 public:
  using Extent = std::pair<uint64_t, uint64_t>;  // first page, page count

  // Replaces the contents: pages below `first_page` are never handed out,
  // the file spans `end` pages, and `free` lists the free extents in order.
  // InvalidArgument if extents overlap, are empty or reach outside
  // [first_page, end): they come from disk and are not trusted.
  absl::Status Reset(uint64_t first_page, uint64_t end, const std::vector<Extent>& free);

  // Takes `n` pages: the smallest free extent that fits, else the file grows.
  uint64_t Allocate(uint64_t n);

  // Takes `n` pages from the lowest free extent that fits and ends by
  // `limit`, or returns 0 (never a valid page) when there is none.
  uint64_t AllocateBelow(uint64_t n, uint64_t limit);

  // Returns pages. Internal if any of them is free already (a double free).
  absl::Status Free(uint64_t page, uint64_t n);

  // Marks [page, page + n) as used, whatever of it was free; pages past the
  // end make the file grow, and the gap before them becomes free.
  void MarkUsed(uint64_t page, uint64_t n);

  // Drops a free extent that ends at end(), so the file can shrink.
  void ShrinkTail();

  bool IsFree(uint64_t page) const;
  // Whether every page of [page, page + n) is free or past the end.
  bool AllFree(uint64_t page, uint64_t n) const;
  uint64_t end() const { return end_; }
  uint64_t free_pages() const { return free_pages_; }
  std::vector<Extent> extents() const { return {by_start_.begin(), by_start_.end()}; }

 private:
  void Insert(uint64_t page, uint64_t n);
  void Erase(std::map<uint64_t, uint64_t>::iterator it);

  uint64_t first_page_ = 0;
  uint64_t end_ = 0;
  uint64_t free_pages_ = 0;
  std::map<uint64_t, uint64_t> by_start_;            // first page -> count
  std::set<std::pair<uint64_t, uint64_t>> by_size_;  // (count, first page)
};

}  // namespace sop

#endif  // SOP_SRC_BACKEND_FILE_FREE_SPACE_MAP_H_
