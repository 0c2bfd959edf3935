// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sop/env.h"
#include "test_util.h"
#include "util/coding.h"

namespace sop {
namespace {

using testing::TempDir;

class EnvTest : public ::testing::TestWithParam<bool> {
 protected:
  EnvTest() : mem_(NewMemEnv()) {
    env_ = GetParam() ? Env::Default() : mem_.get();
    root_ = GetParam() ? dir_.path() : "/mem";
    SOP_EXPECT_OK(env_->CreateDir(root_));
  }
  std::string P(const std::string& name) { return root_ + "/" + name; }

  TempDir dir_;
  std::unique_ptr<Env> mem_;
  Env* env_;
  std::string root_;
};

TEST_P(EnvTest, WriteReadTruncateAndSize) {
  auto f = env_->OpenFile(P("a"), OpenMode::kCreateIfMissing);
  SOP_ASSERT_OK(f);
  SOP_ASSERT_OK((*f)->WriteAt(0, "hello"));
  SOP_ASSERT_OK((*f)->WriteAt(10, "world"));  // leaves a hole of zeros
  SOP_ASSERT_OK((*f)->Sync());
  EXPECT_EQ(*(*f)->Size(), 15u);
  std::string buf(15, 'x');
  SOP_ASSERT_OK(ReadExactly(**f, 0, absl::MakeSpan(buf)));
  EXPECT_EQ(buf, std::string("hello\0\0\0\0\0world", 15));
  std::string past(4, 'x');
  auto n = (*f)->ReadAt(13, absl::MakeSpan(past));
  SOP_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);  // short only at the end of the file
  EXPECT_TRUE(absl::IsDataLoss(ReadExactly(**f, 13, absl::MakeSpan(past))));
  SOP_ASSERT_OK((*f)->Truncate(3));
  EXPECT_EQ(*(*f)->Size(), 3u);
}

TEST_P(EnvTest, OpenExistingMissingFileIsNotFound) {
  auto f = env_->OpenFile(P("missing"), OpenMode::kExisting);
  EXPECT_TRUE(absl::IsNotFound(f.status())) << f.status();
  EXPECT_NE(f.status().message().find("missing"), std::string::npos);
}

TEST_P(EnvTest, RenameReplacesAndListDirShowsNames) {
  for (const char* name : {"x", "y"}) {
    auto f = env_->OpenFile(P(name), OpenMode::kCreateIfMissing);
    SOP_ASSERT_OK(f);
    SOP_ASSERT_OK((*f)->WriteAt(0, name));
  }
  SOP_ASSERT_OK(env_->RenameFile(P("x"), P("y")));
  SOP_ASSERT_OK(env_->SyncDir(root_));
  EXPECT_FALSE(env_->FileExists(P("x")));
  auto f = env_->OpenFile(P("y"), OpenMode::kExisting);
  SOP_ASSERT_OK(f);
  std::string buf(1, '?');
  SOP_ASSERT_OK(ReadExactly(**f, 0, absl::MakeSpan(buf)));
  EXPECT_EQ(buf, "x");
  auto names = env_->ListDir(root_);
  SOP_ASSERT_OK(names);
  EXPECT_EQ(*names, std::vector<std::string>{"y"});
  SOP_ASSERT_OK(env_->RemoveFile(P("y")));
  EXPECT_TRUE(absl::IsNotFound(env_->RemoveFile(P("y"))));
}

TEST_P(EnvTest, SecondLockInSameProcessFailsNamingThePid) {
  auto first = env_->LockFile(P("lock"));
  SOP_ASSERT_OK(first);
  auto second = env_->LockFile(P("lock"));
  ASSERT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_NE(second.status().message().find(absl::StrCat(getpid())), std::string::npos)
      << second.status();
  first->reset();
  SOP_EXPECT_OK(env_->LockFile(P("lock")));
}

INSTANTIATE_TEST_SUITE_P(PosixAndMemory, EnvTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Posix" : "Memory";
                         });

TEST(PosixEnvTest, SecondProcessGetsFailedPreconditionNamingHolderPid) {
  TempDir dir;
  std::string path = dir.File("db-lock");
  auto held = Env::Default()->LockFile(path);
  SOP_ASSERT_OK(held);
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = Env::Default()->LockFile(path);
    std::string report = lock.ok() ? "OK" : lock.status().ToString();
    (void)!::write(pipefd[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string report;
  char buf[256];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) report.append(buf, n);
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_NE(report.find("FAILED_PRECONDITION"), std::string::npos) << report;
  EXPECT_NE(report.find(absl::StrCat("locked by process ", getpid())), std::string::npos) << report;
}

TEST(PosixEnvTest, OpeningADirectoryAsAFileFails) {
  TempDir dir;
  auto f = Env::Default()->OpenFile(dir.path(), OpenMode::kExisting);
  EXPECT_FALSE(f.ok());
}

}  // namespace
}  // namespace sop
