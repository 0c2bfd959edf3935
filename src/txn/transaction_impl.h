// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_SRC_TXN_TRANSACTION_IMPL_H_
#define SOP_SRC_TXN_TRANSACTION_IMPL_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "btree/btree.h"
#include "sop/transaction.h"
#include "txn/database_impl.h"
#include "txn/format.h"
#include "txn/key_set.h"

namespace sop {

// How a write is named in conflict checks: 'K' + store (length-prefixed) +
// key, or 'W' + store for a change to a whole store (created or dropped).
std::string WriteKey(absl::string_view store, absl::string_view key);
// The same into *out (its buffer reused).
void WriteKeyInto(absl::string_view store, absl::string_view key, std::string* out);
std::string WholeStoreKey(absl::string_view store);

class RawStoreImpl;

// A transaction, and the NodeSink its B-tree changes go through: nodes it
// changes are private copies (`local_`) until Commit publishes them as new
// versions in the registry.
class TransactionImpl final : public Transaction, public NodeSink {
 public:
  // `replaying`: applying a recovered commit record (or re-applying a commit
  // to the newest state); nothing is logged or tracked.
  TransactionImpl(DatabaseImpl* db, TxnMode mode, uint64_t snapshot, bool replaying = false,
                  const TxnOptions& options = {});
  ~TransactionImpl() override;

