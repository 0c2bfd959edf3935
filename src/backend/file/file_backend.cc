// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// FileBackend: the blob store and commit log over a data file and a WAL.
//
// Write ordering, which is what makes a batch atomic and durable:
//  1. The batch's blobs are written into reserved (free) pages of the data
//     file. Free pages are referenced by nothing durable, so a crash here
//     loses nothing; a full disk fails the batch before anything is durable.
//  2. If the batch is large, the data file is synced and the WAL record
//     carries only the blob ids; otherwise the record carries the bytes too.
//  3. The WAL record is appended and synced: this is the commit point.
//  4. In-memory state changes (space, metadata); no I/O, so it cannot fail.
// A checkpoint syncs the data file, writes the state blob (metadata + free
// extents) into free pages, syncs, writes the other header slot, syncs, and
// only then rewrites the WAL. Recovery = newest valid header + its state +
// replay of the WAL's batch records newer than the header.
//
// One subtlety of replay: a page freed by a batch may be reused by a later
// batch whose blob went straight to the data file, not through the WAL.
// Replaying an earlier record's inline bytes into that page would destroy the
// later blob, so replay skips inline bytes of blobs that a later record deletes.

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "backend/file/data_file.h"
#include "backend/file/free_space_map.h"
#include "backend/file/wal.h"
#include "backend/limits.h"
#include "spdlog/spdlog.h"
#include "util/coding.h"
#include "util/mutex.h"
#include "util/status.h"

