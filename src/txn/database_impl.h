// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_TXN_DATABASE_IMPL_H_
#define SOP_SRC_TXN_DATABASE_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "registry/registry.h"
#include "sop/backend.h"
#include "sop/database.h"
#include "txn/format.h"
#include "txn/node_cache.h"
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

class DatabaseImpl final : public Database {
 public:
  static absl::StatusOr<std::unique_ptr<DatabaseImpl>> Open(std::unique_ptr<Backend> backend,
                                                            const Options& options);
  ~DatabaseImpl() override;

  absl::StatusOr<std::unique_ptr<Transaction>> Begin(TxnMode mode) override;
  absl::Status Checkpoint() override;
  absl::Status Verify() override;
  DatabaseStats Stats() override;

  // --- For transactions. ---
  // The version of node `id` a reader at `snapshot` sees.
  absl::StatusOr<NodePtr> ReadNode(uint64_t id, uint64_t snapshot);
  // Writer only.
  uint64_t NewNodeId() { return next_id_++; }
  uint64_t NewDup() { return ++next_dup_; }
  // Makes a write transaction durable and visible. Writer only.
  absl::Status CommitWrite(TransactionImpl& txn);
  void EndWrite(uint64_t snapshot);
  void EndRead(uint64_t snapshot);
  BlobStore& blobs() { return backend_->blobs(); }
  // The comparator named `name` (bytewise or one of Options::comparators).
  const Comparator* FindComparator(absl::string_view name) const;

 private:
  DatabaseImpl(std::unique_ptr<Backend> backend, const Options& options);
  absl::Status Recover();
  absl::Status ReplayRecord(const LogRecord& record);
  absl::Status CheckpointLocked();  // writer slot held
  void AcquireWriter();
  void ReleaseWriter();
  uint64_t OldestSnapshot();

  const std::unique_ptr<Backend> backend_;
  const Options options_;
  std::shared_ptr<spdlog::logger> logger_;
  Registry registry_;
  NodeCache cache_;

  // The writer slot: one read-write transaction (or checkpoint) at a time.
  Mutex writer_mu_;
  CondVar writer_cv_;
  bool writer_active_ ABSL_GUARDED_BY(writer_mu_) = false;

  // Snapshots in use, so reclamation knows what must stay readable.
  Mutex snap_mu_;
  std::multiset<uint64_t> live_snapshots_ ABSL_GUARDED_BY(snap_mu_);
  std::atomic<uint64_t> committed_{0};  // newest published commit version

  bool opened_ = false;  // recovery finished: closing checkpoints
  // Guarded by the writer slot.
  uint64_t next_id_ = kCatalogRoot + 1;
  uint64_t next_dup_ = 0;
  uint64_t last_lsn_ = 0;                 // newest commit-log record applied
  uint64_t log_bytes_ = 0;                // commit-log bytes since the last checkpoint
  std::atomic<uint64_t> dirty_bytes_{0};  // node bytes published since the last checkpoint
  std::map<uint64_t, BlobId> durable_;    // node id -> blob, as of the last checkpoint
  CheckpointRoot root_;                   // as of the last checkpoint
  BlobId root_blob_;
  // Blobs superseded at a commit version, freed once no snapshot that old lives.
  std::vector<std::pair<uint64_t, BlobId>> pending_frees_;
  absl::flat_hash_set<uint64_t> unpruned_;  // ids that may still hold old versions
};

}  // namespace sop

#endif  // SOP_SRC_TXN_DATABASE_IMPL_H_
