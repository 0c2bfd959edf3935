// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "sop/fault_injection_env.h"

#include "gtest/gtest.h"
#include "test_util.h"
#include "util/coding.h"

namespace sop {
namespace {

using testing::Pattern;

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  FaultInjectionEnvTest() : base_(NewMemEnv()), env_(base_.get()) {
    SOP_EXPECT_OK(env_.CreateDir("/d"));
  }

  std::unique_ptr<File> Open(const std::string& path) {
    auto f = env_.OpenFile(path, OpenMode::kCreateIfMissing);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }
  // Contents as the base env holds them (what "the disk" has).
  std::string Contents(const std::string& path) {
    auto f = base_->OpenFile(path, OpenMode::kExisting);
    if (!f.ok()) return "<missing>";
    std::string s(*(*f)->Size(), '\0');
    EXPECT_TRUE(ReadExactly(**f, 0, absl::MakeSpan(s)).ok());
    return s;
  }
  // A file whose creation is durable, holding `synced` durably.
  std::unique_ptr<File> DurableFile(const std::string& path, const std::string& synced) {
    auto f = Open(path);
    EXPECT_TRUE(f->WriteAt(0, synced).ok());
    EXPECT_TRUE(f->Sync().ok());
    EXPECT_TRUE(env_.SyncDir("/d").ok());
    return f;
  }

  std::unique_ptr<Env> base_;
  FaultInjectionEnv env_;
};

TEST_F(FaultInjectionEnvTest, PowerLossDropsEveryUnsyncedWrite) {
  auto f = DurableFile("/d/f", "durable");
  SOP_ASSERT_OK(f->WriteAt(7, "-lost"));
  SOP_ASSERT_OK(f->WriteAt(0, "DURABLE"));
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 1, .keep_some = false}));
  EXPECT_EQ(Contents("/d/f"), "durable");
}

TEST_F(FaultInjectionEnvTest, PowerLossKeepsAPrefixOfUnsyncedWritesInOrder) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    auto f = DurableFile("/d/f", "");
    SOP_ASSERT_OK(f->WriteAt(0, "a"));
    SOP_ASSERT_OK(f->WriteAt(1, "b"));
    SOP_ASSERT_OK(f->WriteAt(2, "c"));
    SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = seed, .keep_some = true}));
    std::string got = Contents("/d/f");
    EXPECT_TRUE(got == "" || got == "a" || got == "ab" || got == "abc") << got;
    outcomes.insert(got);
    f.reset();
    SOP_ASSERT_OK(env_.RemoveFile("/d/f"));
    SOP_ASSERT_OK(env_.SyncDir("/d"));
  }
  EXPECT_EQ(outcomes.size(), 4u);  // every prefix happens for some seed
}

void CheckTear(FaultInjectionEnvTest* t, uint32_t tear, uint64_t seed, std::string* outcome,
               const std::function<std::string(const std::string&)>& contents,
               FaultInjectionEnv& env, const std::function<std::unique_ptr<File>()>& make) {
  (void)t;
  auto f = make();
  std::string old_bytes = Pattern(1, 16384), new_bytes = Pattern(2, 16384);
  ASSERT_TRUE(f->WriteAt(0, old_bytes).ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->WriteAt(0, new_bytes).ok());
  ASSERT_TRUE(env.SimulatePowerLoss({.seed = seed, .keep_some = true, .tear_bytes = tear}).ok());
  std::string got = contents("/d/f");
  ASSERT_EQ(got.size(), 16384u);
  // The result is new bytes up to a multiple of `tear`, old bytes after.
  size_t cut = 0;
  while (cut < got.size() && got[cut] == new_bytes[cut]) ++cut;
  size_t boundary = cut - cut % tear;
  EXPECT_EQ(got.substr(0, boundary), new_bytes.substr(0, boundary));
  EXPECT_EQ(got.substr(boundary), old_bytes.substr(boundary)) << "seed " << seed;
  *outcome = std::to_string(boundary);
}

TEST_F(FaultInjectionEnvTest, TornWriteAt512ByteBoundaries) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 80; ++seed) {
    std::string outcome;
    CheckTear(
        this, 512, seed, &outcome, [&](const std::string& p) { return Contents(p); }, env_,
        [&] { return DurableFile("/d/f", ""); });
    outcomes.insert(outcome);
  }
  EXPECT_GT(outcomes.size(), 8u);  // tears land at many different sectors
}

TEST_F(FaultInjectionEnvTest, TornWriteAt4KiBBoundaries) {
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::string outcome;
    CheckTear(
        this, 4096, seed, &outcome, [&](const std::string& p) { return Contents(p); }, env_,
        [&] { return DurableFile("/d/f", ""); });
    EXPECT_EQ(std::stoul(outcome) % 4096, 0u);
    outcomes.insert(outcome);
  }
  EXPECT_GE(outcomes.size(), 3u);
}

TEST_F(FaultInjectionEnvTest, UnsyncedCreateIsForgotten) {
  auto f = Open("/d/new");
  SOP_ASSERT_OK(f->WriteAt(0, "data"));
  SOP_ASSERT_OK(f->Sync());  // the data is synced, the directory entry is not
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 0}));
  EXPECT_FALSE(env_.FileExists("/d/new"));
}

TEST_F(FaultInjectionEnvTest, UnsyncedRenameIsForgottenAndTheOldTargetComesBack) {
  DurableFile("/d/target", "old");
  auto f = DurableFile("/d/tmp", "new");
  SOP_ASSERT_OK(env_.RenameFile("/d/tmp", "/d/target"));
  EXPECT_EQ(Contents("/d/target"), "new");
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 0}));
  EXPECT_EQ(Contents("/d/target"), "old");
  EXPECT_EQ(Contents("/d/tmp"), "new");
}

