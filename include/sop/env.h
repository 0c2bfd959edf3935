// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Env: every byte SOP reads or writes goes through this interface. The real
// implementation (Env::Default()) calls POSIX; NewMemEnv() keeps files in
// memory; FaultInjectionEnv (fault_injection_env.h) wraps either and simulates
// power loss and I/O errors, which is how SOP's durability claims are tested.
// EnvWrapper and FileWrapper forward every call, for Envs that change a few.
//
// Errors: NotFound (no such file), AlreadyExists, FailedPrecondition (locked
// by another process), ResourceExhausted (ENOSPC), Unavailable (other I/O
// errors such as EIO), InvalidArgument. Every message names the path.
//
// Thread-safety: an Env and a File may be used from several threads at once;
// concurrent WriteAt calls on overlapping ranges of one file have no defined
// result, as with pwrite.

#ifndef SOP_ENV_H_
#define SOP_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sop {

// Read-only bytes of a file mapped into memory; unmapped when destroyed.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual absl::string_view data() const = 0;
};

// An open file read and written at explicit offsets (pread/pwrite).
class File {
 public:
  virtual ~File() = default;

  // Reads up to dst.size() bytes at `offset` into dst. Returns the number of
  // bytes read, which is smaller than dst.size() only at the end of the file
  // (or when a fault injector simulates a short read; callers that need every
  // byte use ReadExactly from util, which loops).
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, absl::Span<char> dst) = 0;

  // Writes all of `data` at `offset`, growing the file if needed. The bytes
  // are not durable until Sync() returns OK.
  virtual absl::Status WriteAt(uint64_t offset, absl::string_view data) = 0;

  // Makes every write so far durable (fdatasync). An error here means the
  // kernel may have dropped the data: the caller must not assume any write
  // since the previous successful Sync survived, and must not retry as if
  // the failed Sync had worked.
  virtual absl::Status Sync() = 0;

  // Asks the system to start writing the file's changed bytes to the disk
  // now, without waiting (Linux: sync_file_range). Durability still needs
  // Sync(); this only spreads the work, so that a later Sync() of many
  // megabytes does not hand the disk all of them at once while other files'
  // syncs (the log's) queue behind. A hint: does nothing where unsupported.
  virtual void StartWriteback() {}

  // Sets the file's size; durable after Sync().
  virtual absl::Status Truncate(uint64_t size) = 0;

  virtual absl::StatusOr<uint64_t> Size() = 0;

  // The path this file was opened with, for error messages.
  virtual const std::string& path() const = 0;

  // Maps `length` bytes at `offset` read-only into memory (mmap), so they
  // can be read without copying. The bytes must not be changed through
  // this file while mapped. Unimplemented where the Env cannot map.
  virtual absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t offset, uint64_t length) {
    (void)offset;
    (void)length;
    return absl::UnimplementedError(path() + ": this Env cannot map files");
  }
};

// A held advisory lock on a file; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

enum class OpenMode {
  kExisting,        // NotFound if absent
  kCreateIfMissing  // create (empty) if absent
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never deleted.
  static Env* Default();

  // Opens `path` for reading and writing. A file created here is not durable
  // until SyncDir() of its directory returns OK.
  virtual absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                         OpenMode mode) = 0;

  virtual bool FileExists(const std::string& path) = 0;

  // Removes a file; durable after SyncDir() of its directory.
  virtual absl::Status RemoveFile(const std::string& path) = 0;

  // Atomically replaces `to` with `from`; durable after SyncDir().
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;

  // Makes creates, removes and renames inside directory `dir` durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;

  // Creates `dir` (one level); OK if it exists already.
  virtual absl::Status CreateDir(const std::string& dir) = 0;

  // Names (not paths) of the entries of `dir`, excluding "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;

  // Takes an exclusive lock on `path` (created if missing) and records this
  // process's id in it. Returns FailedPrecondition naming the holder's pid
  // if another process, or another open of the same path in this process,
  // holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// A File that forwards every call to another one, which it owns. Derive from
// it and override the calls to observe or change (a test that holds a Sync,
// a benchmark that counts them); the rest behave as the base file's.
// Thread-safety: as the base file's, plus whatever the overrides add.
class FileWrapper : public File {
 public:
  explicit FileWrapper(std::unique_ptr<File> base) : base_(std::move(base)) {}

  File* base() const { return base_.get(); }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, absl::Span<char> dst) override {
    return base_->ReadAt(offset, dst);
  }
  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    return base_->WriteAt(offset, data);
  }
  absl::Status Sync() override { return base_->Sync(); }
  void StartWriteback() override { base_->StartWriteback(); }
  absl::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }
  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t offset, uint64_t length) override {
    return base_->Map(offset, length);
  }

 private:
  const std::unique_ptr<File> base_;
};

// An Env that forwards every call to another Env, which must outlive it
// (LevelDB's EnvWrapper). Derive from it and override the calls to observe
// or change; OpenFile can wrap the files it returns in a FileWrapper.
// Thread-safety: as the base Env's, plus whatever the overrides add.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* base) : base_(base) {}

  Env* base() const { return base_; }

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    return base_->OpenFile(path, mode);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  absl::Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  absl::Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  absl::Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  Env* const base_;
};

// An Env whose files live in memory, for tests and ephemeral databases. Each
// call returns a new, empty file system. Data in it is always "durable".
std::unique_ptr<Env> NewMemEnv();

// The directory part of `path` ("." when it has none).
std::string DirName(const std::string& path);

}  // namespace sop

#endif  // SOP_ENV_H_
