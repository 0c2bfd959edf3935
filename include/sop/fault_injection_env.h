// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// FaultInjectionEnv wraps another Env and remembers, for every file and
// directory, what was written since it was last synced. It can then simulate
// a power cut (unsynced data is lost, the last unsynced write of a file may
// be torn at a 512 B or 4 KiB boundary, unsynced creates, renames and
// removes are forgotten) and inject I/O errors (EIO on read, write or sync,
// ENOSPC, short reads). SOP's own crash tests run through it; applications
// can use it to test their own recovery.
//
// Thread-safety: all methods may be called from any thread.

#ifndef SOP_FAULT_INJECTION_ENV_H_
#define SOP_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "sop/env.h"

namespace sop {

class FaultInjectionEnv : public Env {
 public:
  // Operations an injected fault can target.
  enum class Op { kRead, kWrite, kSync, kShortRead };

  // How a simulated power cut treats data written but not yet synced.
  struct PowerLoss {
    // Seeds the choice of which unsynced writes survive; same seed, same result.
    uint64_t seed = 0;
    // false: every unsynced write is lost. true: for each file, a random
    // prefix of its unsynced writes (in issue order) survives, as a disk
    // that wrote some of its queue before the power went would leave it.
    bool keep_some = true;
    // When non-zero (512 or 4096), the last surviving unsynced write of each
    // file is cut at a random multiple of `tear_bytes` inside it: its head
    // survives and its tail keeps the old contents.
    uint32_t tear_bytes = 0;
  };

  // `base` must outlive this Env.
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  // Makes `count` operations of kind `op` on paths containing `path_part`
  // fail with `error`, after `skip` such operations succeed. kShortRead
  // returns half the requested bytes instead of failing. Rules accumulate.
  void InjectFault(Op op, absl::Status error, std::string path_part = "", int skip = 0,
                   int count = 1);
  void ClearFaults();
  // Number of operations an InjectFault rule has failed (or shortened) so
  // far, over the Env's life: a test that fails the Nth operation learns from
  // it whether there was an Nth.
  int64_t faults_injected() const;

  // Limits how many more bytes all files together may grow by; a write that
  // would go beyond fails with ResourceExhausted (ENOSPC) and writes nothing.
  // std::nullopt removes the limit.
  void SetFreeSpace(std::optional<uint64_t> bytes);

  // After `n` more mutating operations (writes, syncs, truncates, creates,
  // renames, removes), the machine "loses power": that operation and every
  // later one fails with Unavailable and changes nothing, until
  // SimulatePowerLoss(). A negative n disables the trigger.
  void CrashAfter(int64_t n);

  // Number of mutating operations issued so far (to enumerate crash points).
  int64_t mutation_count() const;

  // Throws away what a power cut would: see PowerLoss. Files opened before
  // this call fail every later operation with Unavailable, as handles of a
  // process that died would; reopen them. Clears CrashAfter.
  absl::Status SimulatePowerLoss(const PowerLoss& how);

  // Env:
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  bool FileExists(const std::string& path) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

 private:
  class FaultyFile;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sop

#endif  // SOP_FAULT_INJECTION_ENV_H_
