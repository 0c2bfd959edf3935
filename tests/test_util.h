// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_TESTS_TEST_UTIL_H_
#define SOP_TESTS_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace sop::testing {

// A fresh directory under $TMPDIR, removed with everything in it at scope end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/sop-test-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Deterministic bytes: the same (seed, size) always gives the same string.
inline std::string Pattern(uint64_t seed, size_t size) {
  std::string s(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

// A whole file's bytes, read and written behind the library's back (to damage it).
inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A write-ahead log's bytes without the zeros it grows ahead of its records
// (see backend/file/wal.h): up to the last non-zero byte, rounded up to the
// 8-byte record alignment. For tests whose records do not end in zeros.
inline std::string WithoutZeroTail(std::string log) {
  size_t end = log.find_last_not_of('\0');
  log.resize(end == std::string::npos ? 0 : (end + 1 + 7) / 8 * 8);
  return log;
}

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace sop::testing

#define SOP_ASSERT_OK(expr)                    \
  do {                                         \
    auto _st = ::sop::testing::ToStatus(expr); \
    ASSERT_TRUE(_st.ok()) << _st.ToString();   \
  } while (0)
#define SOP_EXPECT_OK(expr)                    \
  do {                                         \
    auto _st = ::sop::testing::ToStatus(expr); \
    EXPECT_TRUE(_st.ok()) << _st.ToString();   \
  } while (0)

#endif  // SOP_TESTS_TEST_UTIL_H_
