// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The write-ahead log file, `<path>-wal`:
//
//   file header (64 bytes): magic "SOPWAL01", format version u32, zero u32,
//     base_seq u64, salt u64, zeros, checksum u64 (XXH3 of the bytes before it)
//   records, each 8-byte aligned:
//     payload_len u32, type u8, zero[3], seq u64, group_offset u64,
//     checksum u64 (XXH3 seeded with the salt, of the 24 bytes before it and
//     the payload), payload, zero padding to 8 bytes
//
// Records written by one group commit go out in one write followed by one
// fdatasync, and share `group_offset`: the file offset where that write
// began. The file is grown ahead of the records with zeros (at least
// kPreallocBytes at a time), so that most groups overwrite bytes the file
// already has and their fdatasync need not also record a new file length
// (on ext4 a journal commit, about as costly again). Zeros are no record,
// so recovery reads them as the end of the log. Recovery reads records until the first one that is
// not valid. If a valid record further on belongs to a group that began *after* the bad record, the
// bad record's group had been synced before: the bad bytes are damage, DataLoss. Otherwise they are
// a torn, never-acknowledged tail and are cut off. (A damaged last record of the last synced group
// cannot be told from a torn tail; SQLite's WAL has the same blind spot.)

#ifndef SOP_SRC_BACKEND_FILE_WAL_H_
#define SOP_SRC_BACKEND_FILE_WAL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sop/env.h"
#include "util/mutex.h"

namespace sop {

enum class WalRecordType : uint8_t {
  kLog = 1,      // a CommitLog record (opaque to the backend)
  kBatch = 2,    // a blob-store batch applied in one phase
  kPrepare = 3,  // a prepared blob-store batch (xid + batch)
  kCommit = 4,   // decision: commit the prepared batch xid
  kAbort = 5,    // decision: discard the prepared batch xid
};

struct WalRecord {
  WalRecordType type;
  uint64_t seq;
  std::string payload;
};

// A record as read, its payload in the reader's buffer: a pass over a log
// of tens of megabytes does not copy every payload out of it.
struct WalRecordView {
  WalRecordType type;
  uint64_t seq;
  absl::string_view payload;
};

class Wal {
 public:
  static constexpr uint64_t kHeaderSize = 64;
  static constexpr uint64_t kPreallocBytes = 256 << 10;

  // Creates (or replaces) the file at `path` holding only a header; synced.
  // The caller syncs the directory.
  static absl::StatusOr<std::unique_ptr<Wal>> Create(Env* env, const std::string& path,
                                                     uint64_t base_seq);

  // Opens an existing log, returns its valid records in *records, and cuts
  // a torn tail off the file. DataLoss on damage before the tail or in the
  // header; FailedPrecondition if the file is not a SOP WAL.
  static absl::StatusOr<std::unique_ptr<Wal>> Open(Env* env, const std::string& path,
                                                   std::vector<WalRecord>* records);

  ~Wal();

  // Appends one record and waits until it is durable. Concurrent callers are
  // written and synced together. Returns the record's sequence number. A
  // failed sync makes every later Append fail with the same error.
  absl::StatusOr<uint64_t> Append(WalRecordType type, std::string payload);
  // Append in two steps: Enqueue fixes the record's place in the log (the
  // order of Enqueue calls) without waiting; Await(ticket) waits until it is
  // durable and returns its sequence number. Every ticket must be awaited.
  // After a record fails to be written, every later one fails too until
  // Resume(), so nothing reaches the log after a record that did not.
  uint64_t Enqueue(WalRecordType type, std::string payload);
  absl::StatusOr<uint64_t> Await(uint64_t ticket);
  void Resume();

  // Replaces the log by a new file holding the records `keep` selects, with
  // base_seq `base_seq`: written to `path`.tmp, synced, renamed over the log,
  // directory synced. Appends go on while it copies the records already
  // synced, and wait only while it copies those appended meanwhile and
  // renames. `keep` runs on the calling thread and must not call into the log.
  absl::Status Rewrite(uint64_t base_seq, const std::function<bool(const WalRecordView&)>& keep);

  // Reads every record currently in the log, in order. A record's payload
  // is valid only during the call that receives it.
  absl::Status ForEach(const std::function<absl::Status(const WalRecordView&)>& fn);

  uint64_t base_seq() const;
  uint64_t last_seq() const;    // newest durable record's seq, or base_seq
  uint64_t size() const;        // bytes of header and records (not the zeros ahead)
  absl::Status health() const;  // OK, or the sticky error of a failed sync

 private:
  struct Writer;
  Wal(Env* env, std::string path, std::unique_ptr<File> file, uint64_t base_seq, uint64_t salt,
      uint64_t end, uint64_t last_seq);
  static absl::Status Parse(const std::string& path, absl::string_view content, uint64_t* base_seq,
                            uint64_t* salt, uint64_t* end, std::vector<WalRecordView>* records);
  static absl::StatusOr<std::string> ReadAll(File& file);
  // Checks the header of `file`, a log `end` bytes long, for a pass over it.
  absl::Status ReadHeader(File& file, uint64_t end, uint64_t* base_seq, uint64_t* salt) const;
  void Lead() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env* const env_;
  const std::string path_;
  Mutex rewrite_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one Rewrite at a time
  mutable Mutex mu_;
  std::unique_ptr<File> file_ ABSL_GUARDED_BY(mu_);
  uint64_t base_seq_ ABSL_GUARDED_BY(mu_);
  uint64_t salt_ ABSL_GUARDED_BY(mu_);
  uint64_t end_ ABSL_GUARDED_BY(mu_);       // where the next group goes
  uint64_t size_ ABSL_GUARDED_BY(mu_);      // the file's length: zeros from end_ on
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_);  // last durable seq
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);  // next seq to hand out
  absl::Status health_ ABSL_GUARDED_BY(mu_);
  absl::Status blocked_ ABSL_GUARDED_BY(mu_);  // a write failed: refuse until Resume()
  uint64_t last_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::shared_ptr<Writer>> writers_ ABSL_GUARDED_BY(mu_);
  bool leader_active_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::shared_ptr<Writer>> queue_ ABSL_GUARDED_BY(mu_);
  CondVar idle_;  // signalled when a leader finishes (Rewrite waits for it)
  size_t expected_group_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::microseconds sync_estimate_ ABSL_GUARDED_BY(mu_){200};
  // When the active leader's sync should be over.
  std::chrono::steady_clock::time_point lead_ends_ ABSL_GUARDED_BY(mu_);
  // Bumped when a committer queues and when a lead starts or ends: what a
  // committer yielding without mu_ watches for.
  std::atomic<uint64_t> changes_{0};
};

}  // namespace sop

#endif  // SOP_SRC_BACKEND_FILE_WAL_H_