namespace sop {
namespace {

constexpr uint64_t kMaxPage = uint64_t{1} << 40;
constexpr uint32_t kStateMagic = 0x31545353;  // "SST1"

// A batch as the WAL holds it. `data[i]` is the inline content of puts[i]
// (nullopt when the content went straight to the data file).
struct LoggedBatch {
  std::vector<BlobId> puts;
  std::vector<std::optional<std::string>> data;
  std::vector<BlobId> deletes;
  std::map<std::string, std::optional<std::string>> meta;
};

void EncodeIds(std::string* out, const std::vector<BlobId>& ids) {
  PutFixed32(out, static_cast<uint32_t>(ids.size()));
  for (const BlobId& id : ids) {
    PutFixed64(out, id.page);
    PutFixed64(out, id.size);
  }
}

std::string EncodeBatch(const WriteBatch& batch, bool with_bytes) {
  std::string out;
  out.push_back(with_bytes ? 1 : 0);
  PutFixed32(&out, static_cast<uint32_t>(batch.puts().size()));
  for (const auto& put : batch.puts()) {
    PutFixed64(&out, put.id.page);
    PutFixed64(&out, put.id.size);
    bool inline_bytes = with_bytes && !put.written;
    out.push_back(inline_bytes ? 1 : 0);
    if (inline_bytes) out.append(put.data);
  }
  EncodeIds(&out, batch.deletes());
  PutFixed32(&out, static_cast<uint32_t>(batch.meta().size()));
  for (const auto& [name, value] : batch.meta()) {
    PutBytes(&out, name);
    out.push_back(value.has_value() ? 1 : 0);
    if (value.has_value()) PutBytes(&out, *value);
  }
  return out;
}

bool DecodeId(Decoder* d, BlobId* id) {
  return d->GetFixed64(&id->page) && d->GetFixed64(&id->size) && id->page < kMaxPage &&
         id->size <= kMaxBlobSize;
}

bool DecodeBatch(Decoder* d, LoggedBatch* b) {
  uint8_t with_bytes;
  uint32_t n;
  if (!d->GetByte(&with_bytes) || !d->GetFixed32(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    BlobId id;
    uint8_t has;
    if (!DecodeId(d, &id) || !d->GetByte(&has)) return false;
    std::optional<std::string> bytes;
    if (has) {
      absl::string_view rest = d->rest();
      if (rest.size() < id.size) return false;
      bytes.emplace(rest.substr(0, id.size));
      *d = Decoder(rest.substr(id.size));
    }
    b->puts.push_back(id);
    b->data.push_back(std::move(bytes));
  }
  if (!d->GetFixed32(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    BlobId id;
    if (!DecodeId(d, &id)) return false;
    b->deletes.push_back(id);
  }
  if (!d->GetFixed32(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    absl::string_view name, value;
    uint8_t has;
    if (!d->GetBytes(&name) || !d->GetByte(&has)) return false;
    if (has && !d->GetBytes(&value)) return false;
    b->meta[std::string(name)] =
        has ? std::optional<std::string>(std::string(value)) : std::nullopt;
  }
  return true;
}

class FileBackend;

class FileBlobWriter final : public BlobWriter {
 public:
  FileBlobWriter(FileBackend* backend, DataFile* file, BlobId id)
      : backend_(backend), stream_(file, id), id_(id) {}
  ~FileBlobWriter() override;
  absl::Status Append(absl::string_view data) override;
  absl::StatusOr<BlobId> Finish() override;

 private:
  FileBackend* const backend_;
  DataFile::Stream stream_;
  const BlobId id_;
  bool finished_ = false;
};

class FileBackend final : public Backend, public BlobStore, public CommitLog {
 public:
  FileBackend(Env* env, std::string path, FileBackendOptions options,
              std::unique_ptr<FileLock> lock)
      : env_(env), path_(std::move(path)), options_(std::move(options)), lock_(std::move(lock)) {
    logger_ = options_.logger ? options_.logger
                              : std::make_shared<spdlog::logger>("sop", spdlog::sinks_init_list{});
  }

  ~FileBackend() override {
    MutexLock batch_lock(&batch_mu_);
    if (!opened_ || !Health().ok()) return;
    // A log holding nothing since the last checkpoint: the data file says it
    // all, and closing writes nothing.
    if (wal_->size() == Wal::kHeaderSize) return;
    if (auto st = CheckpointLocked(); !st.ok()) {
      logger_->warn("{}: checkpoint on close failed: {}", path_, st.ToString());
    }
  }

  absl::Status Open();

  BlobStore& blobs() override { return *this; }
  CommitLog* log() override { return this; }

  // BlobStore:
  absl::StatusOr<BlobId> Reserve(uint64_t size) override {
    if (size > kMaxBlobSize) {
      return absl::InvalidArgumentError(absl::StrCat("blob of ", size, " bytes exceeds 2^40"));
    }
    if (auto st = Health(); !st.ok()) return st;
    MutexLock lock(&mu_);
    uint64_t pages = data_->PagesFor(size);
    uint64_t page = space_.Allocate(pages);
    reserved_[page] = pages;
    NoteEnd();
    return BlobId{page, size};
  }

  uint64_t RelocationBoundary() override {
    MutexLock lock(&mu_);
    if (space_.free_pages() == 0) return UINT64_MAX;
    return space_.end() - space_.free_pages();
  }

  absl::StatusOr<BlobId> ReserveBelow(uint64_t size, uint64_t limit) override {
    if (auto st = Health(); !st.ok()) return st;
    MutexLock lock(&mu_);
    uint64_t pages = data_->PagesFor(size);
    uint64_t page = space_.AllocateBelow(pages, limit);
    if (page == 0) return absl::NotFoundError(absl::StrCat(path_, ": no hole below page ", limit));
    reserved_[page] = pages;
    return BlobId{page, size};
  }

  void Release(BlobId id) override {
    MutexLock lock(&mu_);
    auto it = reserved_.find(id.page);
    if (it == reserved_.end() || in_prepared_.contains(id.page)) return;
    space_.Free(it->first, it->second).IgnoreError();  // reserved pages are never free
    reserved_.erase(it);
    written_.erase(id.page);
  }

  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter(uint64_t size) override {
    auto id = Reserve(size);
    if (!id.ok()) return id.status();
    return std::unique_ptr<BlobWriter>(new FileBlobWriter(this, data_.get(), *id));
  }

  absl::Status Write(BlobId id, absl::string_view data) override {
    if (auto st = Health(); !st.ok()) return st;
    {
      MutexLock lock(&mu_);
      auto it = reserved_.find(id.page);
      if (it == reserved_.end() || it->second != data_->PagesFor(id.size) ||
          id.size != data.size() || written_.contains(id.page) || in_prepared_.contains(id.page)) {
        return absl::InvalidArgumentError(absl::StrCat(
            path_, ": cannot write ", data.size(), " bytes as blob at page ", id.page, " of ",
            id.size, " bytes: it is not reserved at that size, or already written"));
      }
    }
    if (auto st = data_->WriteBlob(id, data); !st.ok()) return st;
    MarkWritten(id);
    return absl::OkStatus();
  }

  absl::Status SyncWritten() override {
    if (auto st = Health(); !st.ok()) return st;
    if (auto st = data_->file().Sync(); !st.ok()) {
      Fail(st);
      return st;
    }
    return absl::OkStatus();
  }

  absl::Status Claim(BlobId id) override {
    MutexLock lock(&mu_);
    const uint64_t pages = data_->PagesFor(id.size);
    auto held = reserved_.find(id.page);
    if (held != reserved_.end() && held->second == pages && written_.contains(id.page)) {
      return absl::OkStatus();
    }
    if (!space_.AllFree(id.page, pages)) {  // also refuses the header's pages
      return absl::DataLossError(absl::StrCat(path_, ": the log names a blob at page ", id.page,
                                              " of ", id.size, " bytes whose pages are taken"));
    }
    space_.MarkUsed(id.page, pages);
    reserved_[id.page] = pages;
    written_.insert(id.page);
    NoteEnd();
    return absl::OkStatus();
  }

  void MarkWritten(BlobId id) {
    MutexLock lock(&mu_);
    written_.insert(id.page);
  }

  absl::StatusOr<std::string> Read(BlobId id) override {
    return data_->ReadBlob(id, end_pages_.load(std::memory_order_acquire));
  }

  absl::Status ReadRange(BlobId id, uint64_t offset, absl::Span<char> dst) override {
    return data_->ReadBlobRange(id, offset, dst, end_pages_.load(std::memory_order_acquire));
  }

  absl::StatusOr<std::shared_ptr<const BlobView>> View(BlobId id) override {
    return data_->MapBlob(id, end_pages_.load(std::memory_order_acquire));
  }

  absl::StatusOr<std::string> GetMeta(absl::string_view name) override {
    MutexLock lock(&mu_);
    auto it = meta_.find(name);
    if (it == meta_.end()) return absl::NotFoundError(absl::StrCat("no metadata record ", name));
    return it->second;
  }

  absl::Status Apply(const WriteBatch& batch) override {
    MutexLock batch_lock(&batch_mu_);
    if (auto st = WriteBlobs(batch); !st.ok()) return st;
    auto seq = wal_->Append(WalRecordType::kBatch, EncodeBatch(batch, InlineBytes(batch)));
    if (!seq.ok()) {
      // A batch is self-contained: nothing queued after it depends on it.
      wal_->Resume();
      return seq.status();
    }
    {
      MutexLock lock(&mu_);
      ApplyEffects(LoggedFrom(batch));
      trim_ = std::max(trim_, batch.trim_log());
    }
    MaybeCheckpoint();
    return absl::OkStatus();
  }

  absl::Status Prepare(const WriteBatch& batch, absl::string_view xid) override {
    MutexLock batch_lock(&batch_mu_);
    if (prepared_.contains(xid)) {
      return absl::AlreadyExistsError(absl::StrCat("transaction ", xid, " is already prepared"));
    }
    if (auto st = WriteBlobs(batch); !st.ok()) return st;
    std::string payload;
    PutBytes(&payload, xid);
    payload += EncodeBatch(batch, InlineBytes(batch));
    auto seq = wal_->Append(WalRecordType::kPrepare, std::move(payload));
    if (!seq.ok()) return seq.status();
    MutexLock lock(&mu_);
    LoggedBatch logged = LoggedFrom(batch);
    for (const BlobId& id : logged.puts) in_prepared_.insert(id.page);
    logged.data.clear();
    prepared_.emplace(std::string(xid), std::move(logged));
    return absl::OkStatus();
  }

  absl::Status CommitPrepared(absl::string_view xid) override {
    return Decide(xid, WalRecordType::kCommit);
  }
  absl::Status AbortPrepared(absl::string_view xid) override {
    return Decide(xid, WalRecordType::kAbort);
  }

  std::vector<std::string> InDoubt() override {
    MutexLock lock(&mu_);
    std::vector<std::string> xids;
    for (const auto& [xid, batch] : prepared_) xids.push_back(xid);
    return xids;
  }

  absl::Status Checkpoint() override {
    MutexLock batch_lock(&batch_mu_);
    return CheckpointLocked();
  }

  // CommitLog:
  absl::StatusOr<uint64_t> Append(absl::string_view payload) override {
    if (auto st = Health(); !st.ok()) return st;
    return wal_->Append(WalRecordType::kLog, std::string(payload));
  }

  absl::StatusOr<uint64_t> Enqueue(std::string payload) override {
    if (auto st = Health(); !st.ok()) return st;
    return wal_->Enqueue(WalRecordType::kLog, std::move(payload));
  }
  absl::StatusOr<uint64_t> Await(uint64_t ticket) override { return wal_->Await(ticket); }
  void Resume() override { wal_->Resume(); }

  absl::Status Replay(uint64_t after,
                      const std::function<absl::Status(const LogRecord&)>& fn) override {
    return wal_->ForEach([&](const WalRecordView& r) -> absl::Status {
      if (r.type != WalRecordType::kLog || r.seq <= after) return absl::OkStatus();
      return fn(LogRecord{r.seq, std::string(r.payload)});
    });
  }

  void Trim(uint64_t upto) override {
    MutexLock lock(&mu_);
    trim_ = std::max(trim_, upto);
  }

  uint64_t last_seq() override { return wal_->last_seq(); }

 private:
  friend class FileBlobWriter;

  absl::Status Health() {
    {
      MutexLock lock(&mu_);
      if (!failed_.ok()) return Unshared(failed_);
    }
    return wal_ ? wal_->health() : absl::OkStatus();
  }

  void Fail(const absl::Status& st) {
    MutexLock lock(&mu_);
    if (failed_.ok()) {
      failed_ = absl::Status(
          st.code(), absl::StrCat(st.message(), " (the database is read-only until reopened)"));
      logger_->error("{}: {}", path_, failed_.ToString());
    }
  }

  void NoteEnd() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (space_.end() > end_pages_.load(std::memory_order_relaxed)) {
      end_pages_.store(space_.end(), std::memory_order_release);
    }
  }

  bool InlineBytes(const WriteBatch& batch) const {
    uint64_t bytes = 0;
    for (const auto& put : batch.puts()) bytes += put.written ? 0 : put.data.size();
    return bytes <= options_.inline_batch_bytes;
  }

  static LoggedBatch LoggedFrom(const WriteBatch& batch) {
    LoggedBatch b;
    for (const auto& put : batch.puts()) b.puts.push_back(put.id);
    b.deletes = batch.deletes();
    b.meta = batch.meta();
    return b;
  }

  // Steps 1 and 2 of the write ordering: checks the batch, writes its blobs
  // into their reserved pages, and syncs the data file unless the WAL record
  // will carry the bytes.
  absl::Status WriteBlobs(const WriteBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
    if (auto st = Health(); !st.ok()) return st;
    bool direct = false;
    {
      MutexLock lock(&mu_);
      for (const auto& put : batch.puts()) {
        auto it = reserved_.find(put.id.page);
        if (it == reserved_.end() || it->second != data_->PagesFor(put.id.size) ||
            in_prepared_.contains(put.id.page)) {
          return absl::InvalidArgumentError(absl::StrCat(path_, ": batch puts blob at page ",
                                                         put.id.page, " which is not reserved"));
        }
        if (put.written ? !written_.contains(put.id.page) : put.data.size() != put.id.size) {
          return absl::InvalidArgumentError(absl::StrCat(
              path_, ": batch puts blob at page ", put.id.page, " of ", put.id.size, " bytes, but ",
              put.written ? "its writer did not finish"
                          : absl::StrCat("the batch holds ", put.data.size(), " bytes for it")));
        }
        direct |= put.written;
      }
      for (const BlobId& id : batch.deletes()) {
        if (id.page < data_->first_blob_page() || id.page >= space_.end() ||
            reserved_.contains(id.page) || space_.IsFree(id.page)) {
          return absl::InvalidArgumentError(absl::StrCat(path_, ": batch deletes blob at page ",
                                                         id.page, " which is not stored"));
        }
      }
    }
    for (const auto& put : batch.puts()) {
      if (put.written) continue;
      if (auto st = data_->WriteBlob(put.id, put.data); !st.ok()) return st;
    }
    if (direct || !InlineBytes(batch)) {
      if (auto st = data_->file().Sync(); !st.ok()) {
        Fail(st);
        return st;
      }
    }
    return absl::OkStatus();
  }

  // Step 4: the in-memory effect of a durable batch.
  void ApplyEffects(const LoggedBatch& b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const BlobId& id : b.puts) {
      reserved_.erase(id.page);
      written_.erase(id.page);
      in_prepared_.erase(id.page);
    }
    for (const BlobId& id : b.deletes) {
      if (auto st = space_.Free(id.page, data_->PagesFor(id.size)); !st.ok()) {
        logger_->error("{}: {}", path_, st.ToString());
      }
    }
    for (const auto& [name, value] : b.meta) {
      if (value.has_value()) {
        meta_[name] = *value;
      } else {
        meta_.erase(name);
      }
    }
  }

  absl::Status Decide(absl::string_view xid, WalRecordType decision) {
    MutexLock batch_lock(&batch_mu_);
    if (auto st = Health(); !st.ok()) return st;
    {
      MutexLock lock(&mu_);
      if (!prepared_.contains(xid)) {
        return absl::NotFoundError(absl::StrCat(path_, ": no prepared transaction ", xid));
      }
    }
    std::string payload;
    PutBytes(&payload, xid);
    auto seq = wal_->Append(decision, std::move(payload));
    if (!seq.ok()) return seq.status();
    MutexLock lock(&mu_);
    auto it = prepared_.find(xid);
    if (decision == WalRecordType::kCommit) {
      ApplyEffects(it->second);
    } else {
      for (const BlobId& id : it->second.puts) {
        in_prepared_.erase(id.page);
        auto r = reserved_.find(id.page);
        if (r != reserved_.end()) {
          space_.Free(r->first, r->second).IgnoreError();  // reserved pages are never free
          reserved_.erase(r);
        }
      }
    }
    prepared_.erase(it);
    return absl::OkStatus();
  }

  void MaybeCheckpoint() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_) {
    if (wal_->size() < options_.wal_checkpoint_bytes) return;
    if (auto st = CheckpointLocked(); !st.ok()) {
      logger_->warn("{}: checkpoint failed: {}", path_, st.ToString());
    }
  }

  absl::Status CheckpointLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batch_mu_);
  absl::Status Replay(std::vector<WalRecord>& records);
  absl::Status LoadState(const DataFile::Header& h);
  std::string EncodeState(uint64_t page_count, const std::vector<FreeSpaceMap::Extent>& free)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env* const env_;
  const std::string path_;
  const FileBackendOptions options_;
  const std::unique_ptr<FileLock> lock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<DataFile> data_;
  std::unique_ptr<Wal> wal_;
  DataFile::Header header_;  // the newest durable header; guarded by batch_mu_
  bool opened_ = false;      // Open() succeeded: closing checkpoints

