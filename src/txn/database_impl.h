// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_TXN_DATABASE_IMPL_H_
#define SOP_SRC_TXN_DATABASE_IMPL_H_

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "registry/registry.h"
#include "sop/backend.h"
#include "sop/database.h"
#include "txn/format.h"
#include "txn/key_set.h"
#include "txn/node_cache.h"
#include "util/huge_page_arena.h"
#include "util/mutex.h"

namespace spdlog {
class logger;
}

namespace sop {

class TransactionImpl;

// The encoded size a node may reach before it is split: one page of the
// data file minus the blob header, less slack for the size estimate.
inline constexpr size_t kMaxNodeBytes = 4000;
// The logical id of the catalog store's root (the root of the store of stores).
inline constexpr uint64_t kCatalogRoot = 1;

// The file backend's settings a database opened with `options` uses.
FileBackendOptions FileBackendOptionsOf(const Options& options);

class DatabaseImpl final : public Database {
 public:
  static absl::StatusOr<std::unique_ptr<DatabaseImpl>> Open(std::unique_ptr<Backend> backend,
                                                            const Options& options);
  ~DatabaseImpl() override;

  absl::StatusOr<std::unique_ptr<Transaction>> Begin(TxnMode mode,
                                                     const TxnOptions& options) override;
  absl::Status Checkpoint() override;
  absl::Status Verify(std::vector<StoreReport>* report = nullptr,
                      const ProgressFn& progress = {}) override;
  DatabaseStats Stats() override;
  std::vector<std::string> InDoubt() override;
  absl::Status CommitPrepared(absl::string_view xid) override;
  absl::Status AbortPrepared(absl::string_view xid) override;
  absl::Status Backup(const std::string& dest_path, const ProgressFn& progress) override;
  // Closing will write nothing, not even its checkpoint: Compact swaps the
  // data file from under this database (keeping its log) before it closes.
  void CloseWithoutCheckpoint();
  // Phase one for `txn` (Transaction::Prepare).
  absl::Status PrepareWrite(TransactionImpl& txn, absl::string_view xid);

  // --- For transactions. ---
  // The version of node `id` a reader at `snapshot` sees.
  absl::StatusOr<NodePtr> ReadNode(uint64_t id, uint64_t snapshot);
  uint64_t NewNodeId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t NewDup() { return next_dup_.fetch_add(1, std::memory_order_relaxed) + 1; }
  // Validates a write transaction against what committed since its
  // snapshot, applies it to the newest state, logs it (sharing the sync with
  // concurrent committers) and publishes it in log order.
  absl::Status CommitWrite(TransactionImpl& txn);
  void EndTransaction(TransactionImpl* txn, uint64_t snapshot);
  // Comparators met in StoreOptions, so that commits re-applied to the newest
  // state find them by name.
  void LearnComparator(const Comparator* cmp);
  BlobStore& blobs() { return backend_->blobs(); }
  const NodeCache& cache() const { return cache_; }
  // Reads of blobs the database itself names (nodes, values, registry
  // pages): the store's InvalidArgument for an id outside it means the
  // database's own records are damaged, so it is reported as DataLoss.
  absl::StatusOr<std::string> ReadStored(BlobId id);
  absl::Status ReadStoredRange(BlobId id, uint64_t offset, absl::Span<char> dst);
  absl::StatusOr<std::shared_ptr<const BlobView>> ViewStored(BlobId id);
  CommitLog& log() { return *backend_->log(); }
  const Options& options() const { return options_; }
  // The comparator named `name` (bytewise or one of Options::comparators).
  const Comparator* FindComparator(absl::string_view name) const;