  absl::StatusOr<RawStore*> OpenStore(absl::string_view name, const StoreOptions& options) override;
  absl::Status DropStore(absl::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListStores() override;
  absl::Status Commit() override;
  absl::Status Rollback() override;
  absl::Status Prepare(absl::string_view xid) override;
  absl::Status CommitPrepared() override;
  TxnMode mode() const override { return mode_; }

  // NodeSink:
  absl::StatusOr<NodePtr> Read(uint64_t id) override;
  // Valid until the next Read(), Peek() or change: the memo holds it.
  absl::StatusOr<const Node*> Peek(uint64_t id) override;
  absl::StatusOr<Node*> Mutable(uint64_t id) override;
  uint64_t Create(Node node) override;
  void Free(uint64_t id) override;

  // A key range a cursor of a serializable transaction has read.
  struct ReadRange {
    std::string store;
    const Comparator* cmp;
    bool empty = true;                  // nothing recorded yet
    std::optional<std::string> lo, hi;  // inclusive; nullopt: unbounded
  };

  // --- For RawStoreImpl, CursorImpl and DatabaseImpl. ---
  uint64_t snapshot() const { return snapshot_; }
  bool serializable() const { return options_.serializable && !replaying_; }
  // What the transaction wrote and read, for conflict checks at commit.
  void NoteWrite(absl::string_view store, absl::string_view key);
  void NoteWholeStore(absl::string_view store);
  void NoteRead(absl::string_view store, absl::string_view key);
  std::shared_ptr<ReadRange> NewReadRange(absl::string_view store, const Comparator* cmp);
  // Aborted naming the key if a commit that wrote `committed` (a WriteKey)
  // conflicts with this transaction.
  absl::Status ConflictsWith(absl::string_view committed) const;
  const KeySet& write_keys() const { return write_keys_; }
  // The write keys, moved out for the commit history once validated: the
  // transaction needs them no more, and a copy would be made under the
  // commit lock.
  KeySet TakeWriteKeys() { return std::move(write_keys_); }
  absl::Status CheckWritable() const;
  absl::Status CheckActive() const;
  void Log(const Op& op);
  uint64_t epoch() const { return epoch_; }
  void Touch() { ++epoch_; }
  // After an error that may have left changes half made: Commit will fail.
  void Poison(absl::Status st) {
    if (poisoned_.ok()) poisoned_ = std::move(st);
  }
  DatabaseImpl* db() { return db_; }
  // The catalog entry of store `name`, if there is one.
  absl::StatusOr<std::optional<StoreMeta>> LookupStore(absl::string_view name);
  // A value blob this transaction wrote; Released if it rolls back.
  void AddValueBlob(BlobId id) { new_value_blobs_.push_back(id); }
  // A value blob that is no longer referenced once this transaction commits.
  void DropValueBlob(BlobId id);
  // A value blob written for an operation that failed: no log names it.
  void ReleaseUnloggedBlob(BlobId id);
  // Checks the catalog and every store's tree and value blobs.
  absl::Status VerifyAll(std::vector<StoreReport>* report, const ProgressFn& progress = {});
  // The database is closing with this transaction still open: from now on
  // every call fails with FailedPrecondition and nothing reaches the database.
  void Orphan() { orphaned_.store(true, std::memory_order_relaxed); }
  // Keeps `object` alive until the transaction ends (zero-copy views).
  void Pin(std::shared_ptr<const void> object) { pins_.push_back(std::move(object)); }
  // Applies one recovered operation (replay).
  absl::Status ApplyOp(const Op& op);

  const std::string& record() const { return record_; }
  const std::vector<BlobId>& new_value_blobs() const { return new_value_blobs_; }
  const std::vector<BlobId>& dropped_value_blobs() const { return dropped_value_blobs_; }
  // Replaces each changed node by `cache`'s compact copy of it, which is
  // what the commit then publishes. The transaction may go on editing them.
  void CompactChanged(const NodeCache& cache);
  // The changed nodes and the freed ids, for publishing.
  std::vector<std::pair<uint64_t, std::shared_ptr<CachedNode>>> ChangedNodes() const;
  std::vector<uint64_t> FreedNodes() const;

 private:
  absl::StatusOr<RawStore*> OpenStoreWithMeta(absl::string_view name, const StoreMeta& meta,
                                              const Comparator* cmp);
  void Finish();

  DatabaseImpl* const db_;
  const TxnMode mode_;
  const uint64_t snapshot_;
  const bool replaying_;
  bool finished_ = false;
  std::atomic<bool> orphaned_{false};  // see Orphan()
  std::string prepared_xid_;           // set once Prepare succeeded
  absl::Status poisoned_;
  const TxnOptions options_;
  const absl::Time deadline_;
  KeySet write_keys_;  // WriteKey()s
  KeySet read_keys_;   // WriteKey()s of point reads
  std::string key_;    // a WriteKey() being looked up, its buffer reused
  absl::flat_hash_set<std::string> touched_stores_;
  void Touch(absl::string_view store);
  std::vector<std::shared_ptr<ReadRange>> read_ranges_;
  uint64_t epoch_ = 0;
  BTree catalog_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<CachedNode>> local_;
  // Snapshot nodes read lately, direct-mapped by id: every descent reads the
  // root and the upper levels again, and a snapshot's nodes never change, so
  // this spares their registry lookups — and their counts, whose cache lines
  // two reading threads would otherwise pass back and forth. Room for the
  // levels above the leaves of a tree of millions of keys (a 1 M-key tree
  // has ~300 such nodes). Leaves have one slot of their own: random reads
  // rarely come back to one, and would push the upper levels out.
  struct Memo {
    uint64_t id = 0;
    NodePtr node;
  };
  std::array<Memo, 512> memo_;
  Memo leaf_memo_;
  // The memo's slot for snapshot node `id`, read into it if it holds another.
  absl::StatusOr<Memo*> Remember(uint64_t id);
  absl::flat_hash_set<uint64_t> freed_;
  std::string record_;
  std::vector<BlobId> new_value_blobs_;
  std::vector<BlobId> dropped_value_blobs_;
  std::map<std::string, std::unique_ptr<RawStoreImpl>, std::less<>> stores_;
  std::vector<std::unique_ptr<RawStoreImpl>> dropped_stores_;
  std::vector<std::shared_ptr<const void>> pins_;
};

}  // namespace sop

#endif  // SOP_SRC_TXN_TRANSACTION_IMPL_H_
