// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Commit: the transaction's operations go to the commit log as one record
// (one sync, shared with concurrent committers); then its private node
// copies are published in the registry as the next version. Nothing else is
// written: the changed nodes stay in memory, dirty.
//
// Checkpoint: every dirty node version is written as a new blob; the
// registry pages covering the changed ids and a new checkpoint root are
// written; blobs no snapshot needs any more are deleted; the metadata
// records "sop.root" and "sop.lsn" (the newest commit included) are set —
// all in one atomic blob-store batch. Then the log is trimmed.
//
// Open: load the registry from the checkpoint root, then replay every
// commit record after "sop.lsn" through the same code a live commit ran.

#include "txn/database_impl.h"

#include <algorithm>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"
#include "txn/transaction_impl.h"

namespace sop {
namespace {

constexpr char kRootMeta[] = "sop.root";
constexpr char kLsnMeta[] = "sop.lsn";
constexpr char kReplayFromMeta[] = "sop.replay_from";
// Blobs a checkpoint left to free once older snapshots end: a crash ends
// them all, so the next open frees these (concatenated 16-byte blob ids).
constexpr char kWaitingFreesMeta[] = "sop.waiting_frees";

class BytewiseComparatorImpl final : public Comparator {
 public:
  int Compare(absl::string_view a, absl::string_view b) const override { return a.compare(b); }
  const char* Name() const override { return "sop.bytewise"; }
};

// The value blobs (outside the nodes) that `ops` name; false if a reference
// is malformed.
bool ValueBlobsOf(const std::vector<Op>& ops, std::vector<BlobId>* ids) {
  for (const Op& op : ops) {
    if (op.kind != ValueKind::kBlob) continue;
    BlobId id;
    if (!DecodeBlobId(op.value, &id)) return false;
    ids->push_back(id);
  }
  return true;
}

// An id the database names lies outside the blob store: its records are
// damaged (or hostile), which is data loss, not a caller's mistake.
absl::Status StoredBlobError(absl::Status st) {
  if (!absl::IsInvalidArgument(st)) return st;
  return absl::DataLossError(
      absl::StrCat("the database names a blob it does not hold: ", st.message()));
}

// `options` with its derived defaults filled in.
Options Resolved(Options options) {
  if (options.checkpoint_dirty_bytes == 0) {
    options.checkpoint_dirty_bytes = std::max<uint64_t>(options.cache_bytes / 4, 32ull << 20);
  }
  return options;
}

}  // namespace

const Comparator* BytewiseComparator() {
  static const BytewiseComparatorImpl* cmp = new BytewiseComparatorImpl;
  return cmp;
}

FileBackendOptions FileBackendOptionsOf(const Options& options) {
  FileBackendOptions fo;
  fo.env = options.env;
  fo.create_if_missing = options.create_if_missing;
  fo.logger = options.logger;
  fo.inline_batch_bytes = options.checkpoint_inline_bytes;
  return fo;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                         const Options& options) {
  auto backend = OpenFileBackend(path, FileBackendOptionsOf(options));
  if (!backend.ok()) return backend.status();
  auto db = DatabaseImpl::Open(std::move(*backend), options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Database>(std::move(*db));
}

absl::StatusOr<std::unique_ptr<Database>> Database::OpenInMemory(const Options& options) {
  auto db = DatabaseImpl::Open(NewMemoryBackend(), options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Database>(std::move(*db));
}

DatabaseImpl::DatabaseImpl(std::unique_ptr<Backend> backend, const Options& options)
    : backend_(std::move(backend)),
      options_(Resolved(options)),
      cache_(options.cache_bytes, node_memory_) {
  logger_ = options_.logger ? options_.logger
                            : std::make_shared<spdlog::logger>("sop", spdlog::sinks_init_list{});
}

absl::StatusOr<std::unique_ptr<DatabaseImpl>> DatabaseImpl::Open(std::unique_ptr<Backend> backend,
                                                                 const Options& options) {
  if (backend->log() == nullptr) {
    return absl::InvalidArgumentError("the database needs a backend with a commit log");
  }
  std::unique_ptr<DatabaseImpl> db(new DatabaseImpl(std::move(backend), options));
  absl::Status st;
  {
    MutexLock serial(&db->checkpoint_mu_);
    MutexLock lock(&db->commit_mu_);
    st = db->Recover();
  }
  if (!st.ok()) {
    db->opened_ = false;
    return st;
  }
  return db;
}

DatabaseImpl::~DatabaseImpl() {
  StopCheckpointer();
  if (!opened_) return;
  {
    // Transactions the application still holds fail cleanly from now on
    // instead of reaching a database that is gone. What they changed is
    // dropped; a prepared one stays in doubt in the files.
    MutexLock snap(&snap_mu_);
    for (TransactionImpl* txn : live_txns_) txn->Orphan();
    live_txns_.clear();
    live_snapshots_.clear();
  }
  MutexLock serial(&checkpoint_mu_);
  MutexLock lock(&commit_mu_);
  DrainLocked();
  // Nothing committed since the last checkpoint and nothing waiting to be
  // freed: the files say everything already, and closing stays quick.
  if (checkpoint_lsn_ == last_lsn_ && pending_frees_.empty() && unrecorded_.empty()) return;
  absl::Status st = CheckpointLocked();
  // The old copies checkpoints replaced are holes now: more checkpoints move
  // the nodes above them down, one checkpoint's worth of bytes at a time
  // and a few of those at most, so that the file shrinks by the holes.
  const uint64_t per_round = std::min<uint64_t>(options_.checkpoint_dirty_bytes, 32ull << 20);
  uint64_t budget = std::max<uint64_t>(4 * per_round, 64 << 20);
  for (int round = 0; round < 8 && st.ok() && budget > 0; ++round) {
    uint64_t moved = 0;
    st = CheckpointLocked(std::min(budget, per_round), &moved);
    if (moved == 0) break;
    budget -= std::min(budget, moved);
  }
  if (!st.ok()) logger_->warn("checkpoint on close failed: {}", st.ToString());
}

void DatabaseImpl::CloseWithoutCheckpoint() {
  StopCheckpointer();
  MutexLock lock(&commit_mu_);
  opened_ = false;
}

const Comparator* DatabaseImpl::FindComparator(absl::string_view name) const {
  if (name == BytewiseComparator()->Name()) return BytewiseComparator();
  for (const Comparator* c : options_.comparators) {
    if (c != nullptr && name == c->Name()) return c;
  }
  MutexLock lock(const_cast<Mutex*>(&comparators_mu_));
  auto it = comparators_.find(name);
  return it == comparators_.end() ? nullptr : it->second;
}

void DatabaseImpl::LearnComparator(const Comparator* cmp) {
  // FindComparator knows the byte-wise one: every transaction's OpenStore
  // would otherwise take this lock.
  if (cmp == BytewiseComparator()) return;
  MutexLock lock(&comparators_mu_);
  comparators_.emplace(cmp->Name(), cmp);
}

uint64_t DatabaseImpl::OldestSnapshot() {
  MutexLock lock(&snap_mu_);
  uint64_t committed = committed_.load(std::memory_order_acquire);
  return live_snapshots_.empty() ? committed : std::min(*live_snapshots_.begin(), committed);
}

absl::StatusOr<std::unique_ptr<Transaction>> DatabaseImpl::Begin(TxnMode mode,
                                                                 const TxnOptions& options) {
  uint64_t snapshot;
  {
    MutexLock lock(&snap_mu_);
    snapshot = committed_.load(std::memory_order_acquire);
    live_snapshots_.insert(snapshot);
  }
  auto txn = std::make_unique<TransactionImpl>(this, mode, snapshot, /*replaying=*/false, options);
  MutexLock lock(&snap_mu_);
  live_txns_.insert(txn.get());
  return std::unique_ptr<Transaction>(std::move(txn));
}

void DatabaseImpl::EndTransaction(TransactionImpl* txn, uint64_t snapshot) {
  MutexLock lock(&snap_mu_);
  auto it = live_snapshots_.find(snapshot);
  if (it != live_snapshots_.end()) live_snapshots_.erase(it);
  live_txns_.erase(txn);
}

absl::Status Database::Update(const std::function<absl::Status(Transaction&)>& fn,
                              const RetryOptions& retry) {
  absl::Duration backoff = retry.initial_backoff;
  absl::Status last;
  for (int attempt = 0; attempt < std::max(1, retry.max_attempts); ++attempt) {
    if (attempt > 0) {
      // Jitter spreads retries of transactions that collided together.
      // std, not absl::BitGen: Debian's Abseil is not built for TSan (decision 0004).
      thread_local std::minstd_rand jitter(std::random_device{}());
      absl::SleepFor(backoff * (0.5 + static_cast<double>(jitter() % 1000) / 1000.0));
      backoff = std::min(backoff * 2, retry.max_backoff);
    }
    auto txn = Begin(TxnMode::kReadWrite, retry.txn);
    if (!txn.ok()) return txn.status();
    absl::Status st = fn(**txn);
    if (st.ok()) st = (*txn)->Commit();
    if (st.ok()) return st;
    (*txn)->Rollback().IgnoreError();
    if (!absl::IsAborted(st)) return st;
    last = st;
  }
  return absl::AbortedError(
      absl::StrCat("gave up after ", retry.max_attempts, " attempts: ", last.message()));
}

absl::Status Database::View(const std::function<absl::Status(Transaction&)>& fn) {
  auto txn = Begin(TxnMode::kReadOnly, {});
  if (!txn.ok()) return txn.status();
  absl::Status st = fn(**txn);
  (*txn)->Commit().IgnoreError();
  return st;
}

absl::StatusOr<NodePtr> DatabaseImpl::ReadNode(uint64_t id, uint64_t snapshot) {
  BlobId blob;
  auto resolved = registry_.Resolve(id, snapshot, &blob);
  if (!resolved.ok()) {
    return absl::DataLossError(
        absl::StrCat("B-tree refers to a missing node: ", resolved.status().message()));
  }
  if (*resolved) return *resolved;
  auto bytes = ReadStored(blob);
  if (!bytes.ok()) return bytes.status();
  std::shared_ptr<CachedNode> entry = cache_.NewEntry(Node::DecodedBytes(*bytes));
  auto node = DecodeNode(*bytes, "", &entry->memory);
  if (!node.ok()) {
    return absl::DataLossError(
        absl::StrCat("node ", id, " (blob at page ", blob.page, ")", node.status().message()));
  }
  entry->node = *std::move(node);  // the same resource: the buffers move, not their bytes
  if (cache_.Insert(blob.page, entry) != nullptr) registry_.NoteCached(id, blob, entry);
  return CachedNode::Share(std::move(entry));
}

absl::StatusOr<std::string> DatabaseImpl::ReadStored(BlobId id) {
  auto bytes = backend_->blobs().Read(id);
  if (!bytes.ok()) return StoredBlobError(bytes.status());
  return bytes;
}

absl::Status DatabaseImpl::ReadStoredRange(BlobId id, uint64_t offset, absl::Span<char> dst) {
  return StoredBlobError(backend_->blobs().ReadRange(id, offset, dst));
}

absl::StatusOr<std::shared_ptr<const BlobView>> DatabaseImpl::ViewStored(BlobId id) {
  auto view = backend_->blobs().View(id);
  if (!view.ok()) return StoredBlobError(view.status());
  return view;
}

absl::Status DatabaseImpl::Validate(const TransactionImpl& txn) {
  for (auto it = history_.rbegin(); it != history_.rend() && it->version > txn.snapshot(); ++it) {
    for (absl::string_view key : it->keys) {
      if (auto st = txn.ConflictsWith(key); !st.ok()) return st;
    }
  }
  for (const auto& [xid, p] : prepared_) {
    for (absl::string_view key : p.keys) {
      if (auto st = txn.ConflictsWith(key); !st.ok()) {
        return absl::AbortedError(
            absl::StrCat("conflict with prepared transaction ", xid, ": ", st.message()));
      }
    }
  }
  return absl::OkStatus();
}

void DatabaseImpl::DrainLocked() {
  MutexLock lock(&snap_mu_);
  while (inflight_ > 0) published_cv_.Wait(&snap_mu_);
  if (!pipeline_failed_) return;
  // Commits after the failed one never reached the log: take them back.
  uint64_t committed = committed_.load(std::memory_order_relaxed);
  while (!history_.empty() && history_.back().version > committed) {
    registry_.Unpublish(history_.back().version, history_.back().nodes);
    history_.pop_back();
  }
  installed_ = committed;
  unpublished_.clear();
  pipeline_failed_ = false;
  backend_->log()->Resume();
}

void DatabaseImpl::DrainIfFailedLocked() {
  bool failed;
  {
    MutexLock snap(&snap_mu_);
    failed = pipeline_failed_;
  }
  if (failed) DrainLocked();
}

absl::Status DatabaseImpl::SyncValues(const TransactionImpl& txn) {
  // Large values first: durable before the record that refers to them. They
  // stay reservations, which a refused commit's rollback gives back and a
  // crash frees, until the record claims them.
  if (txn.new_value_blobs().empty()) return absl::OkStatus();
  return backend_->blobs().SyncWritten();
}

absl::StatusOr<DatabaseImpl::Pending> DatabaseImpl::ApplyAndEnqueueLocked(
    TransactionImpl* own, absl::string_view ops, KeySet keys, std::string record,
    absl::string_view deciding) {
  Pending p;
  Unpublished u;
  std::vector<std::pair<uint64_t, std::shared_ptr<CachedNode>>> nodes;
  std::vector<uint64_t> freed;
  auto copies_current = [&] {
    // The private copies are current unless a commit since the snapshot
    // changed one of the nodes they were copied from (or freed).
    if (installed_ == own->snapshot()) return true;
    absl::flat_hash_set<uint64_t> mine;
    for (const auto& [id, node] : own->ChangedNodes()) mine.insert(id);
    for (uint64_t id : own->FreedNodes()) mine.insert(id);
    for (auto it = history_.rbegin(); it != history_.rend() && it->version > own->snapshot();
         ++it) {
      for (uint64_t id : it->nodes) {
        if (mine.contains(id)) return false;
      }
    }
    return true;
  };
  if (own != nullptr && copies_current()) {
    // No commit since the snapshot touched these nodes: publish the copies.
    nodes = own->ChangedNodes();
    freed = own->FreedNodes();
    u.dropped = own->dropped_value_blobs();
  } else {
    // Others committed meanwhile (to other keys, or validation would have
    // refused): apply the operations to the newest nodes.
    TransactionImpl again(this, TxnMode::kReadWrite, installed_, /*replaying=*/true);
    std::vector<Op> decoded;
    if (!DecodeOps(ops, &decoded)) return absl::InternalError("commit operations are malformed");
    for (const Op& op : decoded) {
      if (auto st = again.ApplyOp(op); !st.ok()) {
        return absl::Status(
            st.code(), absl::StrCat("applying the commit to the newest state: ", st.message()));
      }
    }
    nodes = again.ChangedNodes();
    freed = again.FreedNodes();
    u.dropped = again.dropped_value_blobs();
    again.Rollback().IgnoreError();  // its work is taken; this only ends it
  }
  u.record_bytes = record.size();
  if (own != nullptr) u.added = own->new_value_blobs();
  auto ticket = backend_->log()->Enqueue(std::move(record));
  if (!ticket.ok()) return ticket.status();
  p.ticket = *ticket;
  p.version = installed_ + 1;
  p.deciding = std::string(deciding);
  uint64_t oldest = OldestSnapshot();
  // Invisible until committed_ reaches it.
  u.changed_bytes = registry_.Publish(p.version, nodes, freed, oldest, &p.uncached);
  installed_ = p.version;
  CommitKeys entry{p.version, std::move(keys), {}};
  for (const auto& [id, node] : nodes) entry.nodes.push_back(id);
  entry.nodes.insert(entry.nodes.end(), freed.begin(), freed.end());
  history_.push_back(std::move(entry));
  while (!history_.empty() && history_.front().version <= oldest) {
    // Every snapshot is at or past this commit: the versions it superseded
    // are hidden now. Dropped here, not at the next checkpoint, so that a
    // leaf each commit changes does not hold two copies until then.
    for (uint64_t id : history_.front().nodes) registry_.Trim(id, oldest, &p.uncached);
    history_.pop_front();
  }
  if (!p.deciding.empty()) prepared_[p.deciding].deciding = true;
  u.version = p.version;
  MutexLock snap(&snap_mu_);
  unpublished_.push_back(std::move(u));
  ++inflight_;
  return p;
}

absl::Status DatabaseImpl::AwaitAndPublish(const Pending& p) {
  // While the log syncs. The node cache would keep them until the
  // checkpoint that frees their blobs.
  for (const BlobId& blob : p.uncached) cache_.Erase(blob.page);
  auto lsn = backend_->log()->Await(p.ticket);
  bool checkpoint, overdue;
  if (!lsn.ok()) {
    {
      // Every commit enqueued after this one fails too; the next commit
      // takes back the versions they installed (DrainLocked).
      MutexLock snap(&snap_mu_);
      pipeline_failed_ = true;
      --inflight_;
      published_cv_.SignalAll();
    }
    if (!p.deciding.empty()) {
      MutexLock lock(&commit_mu_);
      prepared_[p.deciding].deciding = false;  // still prepared: decide again
    }
    return lsn.status();
  }
  {
    MutexLock lock(&snap_mu_);
    // Every record before this one is durable too: publish them all, in log
    // order, unless a later member of the same sync already did.
    while (!unpublished_.empty() && unpublished_.front().version <= p.version) {
      Unpublished& u = unpublished_.front();
      for (const BlobId& id : u.dropped) pending_frees_.emplace_back(u.version, id);
      unrecorded_.insert(unrecorded_.end(), u.added.begin(), u.added.end());
      dirty_bytes_ += u.changed_bytes;
      log_bytes_ += u.record_bytes;
      committed_.store(u.version, std::memory_order_release);
      unpublished_.pop_front();
    }
    last_lsn_ = std::max(last_lsn_, *lsn);
    if (--inflight_ == 0) published_cv_.SignalAll();  // DrainLocked waits for none in flight
    checkpoint = CheckpointDue(1);
    overdue = CheckpointDue(2);
    if (checkpoint && !overdue && options_.background_checkpoints) {
      if (!checkpointer_.joinable() && !checkpointer_stopped_) {
        checkpointer_ = std::thread([this] { CheckpointLoop(); });
      }
      checkpoint_wanted_ = true;
      checkpoint_cv_.Signal();
      checkpoint = false;
    }
  }
  if (!p.deciding.empty()) {
    MutexLock lock(&commit_mu_);
    prepared_.erase(p.deciding);
  }
  if (overdue) {
    // Commits outrun the checkpoints: this one waits for the checkpoint
    // that is writing, and writes the next itself.
    checkpoint_waits_.fetch_add(1, std::memory_order_relaxed);
    MutexLock serial(&checkpoint_mu_);
    CheckpointIfDue();
  } else if (checkpoint && checkpoint_mu_.TryLock()) {
    // One checkpoint at a time is enough: while it writes, the others go
    // on committing, and a commit past the thresholds after it starts the
    // next.
    CheckpointIfDue();
    checkpoint_mu_.Unlock();
  }
  return absl::OkStatus();
}

bool DatabaseImpl::CheckpointDue(uint64_t times) const {
  // Divided rather than multiplied: a threshold may be set out of reach.
  return log_bytes_ / times >= options_.checkpoint_log_bytes ||
         dirty_bytes_.load(std::memory_order_relaxed) / times >= options_.checkpoint_dirty_bytes;
}

void DatabaseImpl::CheckpointIfDue() {
  {
    // Another checkpoint may have taken what made this one due.
    MutexLock snap(&snap_mu_);
    if (!CheckpointDue(1)) return;
  }

  absl::Status st;
  {
    MutexLock lock(&commit_mu_);
    DrainLocked();
    st = CheckpointLocked();
  }
  // The commits are durable already; a failed checkpoint is retried later.
  if (!st.ok()) logger_->warn("checkpoint after commit failed: {}", st.ToString());
}

void DatabaseImpl::CheckpointLoop() {
  MutexLock snap(&snap_mu_);
  for (;;) {
    while (!checkpoint_wanted_ && !checkpointer_stopped_) checkpoint_cv_.Wait(&snap_mu_);
    if (checkpointer_stopped_) return;
    checkpoint_wanted_ = false;
    MutexUnlock unlocked(&snap_mu_);
    MutexLock serial(&checkpoint_mu_);
    CheckpointIfDue();
  }
}

void DatabaseImpl::StopCheckpointer() {
  std::thread checkpointer;
  {
    MutexLock snap(&snap_mu_);
    checkpointer_stopped_ = true;
    checkpoint_cv_.SignalAll();
    checkpointer = std::move(checkpointer_);
  }
  if (checkpointer.joinable()) checkpointer.join();
}

absl::Status DatabaseImpl::CommitWrite(TransactionImpl& txn) {
  if (txn.record().empty()) return absl::OkStatus();  // nothing changed
  if (auto st = SyncValues(txn); !st.ok()) return st;
  // Before the commit lock: the copying is each committer's own work.
  txn.CompactChanged(cache_);
  absl::StatusOr<Pending> pending;
  {
    MutexLock lock(&commit_mu_);
    DrainIfFailedLocked();
    absl::Status valid = Validate(txn);
    pending = valid.ok() ? ApplyAndEnqueueLocked(&txn, txn.record(), txn.TakeWriteKeys(),
                                                 CommitRecord(txn.record()), "")
                         : absl::StatusOr<Pending>(valid);
  }
  // Refused, or never logged: the rollback gives the values back.
  if (!pending.ok()) return pending.status();
  return AwaitAndPublish(*pending);
}

absl::Status DatabaseImpl::PrepareWrite(TransactionImpl& txn, absl::string_view xid) {
  if (auto st = SyncValues(txn); !st.ok()) return st;
  uint64_t ticket;
  {
    MutexLock lock(&commit_mu_);
    DrainIfFailedLocked();
    absl::Status valid =
        prepared_.contains(xid)
            ? absl::AlreadyExistsError(absl::StrCat("transaction ", xid, " is already prepared"))
            : Validate(txn);
    absl::StatusOr<uint64_t> t = valid.ok()
                                     ? backend_->log()->Enqueue(PrepareRecord(xid, txn.record()))
                                     : absl::StatusOr<uint64_t>(valid);
    if (!t.ok()) return t.status();  // the rollback, if any, gives the values back
    ticket = *t;
    // From here on it holds its keys.
    prepared_[std::string(xid)] = Prepared{txn.record(), txn.write_keys(), 0, false};
    MutexLock snap(&snap_mu_);
    ++inflight_;
  }
  auto lsn = backend_->log()->Await(ticket);
  {
    MutexLock snap(&snap_mu_);
    if (!lsn.ok()) {
      pipeline_failed_ = true;
    } else {
      // Part of the state a checkpoint takes from now on, as a published
      // commit is: the checkpoint stores the values, and replay, which
      // reads the record again while it is undecided, does not claim them.
      last_lsn_ = std::max(last_lsn_, *lsn);
      unrecorded_.insert(unrecorded_.end(), txn.new_value_blobs().begin(),
                         txn.new_value_blobs().end());
    }
    --inflight_;
    published_cv_.SignalAll();
  }
  MutexLock lock(&commit_mu_);
  if (!lsn.ok()) {
    prepared_.erase(std::string(xid));
    return lsn.status();
  }
  prepared_[std::string(xid)].lsn = *lsn;
  return absl::OkStatus();
}

std::vector<std::string> DatabaseImpl::InDoubt() {
  MutexLock lock(&commit_mu_);
  std::vector<std::string> xids;
  for (const auto& [xid, p] : prepared_) xids.push_back(xid);
  return xids;
}

absl::Status DatabaseImpl::CommitPrepared(absl::string_view xid) {
  absl::StatusOr<Pending> pending;
  {
    MutexLock lock(&commit_mu_);
    DrainIfFailedLocked();
    auto it = prepared_.find(xid);
    if (it == prepared_.end() || it->second.deciding) {
      return absl::NotFoundError(absl::StrCat("no prepared transaction ", xid));
    }
    // No validation: since it was prepared, conflicting commits were refused.
    std::string ops = it->second.ops;
    pending = ApplyAndEnqueueLocked(nullptr, ops, it->second.keys, DecisionRecord(xid, true), xid);
  }
  if (!pending.ok()) return pending.status();
  return AwaitAndPublish(*pending);
}

absl::Status DatabaseImpl::AbortPrepared(absl::string_view xid) {
  std::string ops;
  {
    MutexLock lock(&commit_mu_);
    auto it = prepared_.find(xid);
    if (it == prepared_.end() || it->second.deciding) {
      return absl::NotFoundError(absl::StrCat("no prepared transaction ", xid));
    }
    it->second.deciding = true;
    ops = it->second.ops;
  }
  auto lsn = backend_->log()->Append(DecisionRecord(xid, false));
  MutexLock lock(&commit_mu_);
  if (!lsn.ok()) {
    prepared_[std::string(xid)].deciding = false;
    return lsn.status();
  }
  prepared_.erase(std::string(xid));
  MutexLock snap(&snap_mu_);
  // The abort is part of the state a checkpoint takes from now on, as a
  // published commit is: its record need not be replayed.
  last_lsn_ = std::max(last_lsn_, *lsn);
  FreeValuesOf(ops);
  return absl::OkStatus();
}

void DatabaseImpl::FreeValuesOf(absl::string_view ops) {
  // An aborted transaction's values outside the nodes are referenced by
  // nothing now.
  std::vector<Op> decoded;
  std::vector<BlobId> values;
  if (!DecodeOps(ops, &decoded) || !ValueBlobsOf(decoded, &values)) return;
  for (const BlobId& id : values) {
    pending_frees_.emplace_back(committed_.load(std::memory_order_relaxed), id);
  }
}

DatabaseStats DatabaseImpl::Stats() {
  DatabaseStats s;
  s.cache_bytes = cache_.usage();
  s.cache_capacity = cache_.capacity();
  s.dirty_bytes = dirty_bytes_.load(std::memory_order_relaxed);
  s.dirty_capacity = options_.checkpoint_dirty_bytes;
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.checkpoint_waits = checkpoint_waits_.load(std::memory_order_relaxed);
  s.registry_nodes = registry_.size();
  s.committed_version = committed_.load(std::memory_order_acquire);
  MutexLock lock(&snap_mu_);
  s.live_snapshots = live_snapshots_.size();
  s.node_versions = registry_.versions();
  return s;
}

absl::Status DatabaseImpl::Verify(std::vector<StoreReport>* report, const ProgressFn& progress) {
  auto txn = Begin(TxnMode::kReadOnly, {});
  if (!txn.ok()) return txn.status();
  return static_cast<TransactionImpl*>(txn->get())->VerifyAll(report, progress);
}

absl::Status DatabaseImpl::Checkpoint() {
  MutexLock serial(&checkpoint_mu_);
  MutexLock lock(&commit_mu_);
  DrainLocked();
  return CheckpointLocked();
}

absl::Status DatabaseImpl::CheckpointLocked(uint64_t move_budget, uint64_t* moved) {
  BlobStore& blobs = backend_->blobs();
  // What the checkpoint holds is the state at the newest commit, taken here,
  // with no commit in flight. Then it lets commits go on while it writes:
  // theirs are newer versions, dirty ids, log bytes and frees, which the
  // next checkpoint takes; it only reads what checkpoints alone change.
  std::vector<std::pair<uint64_t, NodeVersion>> dirty = registry_.TakeDirty();
  const uint64_t oldest = OldestSnapshot();
  CheckpointRoot root = root_;
  root.next_id = next_id_;
  root.next_dup = next_dup_;
  uint64_t lsn, log_bytes;
  std::vector<std::pair<uint64_t, BlobId>> pending;  // pending_frees_ now
  absl::flat_hash_set<uint64_t> unrecorded;          // pages of unrecorded_ now
  size_t unrecorded_taken;
  {
    MutexLock snap(&snap_mu_);
    lsn = last_lsn_;
    log_bytes = log_bytes_;
    pending = pending_frees_;
    for (const BlobId& id : unrecorded_) unrecorded.insert(id.page);
    unrecorded_taken = unrecorded_.size();
  }
  const size_t pending_taken = pending.size();
  const uint64_t dirty_bytes = dirty_bytes_.load(std::memory_order_relaxed);
  // Undecided prepared transactions must find their prepare records on
  // replay. One whose record is durable but whose lsn its thread has not
  // noted yet (lsn 0) keeps the whole log.
  uint64_t keep_from = lsn;
  for (const auto& [xid, p] : prepared_) {
    keep_from = std::min(keep_from, p.lsn == 0 ? 0 : p.lsn - 1);
  }
  MutexUnlock writing(&commit_mu_);

  WriteBatch batch;
  std::vector<BlobId> reserved;
  // Encoded blobs are held for the batch while they fit in its log record
  // (one sync). Past that the batch syncs the data file before its record
  // anyway, and each blob is written as soon as it is encoded: a checkpoint
  // of a large tree holds no second, encoded copy of it.
  std::vector<std::pair<BlobId, std::string>> held;
  uint64_t held_bytes = 0;
  bool streaming = false;
  auto put = [&](BlobId id, std::string bytes) -> absl::Status {
    reserved.push_back(id);
    if (!streaming && held_bytes + bytes.size() > options_.checkpoint_inline_bytes) {
      streaming = true;
      for (auto& [h, b] : held) {
        if (auto st = blobs.Write(h, b); !st.ok()) return st;
        batch.PutWritten(h);
      }
      held.clear();
    }
    if (!streaming) {
      held_bytes += bytes.size();
      held.emplace_back(id, std::move(bytes));
      return absl::OkStatus();
    }
    if (auto st = blobs.Write(id, bytes); !st.ok()) return st;
    batch.PutWritten(id);
    return absl::OkStatus();
  };
  auto reserve_put = [&](std::string bytes) -> absl::StatusOr<BlobId> {
    // While moving nodes down, the registry pages and root go low too.
    auto id = move_budget > 0 ? blobs.ReserveBelow(bytes.size(), UINT64_MAX)
                              : blobs.Reserve(bytes.size());
    if (absl::IsNotFound(id.status())) id = blobs.Reserve(bytes.size());  // no hole fits
    if (!id.ok()) return id.status();
    if (auto st = put(*id, std::move(bytes)); !st.ok()) return st;
    return *id;
  };
  auto undo = [&](absl::Status st) {
    for (const BlobId& id : reserved) blobs.Release(id);
    for (const auto& [id, v] : dirty) registry_.MarkDirty(id);  // the next checkpoint retries
    return st;
  };

  // 1. Every dirty node's newest version becomes a blob; the blob it
  // replaces is freed once no snapshot can reach it.
  absl::btree_map<uint64_t, BlobId> durable_changes;  // id -> new blob (page 0: deleted)
  std::vector<std::pair<uint64_t, BlobId>> new_frees;
  struct Written {
    uint64_t id, version;
    BlobId blob;
    std::shared_ptr<CachedNode> node;
  };
  std::vector<Written> written;
  for (const auto& [id, v] : dirty) {
    // Already written (its newer, unlogged versions were taken back).
    if (!v.deleted && v.node == nullptr) continue;
    auto old = durable_.find(id);
    if (old != durable_.end()) new_frees.emplace_back(v.version, old->second);
    if (v.deleted) {
      durable_changes[id] = BlobId{};
      continue;
    }
    auto blob = reserve_put(EncodeNode(v.node->node));
    if (!blob.ok()) return undo(blob.status());
    durable_changes[id] = *blob;
    written.push_back({id, v.version, *blob, v.node});
  }

  // 1b. On close: checkpoints leave holes behind, since a node's old copy may
  // only be freed once its new one is durable. Nodes stored above the holes
  // move down into them (at most what one checkpoint may hold), so that the
  // file can shrink by them — SQLite's incremental vacuum, done once.
  // Nothing reads afterwards, so the registry keeps the old places; with no
  // snapshot live, the old copies are freed by this same batch.
  std::vector<BlobId> moved_from;
  absl::btree_set<uint64_t> pages;  // registry pages to write
  if (move_budget > 0) {
    const uint64_t boundary = blobs.RelocationBoundary();
    // The registry pages and the root are rewritten low too: one left above
    // the boundary keeps the free pages below it from being cut off.
    for (const auto& [page, blob] : root.registry_pages) {
      if (blob.page >= boundary) pages.insert(page);
    }
    const bool root_above = root_blob_.page >= boundary;
    std::vector<std::pair<BlobId, uint64_t>> above;  // blob, node id
    for (const auto& [id, blob] : durable_) {
      if (blob.page >= boundary && !durable_changes.contains(id)) above.emplace_back(blob, id);
    }
    std::sort(above.begin(), above.end(),
              [](const auto& a, const auto& b) { return a.first.page > b.first.page; });
    uint64_t budget = move_budget;
    for (const auto& [from, id] : above) {
      if (from.size > budget) break;
      auto bytes = ReadStored(from);
      if (!bytes.ok()) return undo(bytes.status());
      auto to = blobs.ReserveBelow(from.size, from.page);
      if (absl::IsNotFound(to.status())) continue;  // no hole lower down fits it
      if (!to.ok()) return undo(to.status());
      if (auto st = put(*to, *std::move(bytes)); !st.ok()) return undo(st);
      durable_changes[id] = *to;
      moved_from.push_back(from);
      budget -= from.size;
      if (moved != nullptr) *moved += from.size;
    }
    if (durable_changes.empty() && pages.empty() && !root_above) return absl::OkStatus();
    if (moved != nullptr && durable_changes.empty()) *moved += 1;  // only pages and root move
  }

  // 2. The registry pages covering changed ids, and a new root.
  std::vector<BlobId> deletes = moved_from;
  for (const auto& [id, blob] : durable_changes) pages.insert(id >> kRegistryPageShift);
  for (uint64_t page : pages) {
    // The page's entries as they will be: durable_ with the changes merged
    // in (durable_ itself changes only once the batch is durable).
    std::vector<std::pair<uint64_t, BlobId>> entries;
    const uint64_t lo = page << kRegistryPageShift, hi = (page + 1) << kRegistryPageShift;
    auto c = durable_changes.lower_bound(lo);
    auto take_change = [&] {
      if (c->second.page != 0) entries.emplace_back(c->first, c->second);  // else deleted
      ++c;
    };
    for (auto d = durable_.lower_bound(lo); d != durable_.end() && d->first < hi; ++d) {
      while (c != durable_changes.end() && c->first < d->first) take_change();  // new ids
      if (c != durable_changes.end() && c->first == d->first) {
        take_change();
      } else {
        entries.emplace_back(d->first, d->second);
      }
    }
    while (c != durable_changes.end() && c->first < hi) take_change();
    if (auto old = root.registry_pages.find(page); old != root.registry_pages.end()) {
      deletes.push_back(old->second);  // only open reads registry pages: free at once
      root.registry_pages.erase(old);
    }
    if (entries.empty()) continue;
    auto blob = reserve_put(EncodeRegistryPage(entries));
    if (!blob.ok()) return undo(blob.status());
    root.registry_pages[page] = *blob;
  }
  auto root_blob = reserve_put(EncodeCheckpointRoot(root));
  if (!root_blob.ok()) return undo(root_blob.status());
  if (root_blob_.page != 0) deletes.push_back(root_blob_);

  // 3. Blobs superseded at versions every live snapshot is past. A value
  // never stored (its commit's record claims it) is only given back, once
  // the batch has made its dropping durable.
  pending.insert(pending.end(), new_frees.begin(), new_frees.end());
  std::vector<std::pair<uint64_t, BlobId>> still_pending;
  std::vector<BlobId> releases;
  for (const auto& [version, blob] : pending) {
    if (version > oldest) {
      still_pending.emplace_back(version, blob);
    } else if (unrecorded.erase(blob.page) > 0) {
      releases.push_back(blob);
    } else {
      deletes.push_back(blob);
    }
  }
  for (const BlobId& blob : deletes) batch.Delete(blob);
  // 4. The values commits up to `lsn` synced: stored now, since the log
  // that names them is about to be trimmed.
  {
    MutexLock snap(&snap_mu_);
    for (size_t i = 0; i < unrecorded_taken; ++i) {
      if (unrecorded.contains(unrecorded_[i].page)) batch.PutWritten(unrecorded_[i]);
    }
  }
  for (auto& [id, bytes] : held) batch.Put(id, std::move(bytes));
  batch.SetMeta(kRootMeta, EncodeBlobId(*root_blob));
  batch.SetMeta(kLsnMeta, absl::StrCat(lsn));
  batch.SetMeta(kReplayFromMeta, absl::StrCat(keep_from));
  batch.TrimLog(keep_from);  // once durable, the log before keep_from is redundant
  std::string waiting;
  for (const auto& [version, blob] : still_pending) waiting += EncodeBlobId(blob);
  batch.SetMeta(kWaitingFreesMeta,
                waiting.empty() ? std::nullopt : std::optional<std::string>(std::move(waiting)));

  if (auto st = blobs.Apply(batch); !st.ok()) return undo(st);

  // Durable: make memory agree. Only checkpoints change these.
  for (const auto& [id, blob] : durable_changes) {
    if (blob.page == 0) {
      durable_.erase(id);
    } else {
      durable_[id] = blob;
    }
  }
  root_ = std::move(root);
  root_blob_ = *root_blob;
  {
    // Frees published meanwhile stay behind the ones still pending.
    MutexLock snap(&snap_mu_);
    still_pending.insert(still_pending.end(), pending_frees_.begin() + pending_taken,
                         pending_frees_.end());
    pending_frees_ = std::move(still_pending);
    unrecorded_.erase(unrecorded_.begin(), unrecorded_.begin() + unrecorded_taken);
    log_bytes_ -= log_bytes;
  }
  dirty_bytes_ -= dirty_bytes;
  for (const BlobId& blob : releases) blobs.Release(blob);
  for (const BlobId& blob : deletes) cache_.Erase(blob.page);
  for (const Written& w : written) {
    registry_.MarkWritten(w.id, w.version, w.blob, cache_.Insert(w.blob.page, w.node));
  }
  for (const auto& [id, v] : dirty) unpruned_.insert(id);
  std::vector<BlobId> uncached;
  for (auto it = unpruned_.begin(); it != unpruned_.end();) {
    if (registry_.Prune(*it, oldest, &uncached)) {
      unpruned_.erase(it++);
    } else {
      ++it;
    }
  }
  for (const BlobId& blob : uncached) cache_.Erase(blob.page);
  checkpoint_lsn_ = lsn;
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  // Let the backend fold the batch in and drop the log records it trimmed.
  return blobs.Checkpoint();
}

absl::Status DatabaseImpl::Recover() {
  BlobStore& blobs = backend_->blobs();
  auto root_meta = blobs.GetMeta(kRootMeta);
  if (absl::IsNotFound(root_meta.status())) {
    // A new database: the catalog is an empty leaf.
    std::vector<BlobId> none;
    registry_.Publish(0, {{kCatalogRoot, std::make_shared<CachedNode>(Node())}}, {}, 0, &none);
    next_id_ = kCatalogRoot + 1;
    opened_ = true;
    return CheckpointLocked();
  }
  if (!root_meta.ok()) return root_meta.status();
  BlobId root_blob;
  if (!DecodeBlobId(*root_meta, &root_blob)) {
    return absl::DataLossError("metadata record sop.root is malformed");
  }
  auto root_bytes = ReadStored(root_blob);
  if (!root_bytes.ok()) return root_bytes.status();
  if (!DecodeCheckpointRoot(*root_bytes, &root_)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint root (blob at page ", root_blob.page, ") is malformed"));
  }
  root_blob_ = root_blob;
  next_id_ = root_.next_id;
  next_dup_ = root_.next_dup;
  for (const auto& [page, blob] : root_.registry_pages) {
    auto bytes = ReadStored(blob);
    if (!bytes.ok()) return bytes.status();
    std::vector<std::pair<uint64_t, BlobId>> entries;
    if (!DecodeRegistryPage(*bytes, page, &entries)) {
      return absl::DataLossError(
          absl::StrCat("registry page ", page, " (blob at page ", blob.page, ") is malformed"));
    }
    for (const auto& [id, node_blob] : entries) {
      if (id >= next_id_) {
        return absl::DataLossError(
            absl::StrCat("registry names node ", id, " beyond the next id ", next_id_.load()));
      }
      registry_.Load(id, node_blob);
      durable_[id] = node_blob;
    }
  }
  uint64_t lsn = 0, replay_from = 0;
  if (auto v = blobs.GetMeta(kLsnMeta); v.ok()) {
    if (!absl::SimpleAtoi(*v, &lsn)) return absl::DataLossError("sop.lsn is malformed");
  }
  replay_from = lsn;
  if (auto v = blobs.GetMeta(kReplayFromMeta); v.ok()) {
    if (!absl::SimpleAtoi(*v, &replay_from) || replay_from > lsn) {
      return absl::DataLossError("sop.replay_from is malformed");
    }
  }
  if (auto v = blobs.GetMeta(kWaitingFreesMeta); v.ok()) {
    // No snapshot outlived the process: free them at the next checkpoint.
    absl::string_view ids = *v;
    for (; ids.size() >= 16; ids.remove_prefix(16)) {
      BlobId id;
      if (!DecodeBlobId(ids.substr(0, 16), &id)) break;
      pending_frees_.emplace_back(0, id);
    }
    if (!ids.empty()) return absl::DataLossError("sop.waiting_frees is malformed");
  }
  last_lsn_ = lsn;
  checkpoint_lsn_ = lsn;
  backend_->log()->Trim(replay_from);
  opened_ = true;
  size_t replayed = 0;
  // From before the checkpoint when transactions were prepared and undecided
  // then: their prepare records are needed; commits up to `lsn` are skipped.
  absl::Status st = backend_->log()->Replay(replay_from, [&](const LogRecord& r) {
    ++replayed;
    return ReplayRecord(r);
  });
  if (!st.ok()) {
    opened_ = false;
    return st;
  }
  if (replayed > 0) {
    logger_->info("replayed {} log records; {} transactions in doubt", replayed, prepared_.size());
  }
  return absl::OkStatus();
}

namespace {

// The keys a transaction's operations write, for conflict checks.
KeySet KeysOf(const std::vector<Op>& ops) {
  KeySet keys;
  for (const Op& op : ops) {
    if (op.type == OpType::kCreateStore || op.type == OpType::kDropStore) {
      keys.Insert(WholeStoreKey(op.key));
    } else {
      keys.Insert(WriteKey(op.store, op.key));
    }
  }
  return keys;
}

}  // namespace

absl::Status DatabaseImpl::ReplayRecord(const LogRecord& record) {
  LogEntry e;
  if (!DecodeLogEntry(record.payload, &e)) {
    return absl::DataLossError(
        absl::StrCat("commit record ", record.seq, " is malformed (checksum valid)"));
  }
  const uint64_t in_image = checkpoint_lsn_;  // records up to here are in the checkpoint
  switch (e.kind) {
    case RecordKind::kCommit:
      if (record.seq <= in_image) return absl::OkStatus();
      return ReplayOps(e.ops, record.seq, /*claim=*/true);
    case RecordKind::kPrepare: {
      std::vector<Op> ops;
      if (!DecodeOps(e.ops, &ops)) {
        return absl::DataLossError(
            absl::StrCat("prepare record ", record.seq, " holds malformed operations"));
      }
      prepared_[std::string(e.xid)] = Prepared{std::string(e.ops), KeysOf(ops), record.seq, false};
      if (record.seq <= in_image) return absl::OkStatus();  // its values are stored
      last_lsn_ = record.seq;
      return ClaimValues(ops, record.seq);
    }
    case RecordKind::kDecision: {
      auto it = prepared_.find(e.xid);
      if (it == prepared_.end()) {
        if (record.seq <= in_image) return absl::OkStatus();
        // An abort changes nothing, and an older log may hold one whose
        // prepare record a checkpoint trimmed (its cut was a commit logged
        // before the abort).
        if (!e.commit) {
          last_lsn_ = record.seq;
          return absl::OkStatus();
        }
        return absl::DataLossError(absl::StrCat("log record ", record.seq, " decides transaction ",
                                                e.xid, ", which was never prepared"));
      }
      std::string ops = std::move(it->second.ops);
      prepared_.erase(it);
      if (record.seq <= in_image) return absl::OkStatus();
      if (e.commit) return ReplayOps(ops, record.seq, /*claim=*/false);
      FreeValuesOf(ops);
      last_lsn_ = record.seq;
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status DatabaseImpl::ClaimValues(const std::vector<Op>& ops, uint64_t lsn) {
  // The values the record's transaction synced: reserved again, stored by
  // the next checkpoint (or given back, if a later record drops them).
  std::vector<BlobId> values;
  if (!ValueBlobsOf(ops, &values)) {
    return absl::DataLossError(
        absl::StrCat("log record ", lsn, " holds a malformed value reference"));
  }
  for (const BlobId& id : values) {
    if (auto st = backend_->blobs().Claim(id); !st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("replaying log record ", lsn, ": ", st.message()));
    }
    unrecorded_.push_back(id);
  }
  return absl::OkStatus();
}

absl::Status DatabaseImpl::ReplayOps(absl::string_view ops_bytes, uint64_t lsn, bool claim) {
  std::vector<Op> ops;
  if (!DecodeOps(ops_bytes, &ops)) {
    return absl::DataLossError(absl::StrCat("commit record ", lsn, " holds malformed operations"));
  }
  if (claim) {
    if (auto st = ClaimValues(ops, lsn); !st.ok()) return st;
  }
  uint64_t snapshot = committed_.load(std::memory_order_relaxed);
  TransactionImpl txn(this, TxnMode::kReadWrite, snapshot, /*replaying=*/true);
  for (const Op& op : ops) {
    if (auto st = txn.ApplyOp(op); !st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("replaying commit record ", lsn, ": ", st.message()));
    }
  }
  uint64_t version = snapshot + 1;
  const auto changed = txn.ChangedNodes();
  const std::vector<uint64_t> freed = txn.FreedNodes();
  std::vector<BlobId> uncached;
  dirty_bytes_ += registry_.Publish(version, changed, freed, snapshot, &uncached);
  // Nothing reads while the log replays: the versions this one hides go now.
  for (const auto& [id, node] : changed) registry_.Trim(id, version, &uncached);
  for (uint64_t id : freed) registry_.Trim(id, version, &uncached);
  for (const BlobId& blob : uncached) cache_.Erase(blob.page);
  installed_ = version;
  for (const BlobId& id : txn.dropped_value_blobs()) pending_frees_.emplace_back(version, id);
  log_bytes_ += ops_bytes.size();
  last_lsn_ = lsn;
  committed_.store(version, std::memory_order_release);
  txn.Rollback().IgnoreError();  // its work is published; this only ends it
  return absl::OkStatus();
}

}  // namespace sop