 private:
  DatabaseImpl(std::unique_ptr<Backend> backend, const Options& options);
  absl::Status Recover();
  absl::Status ReplayRecord(const LogRecord& record);
  // Writes a checkpoint of the newest commit. Needs commit_mu_ with no
  // commit in flight (DrainLocked), and lets go of it while it writes, so
  // that commits go on meanwhile (decision 0012).
  // `move_budget` > 0 only on close, with no snapshot live: the checkpoint
  // also moves up to that many bytes of nodes stored above holes down into
  // them, and adds what it moved to *moved.
  absl::Status CheckpointLocked(uint64_t move_budget = 0, uint64_t* moved = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_, commit_mu_);
  // Waits until every enqueued commit has finished; after a failed commit,
  // removes the versions of those that did not reach the log.
  void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // DrainLocked(), but only after a failed commit.
  void DrainIfFailedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // A transaction's large values are synced, not stored, before the commit
  // or prepare record that names them: the record claims them on replay,
  // and the next checkpoint stores them (unrecorded_). A crash before the
  // record leaves them free.
  absl::Status SyncValues(const TransactionImpl& txn);
  // Frees (at the next checkpoint) the stored values of the operations of an
  // aborted prepared transaction. Call under snap_mu_, or while recovering.
  void FreeValuesOf(absl::string_view ops);
  uint64_t OldestSnapshot();
  // What the commits after `snapshot` wrote, or what a prepared transaction
  // holds, conflicts with what `txn` wrote (or read, if serializable)?
  // Aborted naming the key if so.
  absl::Status Validate(const TransactionImpl& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // The common tail of every commit, in two steps. Under commit_mu_: apply
  // `ops` to the newest state (or take `own`'s private copies when nothing
  // committed since its snapshot), install the result as the next version
  // (invisible yet) and place `record` in the log. Then, without the lock:
  // wait for durability with the other committers and publish in log order.
  // `deciding` names the prepared transaction this commits, if any.
  struct Pending {
    uint64_t version = 0, ticket = 0;
    std::string deciding;
    // Written node versions no snapshot sees any more: their cache entries
    // go once the commit lock is released.
    std::vector<BlobId> uncached;
  };
  // What publishing a logged commit changes.
  struct Unpublished {
    uint64_t version = 0, changed_bytes = 0, record_bytes = 0;
    std::vector<BlobId> dropped;  // value blobs its changes superseded
    std::vector<BlobId> added;    // synced value blobs its record names
  };
  absl::StatusOr<Pending> ApplyAndEnqueueLocked(TransactionImpl* own, absl::string_view ops,
                                                KeySet keys, std::string record,
                                                absl::string_view deciding)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  absl::Status AwaitAndPublish(const Pending& p);
  // The log or the changed nodes have grown past `times` their threshold.
  bool CheckpointDue(uint64_t times) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(snap_mu_);
  // Writes a checkpoint if one is still due, logging a failure: the commits
  // that asked for it are durable already, and a later one asks again.
  void CheckpointIfDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);
  // The checkpoint thread's body: CheckpointIfDue() whenever asked, until
  // StopCheckpointer().
  void CheckpointLoop();
  // Stops the checkpoint thread for good, after the checkpoint it writes.
  void StopCheckpointer();
  // Applies logged operations as the next version (recovery).
  // `claim`: the record names the synced values it added (a commit record;
  // a decision's values were claimed with its prepare record).
  absl::Status ReplayOps(absl::string_view ops, uint64_t lsn, bool claim);
  // Takes back from the blob store the synced values a replayed record names.
  absl::Status ClaimValues(const std::vector<Op>& ops, uint64_t lsn);

  const std::unique_ptr<Backend> backend_;
  const Options options_;
  std::shared_ptr<spdlog::logger> logger_;
  // The cache's nodes; each cache entry keeps it alive.
  const std::shared_ptr<HugePageArena> node_memory_ = std::make_shared<HugePageArena>();
  Registry registry_;
  NodeCache cache_;

  // One checkpoint at a time. It owns durable_, root_, root_blob_ and
  // unpruned_, and writes while commits go on.
  Mutex checkpoint_mu_ ABSL_ACQUIRED_BEFORE(commit_mu_);

