// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_DATABASE_H_
#define SOP_DATABASE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sop/options.h"
#include "sop/transaction.h"

namespace sop {

// A snapshot of a database's counters, for monitoring and tools.
struct DatabaseStats {
  uint64_t cache_bytes = 0;        // decoded clean nodes held by the node cache
  uint64_t cache_capacity = 0;     // Options::cache_bytes
  uint64_t dirty_bytes = 0;        // memory of nodes changed since the last checkpoint
  uint64_t dirty_capacity = 0;     // Options::checkpoint_dirty_bytes (its default filled in)
  uint64_t checkpoints = 0;        // checkpoints written since open
  uint64_t checkpoint_waits = 0;   // commits that waited for one: writes outran the checkpoints
  uint64_t registry_nodes = 0;     // logical node ids known to the registry
  uint64_t committed_version = 0;  // commits since open (the newest snapshot)
  uint64_t live_snapshots = 0;     // transactions holding a snapshot now
  uint64_t node_versions = 0;      // node versions kept, old ones for live snapshots included
};

// What Database::Verify found in one store.
struct StoreReport {
  std::string name;
  bool unique = true;
  std::string comparator;
  uint64_t entries = 0;
  uint64_t depth = 0;  // levels of nodes, leaves included
  uint64_t nodes = 0;
  uint64_t node_bytes = 0;     // encoded bytes of its nodes
  uint64_t node_capacity = 0;  // bytes its nodes may hold; node_bytes / node_capacity is the fill
  uint64_t value_blobs = 0;    // values stored outside the nodes, and their bytes
  uint64_t value_bytes = 0;
};

// Told, as a long operation (Backup, Compact) advances, how many bytes of
// keys and values it has done.
using ProgressFn = std::function<void(uint64_t bytes_done)>;

// A database: named stores (B-trees with copy-on-write nodes) in one data
// file with its write-ahead log. Commits are logged (one small record, one
// fdatasync); checkpoints write the changed nodes and the node registry as
// one atomic batch and shorten the log. See docs/architecture.md.
//
// Thread-safety: a Database may be used from many threads. Any number of
// read-only transactions run at once and never wait. Read-write
// transactions run at once too, optimistically: each works on its snapshot,
// and at Commit it is checked against everything committed since (keys, not
// nodes: two transactions writing different keys of one leaf both commit);
// a real conflict gives Aborted, and Update() retries for you. Concurrent
// commits share one log sync (group commit). Checkpoints due after commits
// run on a thread the database starts for them and joins when it closes
// (Options::background_checkpoints).
class Database {
 public:
  // Opens or creates the database at `path` (files `path`, `path`-wal,
  // `path`-lock), recovering from the log after a crash. Errors:
  // FailedPrecondition (held by another process, naming its pid; not a SOP
  // file), DataLoss (damaged files, naming file and offset), NotFound
  // (absent and !create_if_missing).
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        const Options& options = {});
  // A database that lives in memory and is gone when destroyed.
  static absl::StatusOr<std::unique_ptr<Database>> OpenInMemory(const Options& options = {});

  // Closing checkpoints, so the next open has nothing to replay; a database
  // with nothing committed since its last checkpoint closes without writing.
  // Transactions still open are cut off: their uncommitted changes are
  // dropped (a prepared one stays in doubt in the files), and every later
  // call on them, their stores, cursors and value readers fails with
  // FailedPrecondition. No other thread may be using the database or its
  // transactions while it is destroyed.
  virtual ~Database() = default;

  // Starts a transaction; never waits.
  virtual absl::StatusOr<std::unique_ptr<Transaction>> Begin(TxnMode mode,
                                                             const TxnOptions& options = {}) = 0;

  // Runs `fn` in a read-write transaction and commits it. When the commit
  // loses a conflict (Aborted) the whole of `fn` runs again in a fresh
  // transaction, after a jittered, growing pause, up to max_attempts times;
  // then Aborted is returned. Any other error from `fn` or Commit rolls back
  // and is returned as is. `fn` must have no effects outside the transaction.
  absl::Status Update(const std::function<absl::Status(Transaction&)>& fn,
                      const RetryOptions& retry = {});
  // Runs `fn` in a read-only transaction.
  absl::Status View(const std::function<absl::Status(Transaction&)>& fn);

  // Reads every node and every out-of-node value of every store as of now,
  // verifying every checksum and every B-tree invariant (order, separators,
  // depth, fill). DataLoss naming the store and node on the first damage.
  // Does not block writers. With `report`, also tells what each store holds;
  // `progress` is told the bytes of nodes and values checked so far.
  virtual absl::Status Verify(std::vector<StoreReport>* report = nullptr,
                              const ProgressFn& progress = {}) = 0;

  // Two-phase commit after a crash: the ids of transactions prepared and not
  // yet decided (Transaction::Prepare), and their resolution. The decisions
  // are durable when they return; NotFound if no such transaction is in doubt.
  virtual std::vector<std::string> InDoubt() = 0;
  virtual absl::Status CommitPrepared(absl::string_view xid) = 0;
  virtual absl::Status AbortPrepared(absl::string_view xid) = 0;

  // Writes a consistent copy of the database as of this call (what a
  // snapshot taken now sees) to a new database at `dest_path`, while
  // writers go on. The copy is compact: its nodes are full and it has no
  // free space. It appears at `dest_path` only once complete and durable
  // (files `dest_path` and `dest_path`-wal, to be copied together; a
  // crashed backup leaves only `dest_path`-partial files, which the next
  // backup to the same path replaces). Errors: AlreadyExists (`dest_path`
  // exists), FailedPrecondition (a store's comparator is not among
  // Options::comparators), and I/O errors.
  virtual absl::Status Backup(const std::string& dest_path, const ProgressFn& progress = {}) = 0;

  // Rewrites the database at `path`, which no one may have open, into a
  // compact file (full nodes, no free space) that replaces it atomically: a
  // crash at any moment leaves either the old file or the new one.
  // Transactions in doubt must be decided first (FailedPrecondition), and
  // stores with a custom comparator need it in `options`. Needs free disk
  // space for the copy.
  static absl::Status Compact(const std::string& path, const Options& options = {},
                              const ProgressFn& progress = {});

  // Current counters. Thread-safe; walks the node registry (O(nodes)).
  virtual DatabaseStats Stats() = 0;

  // Writes every change committed so far into the data file and shortens
  // the log. Runs on its own when the log or the changed nodes grow past
  // Options' limits (on the checkpoint thread, unless
  // Options::background_checkpoints is false), and on close. Thread-safe:
  // waits for a checkpoint already running; commits go on while it writes
  // (they go into the next one). An I/O error leaves the previous checkpoint and the log in force,
  // and the next checkpoint retries.
  virtual absl::Status Checkpoint() = 0;
};

}  // namespace sop

#endif  // SOP_DATABASE_H_
