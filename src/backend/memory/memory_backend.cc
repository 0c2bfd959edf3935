// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include <deque>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "backend/limits.h"
#include "sop/backend.h"
#include "util/mutex.h"

namespace sop {
namespace {

class MemoryBackend;

class MemoryBlobWriter final : public BlobWriter {
 public:
  MemoryBlobWriter(MemoryBackend* store, BlobId id) : store_(store), id_(id) {}
  ~MemoryBlobWriter() override;
  absl::Status Append(absl::string_view data) override;
  absl::StatusOr<BlobId> Finish() override;

 private:
  MemoryBackend* const store_;
  const BlobId id_;
  std::string bytes_;
  bool finished_ = false;
};

class CopyView final : public BlobView {
 public:
  explicit CopyView(std::string bytes) : bytes_(std::move(bytes)) {}
  absl::string_view data() const override { return bytes_; }

 private:
  const std::string bytes_;
};

class MemoryBackend final : public Backend, public BlobStore, public CommitLog {
 public:
  BlobStore& blobs() override { return *this; }
  CommitLog* log() override { return this; }

  absl::StatusOr<BlobId> Reserve(uint64_t size) override {
    if (size > kMaxBlobSize) {
      return absl::InvalidArgumentError(absl::StrCat("blob of ", size, " bytes exceeds 2^40"));
    }
    MutexLock lock(&mu_);
    BlobId id{next_id_++, size};
    reserved_.emplace(id.page, size);
    return id;
  }

  void Release(BlobId id) override {
    MutexLock lock(&mu_);
    reserved_.erase(id.page);
    written_.erase(id.page);
  }

  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter(uint64_t size) override {
    auto id = Reserve(size);
    if (!id.ok()) return id.status();
    return std::unique_ptr<BlobWriter>(new MemoryBlobWriter(this, *id));
  }

  absl::Status Write(BlobId id, absl::string_view data) override {
    MutexLock lock(&mu_);
    auto it = reserved_.find(id.page);
    if (it == reserved_.end() || it->second != id.size || id.size != data.size() ||
        written_.contains(id.page)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write ", data.size(), " bytes as blob ", id.page, " of ", id.size,
                       " bytes: it is not reserved at that size, or already written"));
    }
    written_[id.page] = std::string(data);
    return absl::OkStatus();
  }

  void StoreWritten(BlobId id, std::string bytes) {
    MutexLock lock(&mu_);
    written_[id.page] = std::move(bytes);
  }

