// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "tools/dump_format.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sop {

bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  out += "\"";
  return out;
}

namespace {

class Parser {
 public:
  explicit Parser(absl::string_view in) : in_(in) {}

  absl::StatusOr<std::map<std::string, std::string>> Object() {
    std::map<std::string, std::string> members;
    Space();
    if (!Eat('{')) return Bad("expected '{'");
    Space();
    if (Eat('}')) return End(members);
    for (;;) {
      Space();
      auto key = String();
      if (!key.ok()) return key.status();
      Space();
      if (!Eat(':')) return Bad("expected ':'");
      Space();
      absl::StatusOr<std::string> value;
      if (Peek() == '"') {
        value = String();
      } else {
        value = Bare();
      }
      if (!value.ok()) return value.status();
      members[*key] = *value;
      Space();
      if (Eat(',')) continue;
      if (Eat('}')) return End(members);
      return Bad("expected ',' or '}'");
    }
  }

 private:
  absl::StatusOr<std::map<std::string, std::string>> End(std::map<std::string, std::string> m) {
    Space();
    if (pos_ != in_.size()) return Bad("trailing characters");
    return m;
  }
  absl::Status Bad(absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(what, " at column ", pos_ + 1));
  }
  char Peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void Space() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t')) ++pos_;
  }
  absl::StatusOr<std::string> Bare() {  // true, false, integers
    size_t start = pos_;
    while (pos_ < in_.size() &&
           (std::isalnum(static_cast<unsigned char>(in_[pos_])) || in_[pos_] == '-')) {
      ++pos_;
    }
    if (start == pos_) return Bad("expected a value");
    return std::string(in_.substr(start, pos_ - start));
  }
  absl::StatusOr<std::string> String() {
    if (!Eat('"')) return Bad("expected a string");
    std::string out;
    for (;;) {
      if (pos_ >= in_.size()) return Bad("unterminated string");
      char c = in_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= in_.size()) return Bad("unterminated escape");
      char e = in_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u': {
          if (in_.size() - pos_ < 4) return Bad("short \\u escape");
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            char h = in_[pos_++];
            if (!std::isxdigit(static_cast<unsigned char>(h))) return Bad("bad \\u escape");
            v = v * 16 +
                (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
          }
          if (v >= 0x80) return Bad("\\u escapes above 0x7f are not used by dumps");
          out.push_back(static_cast<char>(v));
          break;
        }
        default:
          return Bad("unknown escape");
      }
    }
  }

  absl::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseFlatJson(absl::string_view line) {
  return Parser(line).Object();
}

}  // namespace sop
