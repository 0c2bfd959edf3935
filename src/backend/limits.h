// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_BACKEND_LIMITS_H_
#define SOP_SRC_BACKEND_LIMITS_H_

#include <cstdint>

namespace sop {

// The largest blob (and so the largest value) a backend accepts: 1 TiB.
inline constexpr uint64_t kMaxBlobSize = uint64_t{1} << 40;

}  // namespace sop

#endif  // SOP_SRC_BACKEND_LIMITS_H_