  absl::StatusOr<std::string> Read(BlobId id) override {
    MutexLock lock(&mu_);
    const std::string* bytes = FindLocked(id);
    if (bytes == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("no blob ", id.page, " of ", id.size, " bytes in the memory backend"));
    }
    return *bytes;
  }

  absl::Status ReadRange(BlobId id, uint64_t offset, absl::Span<char> dst) override {
    MutexLock lock(&mu_);
    const std::string* bytes = FindLocked(id);
    if (bytes == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("no blob ", id.page, " in the memory backend"));
    }
    if (offset > id.size || dst.size() > id.size - offset) {
      return absl::InvalidArgumentError(absl::StrCat("range ", offset, "+", dst.size(),
                                                     " is outside blob of ", id.size, " bytes"));
    }
    bytes->copy(dst.data(), dst.size(), offset);
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<const BlobView>> View(BlobId id) override {
    auto bytes = Read(id);
    if (!bytes.ok()) return bytes.status();
    return std::shared_ptr<const BlobView>(new CopyView(*std::move(bytes)));
  }

  absl::StatusOr<std::string> GetMeta(absl::string_view name) override {
    MutexLock lock(&mu_);
    auto it = meta_.find(std::string(name));
    if (it == meta_.end()) return absl::NotFoundError(absl::StrCat("no metadata ", name));
    return it->second;
  }

  // Memory is durable as soon as written.
  absl::Status SyncWritten() override { return absl::OkStatus(); }

  // This store does not outlive a crash: a blob to claim is still held.
  absl::Status Claim(BlobId id) override {
    MutexLock lock(&mu_);
    auto it = reserved_.find(id.page);
    if (it == reserved_.end() || it->second != id.size || !written_.contains(id.page)) {
      return absl::DataLossError(
          absl::StrCat("the log names blob ", id.page, ", which the memory backend does not hold"));
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const WriteBatch& batch) override {
    MutexLock lock(&mu_);
    if (auto st = Check(batch); !st.ok()) return st;
    ApplyLocked(batch);
    trimmed_ = std::max(trimmed_, batch.trim_log());
    return absl::OkStatus();
  }

  absl::Status Prepare(const WriteBatch& batch, absl::string_view xid) override {
    MutexLock lock(&mu_);
    if (prepared_.contains(xid)) {
      return absl::AlreadyExistsError(absl::StrCat("transaction ", xid, " is already prepared"));
    }
    if (auto st = Check(batch); !st.ok()) return st;
    prepared_.emplace(std::string(xid), batch);
    return absl::OkStatus();
  }

  absl::Status CommitPrepared(absl::string_view xid) override {
    MutexLock lock(&mu_);
    auto it = prepared_.find(xid);
    if (it == prepared_.end()) {
      return absl::NotFoundError(absl::StrCat("no prepared transaction ", xid));
    }
    ApplyLocked(it->second);
    prepared_.erase(it);
    return absl::OkStatus();
  }

  absl::Status AbortPrepared(absl::string_view xid) override {
    MutexLock lock(&mu_);
    auto it = prepared_.find(xid);
    if (it == prepared_.end()) {
      return absl::NotFoundError(absl::StrCat("no prepared transaction ", xid));
    }
    for (const auto& put : it->second.puts()) {
      reserved_.erase(put.id.page);
      written_.erase(put.id.page);
    }
    prepared_.erase(it);
    return absl::OkStatus();
  }

  std::vector<std::string> InDoubt() override {
    MutexLock lock(&mu_);
    std::vector<std::string> xids;
    for (const auto& [xid, batch] : prepared_) xids.push_back(xid);
    return xids;
  }

  absl::Status Checkpoint() override {
    MutexLock lock(&mu_);
    while (!log_.empty() && log_.front().seq <= trimmed_) log_.pop_front();
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Append(absl::string_view payload) override {
    MutexLock lock(&mu_);
    log_.push_back({++last_seq_, std::string(payload)});
    return last_seq_;
  }

  absl::StatusOr<uint64_t> Enqueue(std::string payload) override { return Append(payload); }
  absl::StatusOr<uint64_t> Await(uint64_t ticket) override { return ticket; }
  void Resume() override {}

  absl::Status Replay(uint64_t after,
                      const std::function<absl::Status(const LogRecord&)>& fn) override {
    std::vector<LogRecord> copy;
    {
      MutexLock lock(&mu_);
      for (const LogRecord& r : log_) {
        if (r.seq > after) copy.push_back(r);
      }
    }
    for (const LogRecord& r : copy) {
      if (auto st = fn(r); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  void Trim(uint64_t upto) override {
    MutexLock lock(&mu_);
    trimmed_ = std::max(trimmed_, upto);
  }

  uint64_t last_seq() override {
    MutexLock lock(&mu_);
    return last_seq_;
  }

 private:
  // A stored blob, or a written one SyncWritten() made readable.
  const std::string* FindLocked(BlobId id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (auto it = blobs_.find(id.page); it != blobs_.end()) {
      return it->second.size() == id.size ? &it->second : nullptr;
    }
    auto it = written_.find(id.page);
    return it != written_.end() && it->second.size() == id.size ? &it->second : nullptr;
  }

  absl::Status Check(const WriteBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& put : batch.puts()) {
      auto it = reserved_.find(put.id.page);
      if (it == reserved_.end() || it->second != put.id.size) {
        return absl::InvalidArgumentError(
            absl::StrCat("batch puts blob ", put.id.page, " which is not reserved"));
      }
      if (put.written ? !written_.contains(put.id.page) : put.data.size() != put.id.size) {
        return absl::InvalidArgumentError(
            absl::StrCat("batch puts blob ", put.id.page, " with the wrong content size"));
      }
    }
    return absl::OkStatus();
  }

  void ApplyLocked(const WriteBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& put : batch.puts()) {
      reserved_.erase(put.id.page);
      if (put.written) {
        blobs_[put.id.page] = std::move(written_[put.id.page]);
        written_.erase(put.id.page);
      } else {
        blobs_[put.id.page] = put.data;
      }
    }
    for (const BlobId& id : batch.deletes()) blobs_.erase(id.page);
    for (const auto& [name, value] : batch.meta()) {
      if (value.has_value()) {
        meta_[name] = *value;
      } else {
        meta_.erase(name);
      }
    }
  }

  Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::string> blobs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, uint64_t> reserved_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> written_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string, std::less<>> meta_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WriteBatch, std::less<>> prepared_ ABSL_GUARDED_BY(mu_);
  std::deque<LogRecord> log_ ABSL_GUARDED_BY(mu_);
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t trimmed_ ABSL_GUARDED_BY(mu_) = 0;
};

MemoryBlobWriter::~MemoryBlobWriter() {
  if (!finished_) store_->Release(id_);
}

absl::Status MemoryBlobWriter::Append(absl::string_view data) {
  if (finished_ || data.size() > id_.size - bytes_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("blob writer: ", bytes_.size() + data.size(),
                                                   " bytes exceed the declared ", id_.size,
                                                   (finished_ ? " (already finished)" : "")));
  }
  bytes_.append(data.data(), data.size());
  return absl::OkStatus();
}

absl::StatusOr<BlobId> MemoryBlobWriter::Finish() {
  if (finished_ || bytes_.size() != id_.size) {
    return absl::InvalidArgumentError(
        absl::StrCat("blob writer: ", bytes_.size(), " of ", id_.size, " declared bytes written"));
  }
  finished_ = true;
  store_->StoreWritten(id_, std::move(bytes_));
  return id_;
}

}  // namespace

std::unique_ptr<Backend> NewMemoryBackend() { return std::make_unique<MemoryBackend>(); }

}  // namespace sop
