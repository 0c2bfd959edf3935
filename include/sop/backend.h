// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The storage under the B-tree: a BlobStore (immutable, checksummed byte
// strings plus small named metadata records, changed in atomic batches) and a
// CommitLog (checksummed, sequence-numbered records made durable by group
// commit). OpenFileBackend() gives both over a paged data file and a
// write-ahead log; NewMemoryBackend() gives both in memory.
//
// Durability contract, common to every backend:
//  * Apply() and CommitPrepared() return OK only once the batch is durable;
//    after a crash the batch is either wholly present or wholly absent.
//  * CommitLog::Append() returns OK only once the record is durable.
//  * A failed sync is never retried as if it had worked: the backend turns
//    read-only and every later write returns the error until it is reopened,
//    which recovers from the log (DESIGN.md 2.6).
//
// Thread-safety: every method of BlobStore and CommitLog may be called from
// several threads at once. Batches are applied one at a time; log appends
// from concurrent threads share one sync.

#ifndef SOP_BACKEND_H_
#define SOP_BACKEND_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "sop/env.h"

namespace spdlog {
class logger;
}

namespace sop {

// Names a blob. For FileBackend `page` is the first page of the blob's extent
// in the data file; callers treat it as opaque and store both fields.
struct BlobId {
  uint64_t page = 0;
  uint64_t size = 0;  // bytes of content
  friend bool operator==(const BlobId&, const BlobId&) = default;
};

// An atomic set of changes to a BlobStore. Build it, then pass it to Apply()
// or Prepare(). Not thread-safe; cheap to move.
class WriteBatch {
 public:
  struct Put {
    BlobId id;
    std::string data;  // empty and `written` set when the bytes went through a BlobWriter
    bool written = false;
  };

  // Stores `data` as the content of `id`, which Reserve(data.size()) returned.
  void Put(BlobId id, std::string data);
  // Includes `id`, whose content a BlobWriter has already written.
  void PutWritten(BlobId id);
  // Deletes a blob; its space is reused once the batch is durable. The caller
  // guarantees no reader still needs it.
  void Delete(BlobId id);
  // Sets (value) or erases (std::nullopt) the metadata record `name`.
  void SetMeta(std::string name, std::optional<std::string> value);
  // Once Apply has made the batch durable, the commit log's records with seq
  // <= `upto` are no longer needed, as by CommitLog::Trim: a batch that
  // checkpoints the state those records rebuild releases them itself, before
  // the backend folds the batch in on its own (which would otherwise copy
  // them into its rewritten log). Not logged; ignored by Prepare.
  void TrimLog(uint64_t upto) { trim_log_ = upto; }
  uint64_t trim_log() const { return trim_log_; }

  bool empty() const { return puts_.empty() && deletes_.empty() && meta_.empty(); }
  const std::vector<struct Put>& puts() const { return puts_; }
  const std::vector<BlobId>& deletes() const { return deletes_; }
  const std::map<std::string, std::optional<std::string>>& meta() const { return meta_; }

 private:
  std::vector<struct Put> puts_;
  std::vector<BlobId> deletes_;
  std::map<std::string, std::optional<std::string>> meta_;
  uint64_t trim_log_ = 0;
};

// Streams the content of one large blob straight to its final place, so a
// multi-GB value is never held in memory nor written twice. Destroying an
// unfinished writer releases its space.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  // Appends the next bytes. Fails with InvalidArgument past the declared size.
  virtual absl::Status Append(absl::string_view data) = 0;
  // Requires every declared byte appended. Returns the id to pass to
  // WriteBatch::PutWritten(); the blob exists once that batch is applied.
  virtual absl::StatusOr<BlobId> Finish() = 0;
};

