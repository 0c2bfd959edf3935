// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_UTIL_STATUS_H_
#define SOP_SRC_UTIL_STATUS_H_

#include "absl/status/status.h"

namespace sop {

// A copy of `s` that shares nothing with it. Copies of an absl::Status share
// its message under a reference count kept inside Debian's prebuilt Abseil,
// which ThreadSanitizer cannot see (decision 0004): the last release, in one
// thread, is reported as racing with a read of the message in another. So a
// status handed to other threads is handed over as their own copy.
inline absl::Status Unshared(const absl::Status& s) {
  return s.ok() ? absl::OkStatus() : absl::Status(s.code(), s.message());
}

}  // namespace sop

#endif  // SOP_SRC_UTIL_STATUS_H_
