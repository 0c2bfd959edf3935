// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The machine's own limits, measured by a benchmark binary in the directory
// it uses, right before a durable benchmark, so both sides of a ratio see the
// same load.

#ifndef SOP_BENCHMARKS_MACHINE_LIMITS_H_
#define SOP_BENCHMARKS_MACHINE_LIMITS_H_

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sop::bench {

inline double MedianSeconds(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Median latency of the cheapest durable 4 KiB write in `dir`, in seconds:
// an overwrite of a block the file already has + fdatasync. (An append also
// makes fdatasync record the new length, on ext4 a journal commit: dearer,
// and so not the machine's limit. SOP's log writes the first way.)
inline double BareFdatasyncSeconds(const std::string& dir) {
  using Clock = std::chrono::steady_clock;
  constexpr int kWrites = 200;
  int fd = ::open((dir + "/bare").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  std::string page(4096, 'r');
  std::string zeros(static_cast<size_t>(kWrites) * page.size(), '\0');
  std::vector<double> lat;
  if (::pwrite(fd, zeros.data(), zeros.size(), 0) == static_cast<ssize_t>(zeros.size()) &&
      ::fdatasync(fd) == 0) {
    for (int i = 0; i < kWrites; ++i) {
      auto t0 = Clock::now();
      if (::pwrite(fd, page.data(), page.size(), static_cast<off_t>(i) * 4096) < 0) break;
      if (::fdatasync(fd) != 0) break;
      lat.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  ::close(fd);
  std::filesystem::remove(dir + "/bare");
  return MedianSeconds(std::move(lat));
}

// Bandwidth of a bare sequential write of `bytes` + fdatasync in `dir`, in bytes/s.
inline double BareWriteBytesPerSecond(const std::string& dir, uint64_t bytes) {
  using Clock = std::chrono::steady_clock;
  int fd = ::open((dir + "/bare").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  std::string chunk(1 << 20, 'w');
  auto t0 = Clock::now();
  for (uint64_t off = 0; off < bytes; off += chunk.size()) {
    if (::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(off)) < 0) break;
  }
  (void)::fdatasync(fd);
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  std::filesystem::remove(dir + "/bare");
  return static_cast<double>(bytes) / seconds;
}

}  // namespace sop::bench

#endif  // SOP_BENCHMARKS_MACHINE_LIMITS_H_