TEST_F(FaultInjectionEnvTest, SyncedRenameSurvives) {
  DurableFile("/d/target", "old");
  auto f = DurableFile("/d/tmp", "new");
  SOP_ASSERT_OK(env_.RenameFile("/d/tmp", "/d/target"));
  SOP_ASSERT_OK(env_.SyncDir("/d"));
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 0}));
  EXPECT_EQ(Contents("/d/target"), "new");
  EXPECT_FALSE(env_.FileExists("/d/tmp"));
  auto names = env_.ListDir("/d");
  SOP_ASSERT_OK(names);
  EXPECT_EQ(*names, std::vector<std::string>{"target"});  // no trash left behind
}

TEST_F(FaultInjectionEnvTest, UnsyncedRemoveIsForgotten) {
  DurableFile("/d/f", "keep me");
  SOP_ASSERT_OK(env_.RemoveFile("/d/f"));
  EXPECT_FALSE(env_.FileExists("/d/f"));
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 0}));
  EXPECT_EQ(Contents("/d/f"), "keep me");
}

TEST_F(FaultInjectionEnvTest, InjectedReadError) {
  auto f = DurableFile("/d/f", "abc");
  env_.InjectFault(FaultInjectionEnv::Op::kRead, absl::UnavailableError("EIO"), "/d/f");
  std::string buf(3, '\0');
  EXPECT_TRUE(absl::IsUnavailable(f->ReadAt(0, absl::MakeSpan(buf)).status()));
  SOP_EXPECT_OK(f->ReadAt(0, absl::MakeSpan(buf)));  // count = 1: only the first fails
  EXPECT_EQ(buf, "abc");
}

TEST_F(FaultInjectionEnvTest, InjectedWriteErrorWritesNothing) {
  auto f = DurableFile("/d/f", "abc");
  env_.InjectFault(FaultInjectionEnv::Op::kWrite, absl::UnavailableError("EIO"), "", 1);
  SOP_ASSERT_OK(f->WriteAt(0, "x"));  // skip = 1
  EXPECT_TRUE(absl::IsUnavailable(f->WriteAt(1, "y")));
  EXPECT_EQ(Contents("/d/f"), "xbc");
}

TEST_F(FaultInjectionEnvTest, InjectedSyncErrorLeavesDataUnsynced) {
  auto f = DurableFile("/d/f", "abc");
  SOP_ASSERT_OK(f->WriteAt(0, "XYZ"));
  env_.InjectFault(FaultInjectionEnv::Op::kSync, absl::UnavailableError("EIO on fsync"));
  EXPECT_TRUE(absl::IsUnavailable(f->Sync()));
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 0, .keep_some = false}));
  EXPECT_EQ(Contents("/d/f"), "abc");
}

TEST_F(FaultInjectionEnvTest, FullDiskFailsGrowthButNotOverwrites) {
  auto f = DurableFile("/d/f", "abcd");
  env_.SetFreeSpace(2);
  SOP_EXPECT_OK(f->WriteAt(0, "wxyz"));  // no growth
  SOP_EXPECT_OK(f->WriteAt(4, "12"));    // grows by 2: the last free bytes
  auto st = f->WriteAt(6, "3");
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  EXPECT_EQ(Contents("/d/f"), "wxyz12");
  SOP_EXPECT_OK(f->Truncate(5));  // frees a byte
  SOP_EXPECT_OK(f->WriteAt(5, "3"));
  env_.SetFreeSpace(std::nullopt);
  SOP_EXPECT_OK(f->WriteAt(100, "far"));
}

TEST_F(FaultInjectionEnvTest, ShortReadReturnsFewerBytes) {
  auto f = DurableFile("/d/f", "abcdefgh");
  env_.InjectFault(FaultInjectionEnv::Op::kShortRead, absl::OkStatus());
  std::string buf(8, '\0');
  auto n = f->ReadAt(0, absl::MakeSpan(buf));
  SOP_ASSERT_OK(n);
  EXPECT_EQ(*n, 4u);
  // ReadExactly loops over short reads.
  env_.InjectFault(FaultInjectionEnv::Op::kShortRead, absl::OkStatus());
  SOP_ASSERT_OK(ReadExactly(*f, 0, absl::MakeSpan(buf)));
  EXPECT_EQ(buf, "abcdefgh");
}

TEST_F(FaultInjectionEnvTest, CrashAfterStopsEveryLaterMutationUntilPowerLoss) {
  auto f = DurableFile("/d/f", "");
  int64_t before = env_.mutation_count();
  env_.CrashAfter(2);
  SOP_EXPECT_OK(f->WriteAt(0, "a"));
  SOP_EXPECT_OK(f->Sync());
  EXPECT_TRUE(absl::IsUnavailable(f->WriteAt(1, "b")));
  EXPECT_TRUE(absl::IsUnavailable(f->Sync()));
  EXPECT_EQ(env_.mutation_count(), before + 2);
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 0}));
  EXPECT_EQ(Contents("/d/f"), "a");
  // Handles from before the power loss are dead, as a killed process's are.
  EXPECT_TRUE(absl::IsUnavailable(f->WriteAt(0, "z")));
  auto again = env_.OpenFile("/d/f", OpenMode::kExisting);
  SOP_ASSERT_OK(again);
  SOP_EXPECT_OK((*again)->WriteAt(1, "b"));
}

}  // namespace
}  // namespace sop
