// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The `sop` tool driven end to end, as a user runs it.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

struct Result {
  int code;
  std::string out;  // stdout and stderr
};

Result Sop(const std::string& args) {
  std::string cmd = absl::StrCat(SOP_CLI, " ", args, " 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CliTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string db_ = dir_.File("db");
};

TEST_F(CliTest, CreatePutGetDelScanInfoCheck) {
  EXPECT_EQ(Sop("create " + db_).code, 0);
  EXPECT_EQ(Sop("create " + db_).code, 1);  // exists already
  for (const char* k : {"ada", "bob", "cy", "dee"}) {
    ASSERT_EQ(Sop(absl::StrCat("put ", db_, " people ", k, " v-", k)).code, 0);
  }
  Result get = Sop("get " + db_ + " people bob");
  EXPECT_EQ(get.code, 0);
  EXPECT_EQ(get.out, "v-bob\n");
  EXPECT_EQ(Sop("del " + db_ + " people bob").code, 0);
  Result gone = Sop("get " + db_ + " people bob");
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find(db_), std::string::npos) << gone.out;  // names the file
  EXPECT_EQ(Sop("scan " + db_ + " people").out, "ada\tv-ada\ncy\tv-cy\ndee\tv-dee\n");
  EXPECT_EQ(Sop("scan " + db_ + " people --reverse --limit 2").out, "dee\tv-dee\ncy\tv-cy\n");
  EXPECT_EQ(Sop("scan " + db_ + " people --from b --to d").out, "cy\tv-cy\n");
  EXPECT_EQ(Sop("scan " + db_ + " people --prefix d").out, "dee\tv-dee\n");
  Result info = Sop("info " + db_);
  EXPECT_EQ(info.code, 0);
  EXPECT_NE(info.out.find("people"), std::string::npos);
  EXPECT_NE(info.out.find("3 entries"), std::string::npos) << info.out;
  EXPECT_EQ(Sop("check " + db_).code, 0);
}

TEST_F(CliTest, HexKeysAndValuesAndAStreamedValueFile) {
  ASSERT_EQ(Sop("create " + db_).code, 0);
  EXPECT_EQ(Sop("put " + db_ + " bin 00ff10 cafe --hex").code, 0);
  EXPECT_EQ(Sop("get " + db_ + " bin 00ff10 --hex").out, "cafe\n");
  EXPECT_EQ(Sop("put " + db_ + " bin zz 00 --hex").code, 2);  // not hex: a usage error
  std::string file = dir_.File("model.bin");
  std::string content = testing::Pattern(9, (3 << 20) + 5);
  std::ofstream(file, std::ios::binary).write(content.data(), content.size());
  EXPECT_EQ(Sop("put " + db_ + " models w --value-file " + file).code, 0);
  auto db = Database::Open(db_);
  SOP_ASSERT_OK(db);
  auto t = (*db)->Begin(TxnMode::kReadOnly);
  EXPECT_TRUE(*(*(*t)->OpenStore("models"))->Get("w") == content);
}

TEST_F(CliTest, ErrorsAreOneLineExitOneAndUsageErrorsExitTwo) {
  Result missing = Sop("get " + db_ + " s k");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find(db_), std::string::npos) << missing.out;
  EXPECT_EQ(std::count(missing.out.begin(), missing.out.end(), '\n'), 1) << missing.out;
  EXPECT_EQ(Sop("info " + dir_.path()).code, 1);  // a directory
  EXPECT_EQ(Sop("frobnicate").code, 2);
  EXPECT_EQ(Sop("get " + db_).code, 2);
  EXPECT_EQ(Sop("scan " + db_ + " s --limit").code, 2);
  EXPECT_EQ(Sop("--help").code, 0);
  EXPECT_EQ(Sop("scan --help").code, 0);
  std::string junk = dir_.File("junk");
  std::ofstream(junk) << std::string(10000, 'j');
  Result foreign = Sop("check " + junk);
  EXPECT_EQ(foreign.code, 1);
  EXPECT_NE(foreign.out.find("not a SOP data file"), std::string::npos) << foreign.out;
}

