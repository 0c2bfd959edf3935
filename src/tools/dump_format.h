// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The portable dump format of `sop dump` / `sop load`: JSON Lines.
//
//   {"sop_dump":1}
//   {"store":"people","unique":true,"max_value_in_node":1024,"comparator":"sop.bytewise"}
//   {"k":"ada","v":"Ada Lovelace"}
//   {"k64":"AP8=","v64":"..."}          <- keys or values that are not UTF-8, in base64
//
// A store line starts that store's entries. Keys and values that are valid
// UTF-8 are JSON strings ("k", "v"); others are base64 ("k64", "v64").

#ifndef SOP_SRC_TOOLS_DUMP_FORMAT_H_
#define SOP_SRC_TOOLS_DUMP_FORMAT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sop {

// A JSON string literal for UTF-8 `s` (quotes included).
std::string JsonString(absl::string_view s);
bool IsUtf8(absl::string_view s);

// One flat JSON object of string, boolean and integer members, as the dump
// writes them; values are returned as their text (strings unescaped).
// InvalidArgument describing the problem for anything else.
absl::StatusOr<std::map<std::string, std::string>> ParseFlatJson(absl::string_view line);

}  // namespace sop

#endif  // SOP_SRC_TOOLS_DUMP_FORMAT_H_
