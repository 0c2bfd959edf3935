// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The dump format's own pieces: JSON strings written for every byte, and
// the line parser's answer to every malformed line it can meet.

#include "tools/dump_format.h"

#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace sop {
namespace {

TEST(DumpFormatTest, EveryAsciiByteRoundTripsThroughAJsonString) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  std::string line = "{\"v\":" + JsonString(all) + "}";
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto parsed = ParseFlatJson(line);
  SOP_ASSERT_OK(parsed);
  EXPECT_EQ(parsed->at("v"), all);
  EXPECT_EQ(JsonString("a\"b\\c\td\re\nf\x01"), "\"a\\\"b\\\\c\\td\\re\\nf\\u0001\"");
}

TEST(DumpFormatTest, ParsesTheEscapesOtherWritersUse) {
  auto parsed = ParseFlatJson(R"( { "a" : "\/\b\f\u0041\u004a" , "n":-12 ,"t":true}  )");
  SOP_ASSERT_OK(parsed);
  EXPECT_EQ(parsed->at("a"), "/\b\fAJ");
  EXPECT_EQ(parsed->at("n"), "-12");
  EXPECT_EQ(parsed->at("t"), "true");
  auto empty = ParseFlatJson("{}");
  SOP_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(DumpFormatTest, MalformedLinesSayWhatAndWhere) {
  struct Case {
    const char* line;
    const char* error;
  };
  for (const Case& c :
       {Case{"", "expected '{' at column 1"}, Case{"[1]", "expected '{' at column 1"},
        Case{"{\"a\" 1}", "expected ':' at column 6"},
        Case{"{a:1}", "expected a string at column 2"},
        Case{"{\"a\":}", "expected a value at column 6"},
        Case{"{\"a\":1 \"b\":2}", "expected ',' or '}' at column 8"},
        Case{"{\"a\":1} x", "trailing characters at column 9"},
        Case{"{\"a\":\"abc", "unterminated string at column 10"},
        Case{"{\"a\":\"ab\\", "unterminated escape at column 10"},
        Case{"{\"a\":\"\\u00", "short \\u escape at column 9"},
        Case{"{\"a\":\"\\u00g1\"}", "bad \\u escape at column 12"},
        Case{"{\"a\":\"\\u00e9\"}", "\\u escapes above 0x7f are not used by dumps at column 13"},
        Case{"{\"a\":\"\\q\"}", "unknown escape at column 9"},
        Case{"{\"a\":1,", "expected a string at column 8"}}) {
    auto parsed = ParseFlatJson(c.line);
    ASSERT_TRUE(absl::IsInvalidArgument(parsed.status())) << c.line;
    EXPECT_EQ(parsed.status().message(), c.error) << c.line;
  }
}

TEST(DumpFormatTest, Utf8IsRecognizedExactly) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("\xC3\xA9"));               // é
  EXPECT_TRUE(IsUtf8("\xE2\x82\xAC"));           // €
  EXPECT_TRUE(IsUtf8("\xF0\x9F\x98\x80 tail"));  // an emoji
  EXPECT_FALSE(IsUtf8("\x80"));                  // a continuation byte alone
  EXPECT_FALSE(IsUtf8("\xC3"));                  // cut short
  EXPECT_FALSE(IsUtf8("\xE2\x82"));              // cut short
  EXPECT_FALSE(IsUtf8("\xF0\x9F\x98"));          // cut short
  EXPECT_FALSE(IsUtf8("\xC3\x28"));              // not a continuation
  EXPECT_FALSE(IsUtf8("\xF5\x80\x80\x80"));      // past U+10FFFF
  EXPECT_FALSE(IsUtf8("\xFF"));
}

}  // namespace
}  // namespace sop
