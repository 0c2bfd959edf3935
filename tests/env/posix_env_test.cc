// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "env/posix_error.h"
#include "gtest/gtest.h"
#include "sop/env.h"
#include "test_util.h"
#include "util/coding.h"

namespace sop {
namespace {

using testing::TempDir;

// Forwards everything through EnvWrapper and FileWrapper, counting the
// files it wraps: the wrappers must keep the whole Env contract.
class ForwardingEnv final : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    auto f = EnvWrapper::OpenFile(path, mode);
    if (!f.ok()) return f;
    ++wrapped;
    return std::unique_ptr<File>(new FileWrapper(*std::move(f)));
  }
  int wrapped = 0;
};

enum class EnvKind { kMemory, kPosix, kWrappedPosix };
void PrintTo(EnvKind kind, std::ostream* os) { *os << static_cast<int>(kind); }

class EnvTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  EnvTest() : mem_(NewMemEnv()), wrapper_(Env::Default()) {
    switch (GetParam()) {
      case EnvKind::kMemory:
        env_ = mem_.get();
        root_ = "/mem";
        break;
      case EnvKind::kPosix:
        env_ = Env::Default();
        root_ = dir_.path();
        break;
      case EnvKind::kWrappedPosix:
        env_ = &wrapper_;
        root_ = dir_.path();
        break;
    }
    SOP_EXPECT_OK(env_->CreateDir(root_));
  }
  std::string P(const std::string& name) { return root_ + "/" + name; }

  TempDir dir_;
  std::unique_ptr<Env> mem_;
  ForwardingEnv wrapper_;
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
  if (GetParam() == EnvKind::kWrappedPosix) {
    EXPECT_EQ(wrapper_.wrapped, 1);
  }
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

TEST_P(EnvTest, FailedCallsNameThePathAndSayWhy) {
  EXPECT_TRUE(absl::IsNotFound(env_->RenameFile(P("nothing"), P("other"))));
  EXPECT_FALSE(env_->FileExists(P("other")));
  auto listed = env_->ListDir(root_);
  SOP_ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
  SOP_ASSERT_OK(env_->CreateDir(P("d")));
  SOP_ASSERT_OK(env_->CreateDir(P("d")));  // already there: fine
  EXPECT_TRUE(env_->FileExists(P("d")));
  auto dir_as_file = env_->OpenFile(P("d"), OpenMode::kCreateIfMissing);
  EXPECT_TRUE(absl::IsFailedPrecondition(dir_as_file.status())) << dir_as_file.status();
  EXPECT_NE(dir_as_file.status().message().find(P("d")), std::string::npos);

  auto f = env_->OpenFile(P("f"), OpenMode::kCreateIfMissing);
  SOP_ASSERT_OK(f);
  SOP_ASSERT_OK((*f)->WriteAt(0, "0123456789"));
  EXPECT_EQ((*f)->path(), P("f"));
  auto whole = (*f)->Map(2, 5);
  SOP_ASSERT_OK(whole);
  EXPECT_EQ((*whole)->data(), "23456");
  auto empty = (*f)->Map(3, 0);
  SOP_ASSERT_OK(empty);
  EXPECT_EQ((*empty)->data(), "");
}

TEST(PosixEnvTest, ErrnoBecomesAStatusCodeNamingPathAndCall) {
  struct Case {
    int err;
    absl::StatusCode code;
  };
  for (const Case& c : std::vector<Case>{{ENOENT, absl::StatusCode::kNotFound},
                                         {EEXIST, absl::StatusCode::kAlreadyExists},
                                         {ENOSPC, absl::StatusCode::kResourceExhausted},
                                         {EDQUOT, absl::StatusCode::kResourceExhausted},
                                         {EACCES, absl::StatusCode::kPermissionDenied},
                                         {EPERM, absl::StatusCode::kPermissionDenied},
                                         {EROFS, absl::StatusCode::kPermissionDenied},
                                         {EISDIR, absl::StatusCode::kFailedPrecondition},
                                         {ENOTDIR, absl::StatusCode::kFailedPrecondition},
                                         {EINVAL, absl::StatusCode::kInvalidArgument},
                                         {EIO, absl::StatusCode::kUnavailable}}) {
    absl::Status st = PosixError("fdatasync", "/some/file", c.err);
    EXPECT_EQ(st.code(), c.code) << st;
    EXPECT_EQ(st.message(), absl::StrCat("/some/file: fdatasync: ", std::strerror(c.err)));
  }
  EXPECT_EQ(DirName("/a/b"), "/a");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
}

TEST(PosixEnvTest, FailingSystemCallsGiveCleanErrors) {
  TempDir dir;
  Env* env = Env::Default();
  std::string missing_dir = dir.File("no/such/dir");
  EXPECT_TRUE(absl::IsNotFound(env->SyncDir(missing_dir)));
  EXPECT_TRUE(absl::IsNotFound(env->ListDir(missing_dir).status()));
  EXPECT_TRUE(absl::IsNotFound(env->CreateDir(missing_dir)));
  EXPECT_TRUE(absl::IsNotFound(env->LockFile(missing_dir + "/lock").status()));
  EXPECT_TRUE(
      absl::IsNotFound(env->OpenFile(missing_dir + "/f", OpenMode::kCreateIfMissing).status()));
  // A path through a regular file.
  auto f = env->OpenFile(dir.File("f"), OpenMode::kCreateIfMissing);
  SOP_ASSERT_OK(f);
  EXPECT_TRUE(absl::IsFailedPrecondition(env->CreateDir(dir.File("f/sub"))));
  EXPECT_TRUE(absl::IsFailedPrecondition(env->SyncDir(dir.File("f"))));
  // Past the largest file the kernel allows.
  constexpr uint64_t kHuge = uint64_t{1} << 62;
  absl::Status wrote = (*f)->WriteAt(kHuge, "x");
  EXPECT_FALSE(wrote.ok());
  EXPECT_NE(wrote.message().find(dir.File("f")), std::string::npos) << wrote;
  EXPECT_FALSE((*f)->Truncate(kHuge).ok());
  std::string buf(4, '\0');
  auto read = (*f)->ReadAt(kHuge, absl::MakeSpan(buf));
  if (read.ok()) {
    EXPECT_EQ(*read, 0u);  // reading past the end is a short read (or EINVAL)
  }
  auto mapped = (*f)->Map(0, kHuge);
  EXPECT_FALSE(mapped.ok());
}

INSTANTIATE_TEST_SUITE_P(PosixAndMemory, EnvTest,
                         ::testing::Values(EnvKind::kMemory, EnvKind::kPosix,
                                           EnvKind::kWrappedPosix),
                         [](const ::testing::TestParamInfo<EnvKind>& p) {
                           switch (p.param) {
                             case EnvKind::kMemory:
                               return "Memory";
                             case EnvKind::kPosix:
                               return "Posix";
                             case EnvKind::kWrappedPosix:
                               return "WrappedPosix";
                           }
                           return "Unknown";
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