// Read-only bytes of a blob, valid while this object lives.
class BlobView {
 public:
  virtual ~BlobView() = default;
  virtual absl::string_view data() const = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Sets aside room for a blob of `size` bytes and names it. The space is
  // taken until a batch that puts the id is applied, or Release(id).
  // Errors: InvalidArgument (size over 2^40), the store's sticky write error.
  virtual absl::StatusOr<BlobId> Reserve(uint64_t size) = 0;
  // Gives back a reserved id that no applied batch put.
  virtual void Release(BlobId id) = 0;
  // Reserves `size` bytes and returns a writer that streams them in.
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter(uint64_t size) = 0;
  // Writes the whole content of a reserved blob now, as a finished
  // BlobWriter leaves it: readable, but neither durable nor stored until a
  // batch names it with WriteBatch::PutWritten. For a caller building a
  // batch too large to hold in memory. Errors: InvalidArgument if `id` is
  // not reserved, is already written or is not data.size() bytes; the
  // store's sticky write error; I/O errors (the blob stays reserved).
  virtual absl::Status Write(BlobId id, absl::string_view data) = 0;

  // Reads a whole blob, verifying its checksums. Errors: DataLoss naming
  // file, page and offset when the bytes are damaged; InvalidArgument for an
  // id outside the store; Unavailable on I/O errors.
  virtual absl::StatusOr<std::string> Read(BlobId id) = 0;
  // Reads dst.size() bytes at `offset` of a blob, verifying the checksum of
  // every 1 MiB chunk the range touches (so a window of a huge blob costs
  // about the window). InvalidArgument if the range is outside the blob.
  virtual absl::Status ReadRange(BlobId id, uint64_t offset, absl::Span<char> dst) = 0;

  // The whole blob without copying it where the backend can (FileBackend
  // maps its extent into memory), after verifying every checksum. The view
  // stays valid while the returned object lives, and the caller keeps the
  // blob from being deleted meanwhile.
  virtual absl::StatusOr<std::shared_ptr<const BlobView>> View(BlobId id) = 0;

  // The metadata record `name`; NotFound if unset.
  virtual absl::StatusOr<std::string> GetMeta(absl::string_view name) = 0;

  // Makes the content of every finished BlobWriter durable without storing
  // its blob (FileBackend: syncs the data file). Such a blob stays reserved
  // and reads like a stored one; a crash frees it. This is for a caller that
  // names the blob in a record of its own log and stores it (a batch with
  // WriteBatch::PutWritten) only later, claiming it back with Claim() when it
  // replays that record after a crash. Errors: the store's sticky write
  // error, or the sync's.
  virtual absl::Status SyncWritten() = 0;
  // At recovery, before anything is reserved: takes back `id`, which
  // SyncWritten() made durable before a crash, as reserved and written, as
  // its BlobWriter had left it. DataLoss if its pages are not free (the
  // caller's log and the store disagree). Harmless for a blob that is still
  // reserved and written (a store that outlived its user, as the memory
  // backend does).
  virtual absl::Status Claim(BlobId id) = 0;

  // Applies `batch` atomically and durably (one-phase). On error nothing of
  // the batch is visible now or after a crash; its reservations stay
  // reserved so the caller may retry or Release them. ResourceExhausted when
  // the disk is full: the store stays usable.
  virtual absl::Status Apply(const WriteBatch& batch) = 0;

  // Phase one of two: makes `batch` durable as prepared under the caller's
  // unique transaction id `xid`, without making it visible. It survives a
  // crash and is then listed by InDoubt(). AlreadyExists if `xid` is pending.
  virtual absl::Status Prepare(const WriteBatch& batch, absl::string_view xid) = 0;
  // Phase two: makes the prepared batch visible (durably). NotFound if no
  // batch is prepared under `xid`.
  virtual absl::Status CommitPrepared(absl::string_view xid) = 0;
  // Phase two: discards the prepared batch (durably) and frees its space.
  virtual absl::Status AbortPrepared(absl::string_view xid) = 0;
  // Ids of batches prepared and not yet decided, including those found
  // after a crash.
  virtual std::vector<std::string> InDoubt() = 0;

  // For shrinking a store that has holes: RelocationBoundary() is the page
  // from which on every stored blob sits above holes that could hold it
  // (UINT64_MAX when there are none, or the store does not place blobs by
  // page: the default). ReserveBelow(size, page) reserves room for a blob
  // in the lowest hole that fits and ends by `page`; NotFound when there is
  // none. A batch that puts a copy of a blob there and deletes the original
  // lets the store shrink.
  virtual uint64_t RelocationBoundary() { return UINT64_MAX; }
  virtual absl::StatusOr<BlobId> ReserveBelow(uint64_t size, uint64_t page) {
    (void)size;
    (void)page;
    return absl::NotFoundError("this store does not place blobs by page");
  }

