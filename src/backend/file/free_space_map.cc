// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "backend/file/free_space_map.h"

#include "absl/strings/str_cat.h"

namespace sop {

absl::Status FreeSpaceMap::Reset(uint64_t first_page, uint64_t end,
                                 const std::vector<Extent>& free) {
  first_page_ = first_page;
  by_start_.clear();
  by_size_.clear();
  free_pages_ = 0;
  end_ = std::max(end, first_page_);
  uint64_t prev_end = first_page_;
  for (const auto& [page, n] : free) {
    if (n == 0 || page < prev_end || page > end_ || n > end_ - page) {
      return absl::InvalidArgumentError(absl::StrCat("free extent ", page, "+", n,
                                                     " overlaps another or lies outside pages ",
                                                     first_page_, "..", end_));
    }
    Insert(page, n);
    prev_end = page + n;
  }
  return absl::OkStatus();
}

uint64_t FreeSpaceMap::Allocate(uint64_t n) {
  auto fit = by_size_.lower_bound({n, 0});
  if (fit == by_size_.end()) {
    // Grow; a free extent touching the end is extended rather than skipped.
    if (!by_start_.empty()) {
      auto last = std::prev(by_start_.end());
      if (last->first + last->second == end_) {
        uint64_t page = last->first;
        end_ = page + n;
        Erase(last);
        return page;
      }
    }
    uint64_t page = end_;
    end_ += n;
    return page;
  }
  auto [count, page] = *fit;
  Erase(by_start_.find(page));
  if (count > n) Insert(page + n, count - n);
  return page;
}

uint64_t FreeSpaceMap::AllocateBelow(uint64_t n, uint64_t limit) {
  for (auto it = by_start_.begin(); it != by_start_.end() && it->first + n <= limit; ++it) {
    auto [page, count] = *it;  // copies: Erase frees the entry
    if (count < n) continue;
    Erase(it);
    if (count > n) Insert(page + n, count - n);
    return page;
  }
  return 0;
}

absl::Status FreeSpaceMap::Free(uint64_t page, uint64_t n) {
  if (n == 0) return absl::OkStatus();
  if (page < first_page_ || page > end_ || n > end_ - page) {
    return absl::InternalError(
        absl::StrCat("freeing pages ", page, "+", n, " outside the file's ", end_, " pages"));
  }
  auto next = by_start_.lower_bound(page);
  if (next != by_start_.end() && next->first < page + n) {
    return absl::InternalError(absl::StrCat("double free of pages ", page, "+", n));
  }
  if (next != by_start_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second > page) {
      return absl::InternalError(absl::StrCat("double free of pages ", page, "+", n));
    }
  }
  Insert(page, n);
  return absl::OkStatus();
}

void FreeSpaceMap::MarkUsed(uint64_t page, uint64_t n) {
  if (page + n > end_) {
    uint64_t old_end = end_;
    end_ = page + n;
    if (page > old_end) Insert(old_end, page - old_end);
  }
  // Cut [page, page + n) out of every free extent it overlaps.
  auto it = by_start_.upper_bound(page);
  if (it != by_start_.begin()) --it;
  while (it != by_start_.end() && it->first < page + n) {
    auto [start, count] = *it;
    auto next = std::next(it);
    if (start + count > page) {
      Erase(it);
      if (start < page) Insert(start, page - start);
      if (start + count > page + n) Insert(page + n, start + count - (page + n));
    }
    it = next;
  }
}

bool FreeSpaceMap::IsFree(uint64_t page) const {
  auto it = by_start_.upper_bound(page);
  if (it == by_start_.begin()) return false;
  --it;
  return page < it->first + it->second;
}

bool FreeSpaceMap::AllFree(uint64_t page, uint64_t n) const {
  if (page < first_page_ || n > UINT64_MAX - page) return false;
  if (page >= end_ || n == 0) return true;
  auto it = by_start_.upper_bound(page);
  if (it == by_start_.begin()) return false;
  --it;
  // Extents are maximal: one free extent must cover the range up to the end.
  return it->first + it->second >= std::min(page + n, end_);
}

void FreeSpaceMap::ShrinkTail() {
  if (by_start_.empty()) return;
  auto last = std::prev(by_start_.end());
  if (last->first + last->second == end_) {
    end_ = last->first;
    Erase(last);
  }
}

void FreeSpaceMap::Insert(uint64_t page, uint64_t n) {
  // Coalesce with neighbours so extents stay maximal.
  auto next = by_start_.lower_bound(page);
  if (next != by_start_.end() && next->first == page + n) {
    n += next->second;
    Erase(next);
  }
  auto prev = by_start_.lower_bound(page);
  if (prev != by_start_.begin()) {
    --prev;
    if (prev->first + prev->second == page) {
      page = prev->first;
      n += prev->second;
      Erase(prev);
    }
  }
  by_start_.emplace(page, n);
  by_size_.emplace(n, page);
  free_pages_ += n;
}

void FreeSpaceMap::Erase(std::map<uint64_t, uint64_t>::iterator it) {
  by_size_.erase({it->second, it->first});
  free_pages_ -= it->second;
  by_start_.erase(it);
}

}  // namespace sop