  Mutex batch_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one batch, decision or checkpoint at a time
  Mutex mu_;
  FreeSpaceMap space_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> end_pages_{0};  // high-water mark of space_.end(), for read bounds
  std::map<uint64_t, uint64_t> reserved_ ABSL_GUARDED_BY(mu_);  // first page -> pages
  absl::flat_hash_set<uint64_t> written_ ABSL_GUARDED_BY(mu_);  // finished BlobWriters
  absl::flat_hash_set<uint64_t> in_prepared_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string, std::less<>> meta_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, LoggedBatch, std::less<>> prepared_ ABSL_GUARDED_BY(mu_);
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  uint64_t trim_ ABSL_GUARDED_BY(mu_) = 0;
};

FileBlobWriter::~FileBlobWriter() {
  if (!finished_) backend_->Release(id_);
}

absl::Status FileBlobWriter::Append(absl::string_view data) {
  if (finished_) return absl::FailedPreconditionError("blob writer: already finished");
  if (auto st = backend_->Health(); !st.ok()) return st;
  return stream_.Append(data);
}

absl::StatusOr<BlobId> FileBlobWriter::Finish() {
  if (finished_) return absl::FailedPreconditionError("blob writer: already finished");
  if (auto st = stream_.Finish(); !st.ok()) return st;
  finished_ = true;
  backend_->MarkWritten(id_);
  return id_;
}

std::string FileBackend::EncodeState(uint64_t page_count,
                                     const std::vector<FreeSpaceMap::Extent>& free) {
  std::string s;
  PutFixed32(&s, kStateMagic);
  PutFixed64(&s, page_count);
  PutFixed32(&s, static_cast<uint32_t>(meta_.size()));
  for (const auto& [name, value] : meta_) {
    PutBytes(&s, name);
    PutBytes(&s, value);
  }
  PutFixed64(&s, free.size());
  for (const auto& [page, n] : free) {
    PutFixed64(&s, page);
    PutFixed64(&s, n);
  }
  return s;
}

absl::Status FileBackend::LoadState(const DataFile::Header& h) {
  MutexLock lock(&mu_);
  const uint64_t first = data_->first_blob_page();
  if (h.state.page == 0) return space_.Reset(first, std::max(h.page_count, first), {});
  auto bytes = data_->ReadBlob(h.state, std::max(h.page_count, h.state.page + 1));
  if (!bytes.ok()) {
    if (absl::IsInvalidArgument(bytes.status())) {
      return absl::DataLossError(absl::StrCat(
          path_, ": header names a state blob outside the file: ", bytes.status().message()));
    }
    return bytes.status();
  }
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(path_, ": page ", h.state.page, " at offset ",
                                            h.state.page * data_->page_size(),
                                            ": checkpoint state ", what));
  };
  Decoder d(*bytes);
  uint32_t magic, nmeta;
  uint64_t page_count, nfree;
  if (!d.GetFixed32(&magic) || magic != kStateMagic || !d.GetFixed64(&page_count) ||
      !d.GetFixed32(&nmeta)) {
    return bad("is malformed");
  }
  for (uint32_t i = 0; i < nmeta; ++i) {
    absl::string_view name, value;
    if (!d.GetBytes(&name) || !d.GetBytes(&value)) return bad("is malformed");
    meta_[std::string(name)] = std::string(value);
  }
  if (!d.GetFixed64(&nfree) || nfree > d.rest().size() / 16) return bad("is malformed");
  std::vector<FreeSpaceMap::Extent> free(nfree);
  for (auto& [page, n] : free) {
    if (!d.GetFixed64(&page) || !d.GetFixed64(&n)) return bad("is malformed");
  }
  if (page_count > kMaxPage) return bad("names an impossible page count");
  if (auto st = space_.Reset(first, std::max(page_count, first), free); !st.ok()) {
    return bad(st.message());
  }
  // The state blob itself is in use until the next checkpoint replaces it.
  space_.MarkUsed(h.state.page, data_->PagesFor(h.state.size));
  return absl::OkStatus();
}

