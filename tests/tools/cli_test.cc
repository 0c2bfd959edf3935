// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The `sop` tool driven end to end, as a user runs it.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/escaping.h"
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

// Runs a shell command line, stderr merged into stdout.
Result Shell(const std::string& line) {
  std::string cmd = absl::StrCat(line, " 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

Result Sop(const std::string& args) { return Shell(absl::StrCat(SOP_CLI, " ", args)); }

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

namespace sop {
namespace {

class CliOpsTest : public ::testing::Test {
 protected:
  // Runs `sop <args>` with `input` on stdin.
  Result WithInput(const std::string& args, const std::string& input) {
    std::string file = dir_.File(absl::StrCat("input", ++inputs_));
    testing::WriteFileBytes(file, input);
    return Sop(args + " < " + file);
  }
  testing::TempDir dir_;
  std::string db_ = dir_.File("db");
  int inputs_ = 0;
};

TEST_F(CliOpsTest, BatchAppliesAllOrNothingAndNamesTheBadLine) {
  ASSERT_EQ(Sop("create " + db_).code, 0);
  Result ok = WithInput("batch " + db_,
                        "# a comment, then a blank line\n\n"
                        "put people ada \"Ada Lovelace\"\n"
                        "put people bob b\n"
                        "dups tags\n"
                        "add tags x 1\n"
                        "add tags x 2\n"
                        "put bin \"\\x00\\xff\" \"a\\tb \\\"q\\\"\"\n"
                        "del people bob\n");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("applied 7 operations"), std::string::npos) << ok.out;
  EXPECT_EQ(Sop("get " + db_ + " people ada").out, "Ada Lovelace\n");
  EXPECT_EQ(Sop("scan " + db_ + " tags").out, "x\t1\nx\t2\n");
  EXPECT_EQ(Sop("get " + db_ + " bin 00ff --hex").out,
            absl::StrCat(absl::BytesToHexString("a\tb \"q\""), "\n"));
  EXPECT_EQ(Sop("get " + db_ + " people bob").code, 1);

  // Each bad batch names its line and changes nothing.
  for (const auto& [script, line] : std::vector<std::pair<std::string, std::string>>{
           {"put people cy c\nput people\n", "line 2"},
           {"put people cy c\n\nfrobnicate x\n", "line 3"},
           {"put people cy \"unterminated\n", "line 1"},
           {"put people cy c\nadd people ada again\n", "line 2"},  // exists in a unique store
           {"put people cy c\ndel people nobody\n", "line 2"},
           {"put people cy c\ndrop nostore\n", "line 2"}}) {
    Result bad = WithInput("batch " + db_, script);
    EXPECT_EQ(bad.code, 1) << script;
    EXPECT_NE(bad.out.find(line), std::string::npos) << script << " -> " << bad.out;
    EXPECT_NE(bad.out.find("nothing was applied"), std::string::npos) << bad.out;
    EXPECT_EQ(Sop("get " + db_ + " people cy").code, 1) << script;
  }
  EXPECT_EQ(WithInput("batch " + db_, "drop tags\n").code, 0);
  EXPECT_EQ(Sop("scan " + db_ + " tags").code, 1);
}

TEST_F(CliOpsTest, BackupAndCompactKeepEveryEntryAndCompactShrinks) {
  ASSERT_EQ(Sop("create " + db_).code, 0);
  std::string script;
  for (int i = 0; i < 20000; ++i) {
    absl::StrAppend(&script, "put s key", i * 7919 % 20000, " value-", i, "\n");
  }
  ASSERT_EQ(WithInput("batch " + db_, script).code, 0);
  script.clear();
  for (int i = 0; i < 20000; ++i) {
    if (i % 4 != 0) absl::StrAppend(&script, "del s key", i, "\n");
  }
  ASSERT_EQ(WithInput("batch " + db_, script).code, 0);
  std::string before = Sop("dump " + db_).out;

  std::string copy = dir_.File("copy");
  Result backup = Sop("backup " + db_ + " " + copy);
  EXPECT_EQ(backup.code, 0) << backup.out;
  EXPECT_EQ(Sop("dump " + copy).out, before);
  EXPECT_EQ(Sop("check " + copy).code, 0);
  Result again = Sop("backup " + db_ + " " + copy);  // never overwrites
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("already exists"), std::string::npos) << again.out;

  uint64_t size_before = std::filesystem::file_size(db_);
  Result compact = Sop("compact " + db_);
  EXPECT_EQ(compact.code, 0) << compact.out;
  // Closing moved nodes down into the holes already; compact also packs them.
  EXPECT_LT(std::filesystem::file_size(db_), size_before) << compact.out;
  EXPECT_EQ(Sop("dump " + db_).out, before);
  EXPECT_EQ(Sop("check " + db_).code, 0);
  Result info = Sop("info " + db_);
  EXPECT_NE(info.out.find("format version   1"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("page size        4096"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("5000 entries"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("fill 9"), std::string::npos) << info.out;  // 90%+ after compaction

  // A database open elsewhere cannot be compacted or backed up by the tool.
  auto db = Database::Open(db_);
  SOP_ASSERT_OK(db);
  EXPECT_EQ(Sop("compact " + db_).code, 1);
  EXPECT_EQ(Sop("backup " + db_ + " " + dir_.File("other")).code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("other")));
  EXPECT_EQ(Sop("compact " + dir_.path()).code, 1);
  EXPECT_EQ(Sop("compact " + dir_.File("absent")).code, 1);
}

TEST_F(CliOpsTest, BenchPrintsEveryWorkloadAndCleansUp) {
  std::string path = dir_.File("bench");
  Result r = Sop("bench " + path + " --num 3000");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const char* w : {"fillseq", "fillrandom", "overwrite", "readrandom", "readseq", "commit"}) {
    EXPECT_NE(r.out.find(w), std::string::npos) << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  ASSERT_EQ(Sop("create " + db_).code, 0);
  EXPECT_EQ(Sop("bench " + db_).code, 1);  // never runs over an existing database
  EXPECT_EQ(Sop("bench " + path + " --num x").code, 2);
}

TEST_F(CliOpsTest, EveryCommandHasHelp) {
  for (const char* cmd : {"create", "info", "put", "get", "del", "scan", "batch", "check", "dump",
                          "load", "backup", "compact", "bench"}) {
    Result r = Sop(absl::StrCat(cmd, " --help"));
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_EQ(r.out.rfind(absl::StrCat("usage: sop ", cmd), 0), 0u) << r.out;
    EXPECT_EQ(Sop(absl::StrCat("help ", cmd)).out, r.out);
  }
  Result wrong = Sop("backup " + db_);
  EXPECT_EQ(wrong.code, 2);
  EXPECT_NE(wrong.out.find("usage: sop backup PATH DEST"), std::string::npos) << wrong.out;
}

}  // namespace
}  // namespace sop

namespace sop {
namespace {

TEST(CliTtyTest, ProgressIsDrawnOnATerminalAndNotOtherwise) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "util-linux `script` is needed to give the tool a terminal";
  }
  testing::TempDir dir;
  std::string db = dir.File("db"), dump = dir.File("dump");
  std::string lines = "{\"sop_dump\":1}\n{\"store\":\"s\",\"unique\":true}\n";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&lines, "{\"k\":\"key", i, "\",\"v\":\"v\"}\n");
  testing::WriteFileBytes(dump, lines);
  // `script` runs the command with a pseudo-terminal as its stdin/stdout/stderr.
  Result tty =
      Shell(absl::StrCat("script -qec '", SOP_CLI, " load ", db, " < ", dump, "' /dev/null"));
  EXPECT_EQ(tty.code, 0) << tty.out;
  EXPECT_NE(tty.out.find("load ["), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\033[K"), std::string::npos) << "the line is erased when done";
  Result check = Shell(absl::StrCat("script -qec '", SOP_CLI, " check ", db, "' /dev/null"));
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("check ["), std::string::npos) << check.out;
  Result piped = Sop(absl::StrCat("load ", dir.File("db2"), " < ", dump));
  EXPECT_EQ(piped.code, 0);
  EXPECT_EQ(piped.out, "");  // quiet when stderr is not a terminal
}

TEST(CliPermissionTest, AnUnreadableDatabaseIsAClearError) {
  testing::TempDir dir;
  std::string db = dir.File("db");
  ASSERT_EQ(Sop("create " + db).code, 0);
  std::filesystem::permissions(db, std::filesystem::perms::owner_read);
  // Root reads any file: then the tool runs as the unprivileged user nobody,
  // from a copy it may execute wherever the build tree is, on a database
  // directory it may enter. (GCOV_PREFIX: under the coverage preset, where
  // nobody may write its counts; a fresh place each run, since counts left
  // by an earlier build make libgcov complain on stderr.)
  std::string cli = SOP_CLI, as;
  std::optional<testing::TempDir> bin;
  if (::geteuid() == 0) {
    using std::filesystem::perms;
    const perms open_to_all = perms::owner_all | perms::group_read | perms::group_exec |
                              perms::others_read | perms::others_exec;
    bin.emplace();
    cli = bin->File("sop");
    std::filesystem::copy_file(SOP_CLI, cli);
    for (const std::string& p : {bin->path(), cli, dir.path()}) {
      std::filesystem::permissions(p, open_to_all);
    }
    std::string counts = bin->File("gcov");
    std::filesystem::create_directory(counts);
    std::filesystem::permissions(counts, perms::all);
    as = absl::StrCat("GCOV_PREFIX=", counts,
                      " setpriv --reuid=65534 --regid=65534 --clear-groups ");
  }
  for (const char* cmd : {" get ", " put "}) {
    std::filesystem::permissions(
        db, cmd[1] == 'g' ? std::filesystem::perms::none : std::filesystem::perms::owner_read);
    Result r = Shell(absl::StrCat(as, cli, cmd, db, " s k", cmd[1] == 'p' ? " v" : ""));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find(db), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ermission"), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
  std::filesystem::permissions(db, std::filesystem::perms::owner_all);
}

}  // namespace
}  // namespace sop
