// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_ENV_POSIX_ERROR_H_
#define SOP_SRC_ENV_POSIX_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sop {

// Maps an errno from `what` on `path` to the Status code DESIGN.md 2.6 names
// (ENOSPC -> ResourceExhausted, ENOENT -> NotFound, EIO -> Unavailable, ...).
absl::Status PosixError(absl::string_view what, const std::string& path, int err);

}  // namespace sop

#endif  // SOP_SRC_ENV_POSIX_ERROR_H_