absl::Status FileBackend::Replay(std::vector<WalRecord>& records) {
  const uint64_t last = header_.last_seq;
  auto malformed = [&](const WalRecord& r) {
    return absl::DataLossError(absl::StrCat(path_, "-wal: record ", r.seq, ": malformed ",
                                            static_cast<int>(r.type),
                                            " record (checksum valid, contents impossible)"));
  };
  auto xid_of = [](const WalRecord& r, std::string* xid, Decoder* rest) {
    Decoder d(r.payload);
    absl::string_view v;
    if (!d.GetBytes(&v)) return false;
    *xid = std::string(v);
    if (rest != nullptr) *rest = d;
    return true;
  };

  // Pass 1: when each xid was decided, and the last record deleting each page.
  absl::flat_hash_map<std::string, uint64_t> decided_at;
  absl::flat_hash_map<uint64_t, size_t> last_delete;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> prepared_deletes;
  for (size_t i = 0; i < records.size(); ++i) {
    const WalRecord& r = records[i];
    std::string xid;
    LoggedBatch b;
    Decoder d(r.payload);
    switch (r.type) {
      case WalRecordType::kBatch:
        if (r.seq <= last) break;
        if (!DecodeBatch(&d, &b)) return malformed(r);
        for (const BlobId& id : b.deletes) last_delete[id.page] = i;
        break;
      case WalRecordType::kPrepare:
        if (!xid_of(r, &xid, &d) || !DecodeBatch(&d, &b)) return malformed(r);
        for (const BlobId& id : b.deletes) prepared_deletes[xid].push_back(id.page);
        break;
      case WalRecordType::kCommit:
        if (!xid_of(r, &xid, nullptr)) return malformed(r);
        decided_at[xid] = r.seq;
        if (r.seq > last) {
          for (uint64_t page : prepared_deletes[xid]) last_delete[page] = i;
        }
        break;
      case WalRecordType::kAbort:
        if (!xid_of(r, &xid, nullptr)) return malformed(r);
        decided_at[xid] = r.seq;
        break;
      case WalRecordType::kLog:
        break;
    }
  }

  // Pass 2: redo, in log order.
  MutexLock lock(&mu_);
  std::map<std::string, LoggedBatch, std::less<>> pending;
  auto redo = [&](const LoggedBatch& b, size_t i) -> absl::Status {
    for (size_t k = 0; k < b.puts.size(); ++k) {
      const BlobId& id = b.puts[k];
      if (id.page < data_->first_blob_page()) return absl::DataLossError("blob id in header pages");
      space_.MarkUsed(id.page, data_->PagesFor(id.size));
      auto del = last_delete.find(id.page);
      bool deleted_later = del != last_delete.end() && del->second > i;
      if (b.data[k].has_value() && !deleted_later) {
        if (auto st = data_->WriteBlob(id, *b.data[k]); !st.ok()) return st;
      }
    }
    for (const BlobId& id : b.deletes) {
      if (auto st = space_.Free(id.page, data_->PagesFor(id.size)); !st.ok()) {
        return absl::DataLossError(absl::StrCat(path_, "-wal: replay: ", st.message()));
      }
    }
    for (const auto& [name, value] : b.meta) {
      if (value.has_value()) {
        meta_[name] = *value;
      } else {
        meta_.erase(name);
      }
    }
    return absl::OkStatus();
  };
  size_t replayed = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const WalRecord& r = records[i];
    std::string xid;
    Decoder d(r.payload);
    switch (r.type) {
      case WalRecordType::kBatch: {
        if (r.seq <= last) break;
        LoggedBatch b;
        DecodeBatch(&d, &b);
        if (auto st = redo(b, i); !st.ok()) return st;
        ++replayed;
        break;
      }
      case WalRecordType::kPrepare: {
        xid_of(r, &xid, &d);
        auto decided = decided_at.find(xid);
        if (decided != decided_at.end() && decided->second <= last) break;  // in the image
        LoggedBatch b;
        DecodeBatch(&d, &b);
        for (const BlobId& id : b.puts) space_.MarkUsed(id.page, data_->PagesFor(id.size));
        pending[xid] = std::move(b);
        break;
      }
      case WalRecordType::kCommit: {
        xid_of(r, &xid, nullptr);
        if (r.seq <= last) break;
        auto it = pending.find(xid);
        if (it == pending.end()) {
          return absl::DataLossError(
              absl::StrCat(path_, "-wal: record ", r.seq, ": commit of unknown transaction ", xid));
        }
        if (auto st = redo(it->second, i); !st.ok()) return st;
        pending.erase(it);
        ++replayed;
        break;
      }
      case WalRecordType::kAbort: {
        xid_of(r, &xid, nullptr);
        auto it = pending.find(xid);
        if (it == pending.end()) break;
        for (const BlobId& id : it->second.puts) {
          space_.Free(id.page, data_->PagesFor(id.size)).IgnoreError();
        }
        pending.erase(it);
        break;
      }
      case WalRecordType::kLog:
        break;
    }
  }
  // Still undecided: in doubt. Their bytes may never have reached the data
  // file, so put them there now; their pages stay reserved.
  for (auto& [xid, b] : pending) {
    for (size_t k = 0; k < b.puts.size(); ++k) {
      if (b.data[k].has_value()) {
        if (auto st = data_->WriteBlob(b.puts[k], *b.data[k]); !st.ok()) return st;
      }
      reserved_[b.puts[k].page] = data_->PagesFor(b.puts[k].size);
      in_prepared_.insert(b.puts[k].page);
    }
    b.data.clear();
    prepared_.emplace(xid, std::move(b));
  }
  NoteEnd();
  if (replayed > 0 || !prepared_.empty()) {
    logger_->info("{}: recovered {} batches from the WAL; {} transactions in doubt", path_,
                  replayed, prepared_.size());
  }
  return absl::OkStatus();
}

