// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include <unistd.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sop/env.h"
#include "util/mutex.h"

namespace sop {
namespace {

struct MemFileData {
  Mutex mu;
  std::string bytes ABSL_GUARDED_BY(mu);
};

class MemFile final : public File {
 public:
  MemFile(std::string path, std::shared_ptr<MemFileData> data)
      : path_(std::move(path)), data_(std::move(data)) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, absl::Span<char> dst) override {
    MutexLock lock(&data_->mu);
    const std::string& b = data_->bytes;
    if (offset >= b.size()) return size_t{0};
    size_t n = std::min<uint64_t>(dst.size(), b.size() - offset);
    b.copy(dst.data(), n, offset);
    return n;
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    MutexLock lock(&data_->mu);
    std::string& b = data_->bytes;
    if (b.size() < offset + data.size()) b.resize(offset + data.size());
    b.replace(offset, data.size(), data.data(), data.size());
    return absl::OkStatus();
  }

  absl::Status Sync() override { return absl::OkStatus(); }

  absl::Status Truncate(uint64_t size) override {
    MutexLock lock(&data_->mu);
    data_->bytes.resize(size);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    MutexLock lock(&data_->mu);
    return data_->bytes.size();
  }

  const std::string& path() const override { return path_; }

  // Memory files may grow and move: a "mapping" is a copy.
  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t offset, uint64_t length) override {
    MutexLock lock(&data_->mu);
    const std::string& b = data_->bytes;
    if (offset > b.size() || length > b.size() - offset) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": mapping past the end of the file"));
    }
    return std::unique_ptr<MappedRegion>(new CopiedRegion(b.substr(offset, length)));
  }

 private:
  class CopiedRegion final : public MappedRegion {
   public:
    explicit CopiedRegion(std::string bytes) : bytes_(std::move(bytes)) {}
    absl::string_view data() const override { return bytes_; }

   private:
    const std::string bytes_;
  };

  const std::string path_;
  const std::shared_ptr<MemFileData> data_;
};

class MemEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      if (mode != OpenMode::kCreateIfMissing) {
        return absl::NotFoundError(absl::StrCat(path, ": open: No such file or directory"));
      }
      if (dirs_.count(path) > 0) {
        return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
      }
      it = files_.emplace(path, std::make_shared<MemFileData>()).first;
    }
    return std::make_unique<MemFile>(path, it->second);
  }

  bool FileExists(const std::string& path) override {
    MutexLock lock(&mu_);
    return files_.count(path) > 0 || dirs_.count(path) > 0;
  }

  absl::Status RemoveFile(const std::string& path) override {
    MutexLock lock(&mu_);
    if (files_.erase(path) == 0) {
      return absl::NotFoundError(absl::StrCat(path, ": unlink: No such file or directory"));
    }
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    MutexLock lock(&mu_);
    auto it = files_.find(from);
    if (it == files_.end()) {
      return absl::NotFoundError(absl::StrCat(from, ": rename: No such file or directory"));
    }
    auto data = it->second;
    files_.erase(it);
    files_[to] = std::move(data);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string&) override { return absl::OkStatus(); }

  absl::Status CreateDir(const std::string& dir) override {
    MutexLock lock(&mu_);
    dirs_.insert(dir);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    MutexLock lock(&mu_);
    std::vector<std::string> names;
    std::string prefix = dir + "/";
    for (const auto& [path, data] : files_) {
      if (absl::StartsWith(path, prefix) && path.find('/', prefix.size()) == std::string::npos) {
        names.push_back(path.substr(prefix.size()));
      }
    }
    return names;
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MutexLock lock(&mu_);
    if (!locked_.insert(path).second) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": database is locked by process ", ::getpid()));
    }
    return std::unique_ptr<FileLock>(new MemLock(this, path));
  }

 private:
  class MemLock final : public FileLock {
   public:
    MemLock(MemEnv* env, std::string path) : env_(env), path_(std::move(path)) {}
    ~MemLock() override {
      MutexLock lock(&env_->mu_);
      env_->locked_.erase(path_);
    }

   private:
    MemEnv* const env_;
    const std::string path_;
  };

  Mutex mu_;
  std::map<std::string, std::shared_ptr<MemFileData>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> locked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace sop
