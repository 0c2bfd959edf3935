// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "util/coding.h"

#include <xxhash.h>

#include "absl/strings/str_cat.h"

namespace sop {

uint64_t Checksum(absl::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

absl::Status ReadExactly(File& f, uint64_t offset, absl::Span<char> dst) {
  size_t done = 0;
  while (done < dst.size()) {
    auto n = f.ReadAt(offset + done, dst.subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::DataLossError(absl::StrCat(f.path(), ": offset ", offset + done, ": file ends ",
                                              dst.size() - done,
                                              " bytes before the data it should hold"));
    }
    done += *n;
  }
  return absl::OkStatus();
}

}  // namespace sop