absl::Status FileBackend::CheckpointLocked() {
  if (auto st = Health(); !st.ok()) return st;
  const uint64_t last_seq = wal_->last_seq();
  if (auto st = data_->file().Sync(); !st.ok()) {
    Fail(st);
    return st;
  }
  BlobId state;
  std::string state_bytes;
  uint64_t page_count;
  {
    MutexLock lock(&mu_);
    space_.ShrinkTail();
    // What is free after this checkpoint: free pages, reservations (no
    // durable batch uses them; prepared ones are re-reserved from the WAL),
    // and the old state blob. The new state blob's own pages are not.
    auto free_after = [&] {
      std::vector<FreeSpaceMap::Extent> v = space_.extents();
      for (const auto& r : reserved_) v.push_back(r);
      if (header_.state.page != 0) {
        v.push_back({header_.state.page, data_->PagesFor(header_.state.size)});
      }
      std::sort(v.begin(), v.end());
      std::vector<FreeSpaceMap::Extent> merged;
      for (const auto& e : v) {
        if (!merged.empty() && merged.back().first + merged.back().second == e.first) {
          merged.back().second += e.second;
        } else {
          merged.push_back(e);
        }
      }
      return merged;
    };
    // Taking pages changes the free list by at most one extent; allow for it.
    uint64_t estimate = EncodeState(space_.end(), free_after()).size() + 32;
    uint64_t pages = data_->PagesFor(estimate);
    // The lowest hole that fits, so that the state never keeps the file long.
    uint64_t page = space_.AllocateBelow(pages, space_.end());
    if (page == 0) page = space_.Allocate(pages);
    NoteEnd();
    page_count = space_.end();
    state_bytes = EncodeState(page_count, free_after());
    // Pad to fill the extent exactly, so that PagesFor(state) == pages.
    uint64_t padded = pages * data_->page_size() - DataFile::kBlobHeaderSize;
    while (data_->PagesFor(padded) > pages) --padded;
    state_bytes.resize(padded, '\0');
    state = {page, state_bytes.size()};
  }
  auto release_state = [&] {
    MutexLock lock(&mu_);
    space_.Free(state.page, data_->PagesFor(state.size)).IgnoreError();
  };
  if (auto st = data_->WriteBlob(state, state_bytes); !st.ok()) {
    release_state();  // nothing durable refers to it; a full disk is not fatal
    return st;
  }
  if (auto st = data_->file().Sync(); !st.ok()) {
    Fail(st);
    return st;
  }
  DataFile::Header h = header_;
  h.checkpoint_no = header_.checkpoint_no + 1;
  h.last_seq = last_seq;
  h.state = state;
  h.page_count = page_count;
  if (auto st = data_->WriteHeader(h); !st.ok()) {
    Fail(st);
    return st;
  }
  if (auto st = data_->file().Sync(); !st.ok()) {
    Fail(st);
    return st;
  }
  BlobId old_state = header_.state;
  header_ = h;
  uint64_t trim;
  {
    MutexLock lock(&mu_);
    if (old_state.page != 0) {
      space_.Free(old_state.page, data_->PagesFor(old_state.size)).IgnoreError();
    }
    space_.ShrinkTail();
    trim = trim_;
  }
  // Give trailing free pages back to the file system. Past page_count they
  // are free in the state just written too, so the order is safe. Under
  // mu_: a blob reserved at the end meanwhile (a value being streamed in by
  // another thread) lies past an end read earlier, and would be cut off.
  {
    MutexLock lock(&mu_);
    const uint64_t keep_bytes = space_.end() * data_->page_size();
    auto size = data_->file().Size();
    if (size.ok() && *size > keep_bytes) data_->file().Truncate(keep_bytes).IgnoreError();
  }
  // The header is durable; now the WAL can lose what the image holds.
  absl::flat_hash_set<std::string> undecided;
  {
    MutexLock lock(&mu_);
    for (const auto& [xid, b] : prepared_) undecided.insert(xid);
  }
  return wal_->Rewrite(last_seq, [&](const WalRecordView& r) {
    if (r.type == WalRecordType::kLog) return r.seq > trim;
    if (r.type == WalRecordType::kPrepare) {
      Decoder d(r.payload);
      absl::string_view xid;
      return d.GetBytes(&xid) && undecided.contains(xid);
    }
    return false;
  });
}