  // Folds everything applied so far into the backend's base image and
  // shortens its log (FileBackend: sync the data file, write a new header,
  // rewrite the WAL keeping untrimmed log records). Backends also do this on
  // their own when their log grows and when they are closed.
  virtual absl::Status Checkpoint() = 0;
};

// One durable record of the CommitLog.
struct LogRecord {
  uint64_t seq = 0;
  std::string payload;
};

class CommitLog {
 public:
  virtual ~CommitLog() = default;

  // Appends `payload` and returns its sequence number once it is durable.
  // Threads appending at the same time share one sync (group commit); the
  // order of sequence numbers is the order in the log.
  virtual absl::StatusOr<uint64_t> Append(absl::string_view payload) = 0;

  // Append in two steps, for callers that fix the order of records under a
  // lock of their own but wait for durability outside it (so that their
  // commits can share syncs). Enqueue places the record (records are logged
  // in Enqueue order) and returns a ticket; Await(ticket), which every ticket
  // needs exactly once, returns the record's sequence number once durable.
  // After a record fails to be logged, every later one fails too until
  // Resume(): nothing reaches the log after a record that did not, so a
  // record built on a failed one can never be replayed.
  virtual absl::StatusOr<uint64_t> Enqueue(std::string payload) = 0;
  virtual absl::StatusOr<uint64_t> Await(uint64_t ticket) = 0;
  virtual void Resume() = 0;

  // Calls fn for every durable record with seq > `after`, in order. Stops at
  // and returns the first error fn returns.
  virtual absl::Status Replay(uint64_t after,
                              const std::function<absl::Status(const LogRecord&)>& fn) = 0;

  // Declares records with seq <= `upto` no longer needed; the next
  // checkpoint may drop them. Not persistent: after reopen Replay() returns
  // every record not yet dropped, and the caller skips what it has.
  virtual void Trim(uint64_t upto) = 0;

  // Sequence number of the newest durable record (0 if none ever).
  virtual uint64_t last_seq() = 0;
};

// A blob store and its commit log, opened together.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual BlobStore& blobs() = 0;
  // nullptr for a backend that commits by applying blob batches directly.
  virtual CommitLog* log() = 0;
};

struct FileBackendOptions {
  // All file access goes here; nullptr means Env::Default().
  Env* env = nullptr;
  // Page size of a new data file: a power of two from 512 to 65536. An
  // existing file keeps the page size it was created with.
  uint32_t page_size = 4096;
  // Create the files if they do not exist (else NotFound).
  bool create_if_missing = true;
  // Checkpoint once the WAL grows past this many bytes.
  uint64_t wal_checkpoint_bytes = 64ull << 20;
  // A batch whose blobs total at most this many bytes carries them in its WAL
  // record (one sync); a larger batch writes them straight to the data file
  // and syncs it first (two syncs, but no byte written twice).
  uint64_t inline_batch_bytes = 256ull << 10;
  // Where to log recovery and checkpoint events; nullptr means spdlog's default.
  std::shared_ptr<spdlog::logger> logger;
  // A new database's log starts after this position. A rewritten copy that
  // replaces a database (Database::Compact) continues the original's log
  // positions, so that the original's emptied log can never be taken for
  // one that runs ahead of the new file. Ignored for an existing database.
  uint64_t first_log_position = 0;
};

// Opens (or creates) the database files `path` (data), `path`-wal and
// `path`-lock. Recovers from the WAL: a torn tail is cut off silently;
// damage before the tail gives DataLoss naming the file and offset.
// Errors: FailedPrecondition if another process (or another open in this
// process) holds the database, naming its pid, or if `path` is not a SOP
// data file or has an unsupported format version; NotFound when absent and
// !create_if_missing; InvalidArgument for a bad page size.
absl::StatusOr<std::unique_ptr<Backend>> OpenFileBackend(const std::string& path,
                                                         const FileBackendOptions& options = {});

// A backend whose blobs and log live in memory; nothing survives its
// destruction. For tests and ephemeral databases.
std::unique_ptr<Backend> NewMemoryBackend();

}  // namespace sop

#endif  // SOP_BACKEND_H_