  // Commits: validation, application to the newest state, and placing the
  // record in the log happen under commit_mu_, one commit at a time; waiting
  // for the sync and publishing happen outside it, so commits share syncs.
  Mutex commit_mu_ ABSL_ACQUIRED_BEFORE(snap_mu_);
  uint64_t installed_ ABSL_GUARDED_BY(commit_mu_) = 0;  // newest version in the registry
  struct CommitKeys {
    uint64_t version;
    KeySet keys;                  // WriteKey()s
    std::vector<uint64_t> nodes;  // ids it published, to take back on failure
  };
  std::deque<CommitKeys> history_ ABSL_GUARDED_BY(commit_mu_);
  // Prepared, undecided transactions (two-phase commit): they hold their keys.
  struct Prepared {
    std::string ops;
    KeySet keys;
    uint64_t lsn = 0;  // of the prepare record: the log is kept from here
    bool deciding = false;
  };
  std::map<std::string, Prepared, std::less<>> prepared_ ABSL_GUARDED_BY(commit_mu_);

  // Snapshots in use (so reclamation knows what must stay readable), and the
  // publishing of commits in log order.
  Mutex snap_mu_;
  CondVar published_cv_;
  std::multiset<uint64_t> live_snapshots_ ABSL_GUARDED_BY(snap_mu_);
  // Open transactions the application holds, orphaned if it closes the
  // database before it ends them.
  absl::flat_hash_set<TransactionImpl*> live_txns_ ABSL_GUARDED_BY(snap_mu_);
  std::atomic<uint64_t> committed_{0};          // newest durable, visible commit version
  int inflight_ ABSL_GUARDED_BY(snap_mu_) = 0;  // enqueued, not yet finished
  // Commits in the log, not yet visible, oldest first. The log syncs in
  // order, so the first committer to learn its record is durable publishes
  // every commit up to its own: the members of a group commit do not wake
  // one another in turn.
  std::deque<Unpublished> unpublished_ ABSL_GUARDED_BY(snap_mu_);
  bool pipeline_failed_ ABSL_GUARDED_BY(snap_mu_) = false;
  // Options::background_checkpoints: the thread, started by the first
  // commit that finds a checkpoint due, and how commits ask it for one.
  std::thread checkpointer_ ABSL_GUARDED_BY(snap_mu_);
  CondVar checkpoint_cv_;
  bool checkpoint_wanted_ ABSL_GUARDED_BY(snap_mu_) = false;
  bool checkpointer_stopped_ ABSL_GUARDED_BY(snap_mu_) = false;

  Mutex comparators_mu_;
  absl::flat_hash_map<std::string, const Comparator*> comparators_ ABSL_GUARDED_BY(comparators_mu_);

  bool opened_ = false;  // recovery finished: closing checkpoints
  std::atomic<uint64_t> next_id_{kCatalogRoot + 1};
  std::atomic<uint64_t> next_dup_{0};
  // Updated when publishing (under snap_mu_); read by checkpoints, which
  // start under commit_mu_ with no commit in flight.
  uint64_t last_lsn_ = 0;                 // newest commit-log record applied
  uint64_t log_bytes_ = 0;                // commit-log bytes since the last checkpoint
  uint64_t checkpoint_lsn_ = 0;           // newest commit the last checkpoint holds
  std::atomic<uint64_t> dirty_bytes_{0};  // growth of unwritten nodes since the last checkpoint
  std::atomic<uint64_t> checkpoints_{0};  // written since open
  std::atomic<uint64_t> checkpoint_waits_{0};  // commits that found one overdue
  absl::btree_map<uint64_t, BlobId> durable_;  // node id -> blob, as of the last checkpoint
  CheckpointRoot root_;                        // as of the last checkpoint
  BlobId root_blob_;
  // Blobs superseded at a commit version, freed once no snapshot that old
  // lives. Publishers append under snap_mu_.
  std::vector<std::pair<uint64_t, BlobId>> pending_frees_;
  // Value blobs named by published commit records and not yet stored: the
  // blob store holds them as reservations, the next checkpoint stores them
  // (or releases those freed by then). Publishers append under snap_mu_.
  std::vector<BlobId> unrecorded_;
  absl::flat_hash_set<uint64_t> unpruned_;  // ids that may still hold old versions
};

}  // namespace sop

#endif  // SOP_SRC_TXN_DATABASE_IMPL_H_