absl::Status FileBackend::Open() {
  const std::string wal_path = path_ + "-wal";
  bool exists = env_->FileExists(path_);
  uint64_t size = 0;
  std::unique_ptr<File> file;
  if (exists) {
    auto f = env_->OpenFile(path_, OpenMode::kExisting);
    if (!f.ok()) return f.status();
    auto sz = (*f)->Size();
    if (!sz.ok()) return sz.status();
    size = *sz;
    file = std::move(*f);
  }
  if (size == 0) {
    // A new database (or one whose creation never finished: then nothing was
    // ever committed). Refuse to wipe a WAL that holds records.
    if (!exists && !options_.create_if_missing) {
      return absl::NotFoundError(absl::StrCat(path_, ": database does not exist"));
    }
    if (!DataFile::ValidPageSize(options_.page_size)) {
      return absl::InvalidArgumentError(
          absl::StrCat("page size ", options_.page_size, " is not a power of two in 512..65536"));
    }
    if (env_->FileExists(wal_path)) {
      std::vector<WalRecord> records;
      auto old = Wal::Open(env_, wal_path, &records);
      if (old.ok() && !records.empty()) {
        return absl::DataLossError(absl::StrCat(path_, ": data file is empty but ", wal_path,
                                                " holds ", records.size(), " records"));
      }
    }
    auto wal = Wal::Create(env_, wal_path, options_.first_log_position);
    if (!wal.ok()) return wal.status();
    wal_ = std::move(*wal);
    if (!file) {
      auto f = env_->OpenFile(path_, OpenMode::kCreateIfMissing);
      if (!f.ok()) return f.status();
      file = std::move(*f);
    }
    data_ = std::make_unique<DataFile>(std::move(file), options_.page_size);
    header_ = {options_.page_size, 1, options_.first_log_position, BlobId{},
               data_->first_blob_page()};
    if (auto st = data_->WriteHeader(header_); !st.ok()) return st;
    if (auto st = data_->file().Sync(); !st.ok()) return st;
    if (auto st = env_->SyncDir(DirName(path_)); !st.ok()) return st;
    MutexLock lock(&mu_);
    opened_ = true;
    return space_.Reset(data_->first_blob_page(), data_->first_blob_page(), {});
  }

  auto header = DataFile::ReadHeader(*file);
  if (!header.ok()) return header.status();
  header_ = *header;
  data_ = std::make_unique<DataFile>(std::move(file), header_.page_size);
  if (!env_->FileExists(wal_path)) {
    return absl::DataLossError(absl::StrCat(wal_path, ": write-ahead log is missing"));
  }
  std::vector<WalRecord> records;
  auto wal = Wal::Open(env_, wal_path, &records);
  if (!wal.ok()) return wal.status();
  wal_ = std::move(*wal);
  if (wal_->base_seq() > header_.last_seq) {
    return absl::DataLossError(
        absl::StrCat(path_, ": offset 0: the newest valid header is checkpoint ",
                     header_.checkpoint_no, " (log position ", header_.last_seq, ") but ", wal_path,
                     " starts after position ", wal_->base_seq(), ": a newer header was damaged"));
  }
  if (header_.last_seq > (uint64_t{1} << 62)) {
    return absl::DataLossError(
        absl::StrCat(path_, ": offset 24: log position ", header_.last_seq, " is impossible"));
  }
  if (wal_->last_seq() < header_.last_seq) {
    // Every record a checkpoint covers was durable in the log before the
    // checkpoint was, so a log ending before it is another file's: that of
    // the database a compacted copy replaced. Harmless when empty.
    if (!records.empty()) {
      return absl::DataLossError(absl::StrCat(
          wal_path, ": ends at log position ", wal_->last_seq(), ", before ", path_,
          "'s checkpoint at ", header_.last_seq, ": the log belongs to another database"));
    }
    if (auto st = wal_->Rewrite(header_.last_seq, [](const WalRecordView&) { return false; });
        !st.ok()) {
      return st;
    }
  }
  if (auto st = LoadState(header_); !st.ok()) return st;
  if (auto st = Replay(records); !st.ok()) return st;
  opened_ = true;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> OpenFileBackend(const std::string& path,
                                                         const FileBackendOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  auto lock = env->LockFile(path + "-lock");
  if (!lock.ok()) return lock.status();
  auto backend = std::make_unique<FileBackend>(env, path, options, std::move(*lock));
  if (auto st = backend->Open(); !st.ok()) return st;
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace sop