TEST_F(CliTest, ALockedDatabaseIsAClearErrorNamingTheHolder) {
  ASSERT_EQ(Sop("create " + db_).code, 0);
  auto db = Database::Open(db_);  // this process holds it
  SOP_ASSERT_OK(db);
  Result locked = Sop("get " + db_ + " s k");
  EXPECT_EQ(locked.code, 1);
  EXPECT_NE(locked.out.find(absl::StrCat("locked by process ", ::getpid())), std::string::npos)
      << locked.out;
}

TEST_F(CliTest, CheckReportsDamageWithExitOne) {
  ASSERT_EQ(Sop("create " + db_).code, 0);
  {
    auto db = Database::Open(db_);
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK((*db)->Update([](Transaction& t) -> absl::Status {
      auto s = t.OpenStore("s");
      if (!s.ok()) return s.status();
      for (int i = 0; i < 3000; ++i) {
        if (auto st = (*s)->Put(absl::StrCat("key-", 100000 + i), "some value"); !st.ok())
          return st;
      }
      return absl::OkStatus();
    }));
  }
  std::string raw = testing::ReadFileBytes(db_);
  size_t at = raw.find("key-101500");
  ASSERT_NE(at, std::string::npos);
  raw[at + 4] ^= 0x01;
  testing::WriteFileBytes(db_, raw);
  Result check = Sop("check " + db_);
  EXPECT_EQ(check.code, 1);
  EXPECT_NE(check.out.find("page"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find(db_), std::string::npos) << check.out;
}

}  // namespace
}  // namespace sop

namespace sop {
namespace {

Result SopWithInput(const std::string& args, const std::string& input_file) {
  return Sop(args + " < " + input_file);
}

TEST(CliDumpTest, DumpLoadDumpIsByteIdenticalAndABadLineLoadsNothing) {
  testing::TempDir dir;
  std::string a = dir.File("a"), b = dir.File("b");
  {
    auto db = Database::Open(a);
    SOP_ASSERT_OK(db);
    SOP_ASSERT_OK((*db)->Update([](Transaction& t) -> absl::Status {
      auto u = t.OpenStore("unique");
      auto d = t.OpenStore("dups", {.unique = false});
      if (!u.ok() || !d.ok()) return absl::InternalError("open");
      for (int i = 0; i < 500; ++i) {
        if (auto st = (*u)->Put(absl::StrCat("key", i), absl::StrCat("value \"", i, "\"\n\t"));
            !st.ok()) {
          return st;
        }
      }
      if (auto st = (*u)->Put(std::string("\x00\xff\x80", 3), std::string("\xc3\x28", 2));
          !st.ok()) {
        return st;  // not UTF-8: base64 in the dump
      }
      if (auto st = (*u)->Put("big", testing::Pattern(1, 5000)); !st.ok()) return st;
      for (const char* v : {"first", "second", "third"}) {
        if (auto st = (*d)->Add("same", v); !st.ok()) return st;
      }
      return absl::OkStatus();
    }));
  }
  std::string d1 = dir.File("d1"), d2 = dir.File("d2");
  ASSERT_EQ(Sop("dump " + a + " > " + d1).code, 0);
  ASSERT_EQ(SopWithInput("load " + b, d1).code, 0);
  ASSERT_EQ(Sop("dump " + b + " > " + d2).code, 0);
  std::string first = testing::ReadFileBytes(d1), second = testing::ReadFileBytes(d2);
  EXPECT_GT(first.size(), 10000u);
  EXPECT_TRUE(first == second) << "dump -> load -> dump differs";
  EXPECT_NE(first.find("\"k64\""), std::string::npos);
  // Duplicates keep their order.
  EXPECT_LT(first.find("\"first\""), first.find("\"second\""));

  std::string bad = dir.File("bad");
  testing::WriteFileBytes(bad,
                          "{\"sop_dump\":1}\n{\"store\":\"s\",\"unique\":true}\n"
                          "{\"k\":\"ok\",\"v\":\"1\"}\n{\"k\":\"broken\n");
  Result r = SopWithInput("load " + dir.File("c"), bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("line 4"), std::string::npos) << r.out;
  auto c = Database::Open(dir.File("c"));
  SOP_ASSERT_OK(c);
  auto t = (*c)->Begin(TxnMode::kReadOnly);
  EXPECT_TRUE(absl::IsNotFound((*t)->OpenStore("s").status()));  // all or nothing
}

}  // namespace
}  // namespace sop
