// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Shared by the fuzz targets: an in-memory file holding the fuzzer's bytes.

#ifndef SOP_FUZZ_FUZZ_UTIL_H_
#define SOP_FUZZ_FUZZ_UTIL_H_

#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "sop/env.h"

namespace sop::fuzz {

// Writes `bytes` to `path` in `env`; aborts only if the in-memory env fails.
inline void PutFile(Env& env, const std::string& path, absl::string_view bytes) {
  auto f = env.OpenFile(path, OpenMode::kCreateIfMissing);
  if (!f.ok() || !(*f)->WriteAt(0, bytes).ok() || !(*f)->Sync().ok()) std::abort();
}

}  // namespace sop::fuzz

#endif  // SOP_FUZZ_FUZZ_UTIL_H_
