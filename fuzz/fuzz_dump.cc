// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The dump format's line parser (sop load) on any line: members or
// InvalidArgument; strings it returns re-encode and parse back the same.

#include <cstdint>
#include <cstdlib>

#include "tools/dump_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view line(reinterpret_cast<const char*>(data), size);
  auto m = sop::ParseFlatJson(line);
  if (!m.ok()) {
    if (!absl::IsInvalidArgument(m.status())) std::abort();
    return 0;
  }
  for (const auto& [name, value] : *m) {
    if (!sop::IsUtf8(name) || !sop::IsUtf8(value)) continue;
    std::string again = "{" + sop::JsonString(name) + ":" + sop::JsonString(value) + "}";
    auto back = sop::ParseFlatJson(again);
    if (!back.ok() || back->size() != 1 || back->begin()->second != value) std::abort();
  }
  return 0;
}
