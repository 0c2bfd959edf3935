// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/transaction_impl.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "txn/store_impl.h"
#include "util/coding.h"

namespace sop {

void WriteKeyInto(absl::string_view store, absl::string_view key, std::string* out) {
  out->clear();
  out->reserve(6 + store.size() + key.size());
  out->push_back('K');
  PutLengthPrefixed(out, store);
  out->append(key.data(), key.size());
}

std::string WriteKey(absl::string_view store, absl::string_view key) {
  std::string k;
  WriteKeyInto(store, key, &k);
  return k;
}

std::string WholeStoreKey(absl::string_view store) { return absl::StrCat("W", store); }

TransactionImpl::TransactionImpl(DatabaseImpl* db, TxnMode mode, uint64_t snapshot, bool replaying,
                                 const TxnOptions& options)
    : db_(db),
      mode_(mode),
      snapshot_(snapshot),
      replaying_(replaying),
      options_(options),
      deadline_(options.timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                            : absl::Now() + options.timeout),
      catalog_(kCatalogRoot, BytewiseComparator(), kMaxNodeBytes) {}

void TransactionImpl::Touch(absl::string_view store) {
  // Looked up first: every write names its store, and building the string
  // to find it already there is most of an insert's cost.
  if (!touched_stores_.contains(store)) touched_stores_.emplace(store);
}

void TransactionImpl::NoteWrite(absl::string_view store, absl::string_view key) {
  if (replaying_) return;
  WriteKeyInto(store, key, &key_);
  write_keys_.Insert(key_);
  Touch(store);
}

void TransactionImpl::NoteWholeStore(absl::string_view store) {
  if (replaying_) return;
  write_keys_.Insert(WholeStoreKey(store));
  Touch(store);
}

void TransactionImpl::NoteRead(absl::string_view store, absl::string_view key) {
  if (!serializable()) return;
  WriteKeyInto(store, key, &key_);
  read_keys_.Insert(key_);
  Touch(store);
}

std::shared_ptr<TransactionImpl::ReadRange> TransactionImpl::NewReadRange(absl::string_view store,
                                                                          const Comparator* cmp) {
  if (!serializable()) return nullptr;
  auto r = std::make_shared<ReadRange>();
  r->store = std::string(store);
  r->cmp = cmp;
  read_ranges_.push_back(r);
  Touch(store);
  return r;
}

absl::Status TransactionImpl::ConflictsWith(absl::string_view committed) const {
  auto conflict = [&](absl::string_view what) {
    return absl::AbortedError(
        absl::StrCat("conflict: a transaction committed since this one began ", what, "; retry"));
  };
  if (committed[0] == 'W') {
    absl::string_view store = committed.substr(1);
    if (touched_stores_.contains(store) || write_keys_.contains(committed)) {
      return conflict(absl::StrCat("created or dropped store ", store));
    }
    return absl::OkStatus();
  }
  Decoder d(committed.substr(1));
  absl::string_view store;
  if (!d.GetLengthPrefixed(&store)) return absl::InternalError("bad write key");
  absl::string_view key = d.rest();
  if (write_keys_.contains(committed)) {
    return conflict(absl::StrCat("wrote the same key of store ", store));
  }
  if (write_keys_.contains(WholeStoreKey(store))) {
    return conflict(absl::StrCat("wrote into store ", store, ", which this one replaces"));
  }
  if (!serializable()) return absl::OkStatus();
  if (read_keys_.contains(committed)) {
    return conflict(absl::StrCat("wrote a key this one read in store ", store));
  }
  for (const auto& r : read_ranges_) {
    if (r->empty || r->store != store) continue;
    if ((!r->lo || r->cmp->Compare(*r->lo, key) <= 0) &&
        (!r->hi || r->cmp->Compare(key, *r->hi) <= 0)) {
      return conflict(absl::StrCat("wrote into a range this one scanned in store ", store));
    }
  }
  return absl::OkStatus();
}

TransactionImpl::~TransactionImpl() {
  if (finished_) return;
  if (!prepared_xid_.empty()) {
    Finish();  // stays prepared, in doubt: Database::InDoubt() resolves it
    return;
  }
  Rollback().IgnoreError();
}

absl::Status TransactionImpl::CheckActive() const {
  if (orphaned_.load(std::memory_order_relaxed)) {
    return absl::FailedPreconditionError("the transaction's database was closed");
  }
  if (finished_) {
    return absl::InvalidArgumentError("the transaction has already committed or rolled back");
  }
  if (deadline_ != absl::InfiniteFuture() && absl::Now() > deadline_) {
    return absl::DeadlineExceededError(absl::StrCat("the transaction passed its timeout of ",
                                                    absl::FormatDuration(options_.timeout)));
  }
  return absl::OkStatus();
}

absl::Status TransactionImpl::CheckWritable() const {
  if (auto st = CheckActive(); !st.ok()) return st;
  if (!prepared_xid_.empty()) {
    return absl::InvalidArgumentError("the transaction is prepared: no change is accepted");
  }
  if (mode_ != TxnMode::kReadWrite) {
    return absl::InvalidArgumentError("cannot write in a read-only transaction");
  }
  return absl::OkStatus();
}

void TransactionImpl::Log(const Op& op) {
  if (!replaying_) AppendOp(&record_, op);
}

void TransactionImpl::DropValueBlob(BlobId id) {
  // Even a blob this transaction wrote and then replaced is made durable and
  // freed later: the log names it, and replay must find the same blob.
  dropped_value_blobs_.push_back(id);
}

void TransactionImpl::ReleaseUnloggedBlob(BlobId id) {
  for (auto it = new_value_blobs_.begin(); it != new_value_blobs_.end(); ++it) {
    if (*it == id) {
      db_->blobs().Release(id);
      new_value_blobs_.erase(it);
      return;
    }
  }
}

absl::StatusOr<NodePtr> TransactionImpl::Read(uint64_t id) {
  if (auto it = local_.find(id); it != local_.end()) return CachedNode::Share(it->second);
  auto m = Remember(id);
  if (!m.ok()) return m.status();
  return (*m)->node;
}

absl::StatusOr<const Node*> TransactionImpl::Peek(uint64_t id) {
  if (auto it = local_.find(id); it != local_.end()) return &it->second->node;
  auto m = Remember(id);
  if (!m.ok()) return m.status();
  return (*m)->node.get();
}

absl::StatusOr<TransactionImpl::Memo*> TransactionImpl::Remember(uint64_t id) {
  if (freed_.contains(id)) {
    return absl::InternalError(absl::StrCat("node ", id, " was freed by this transaction"));
  }
  Memo& m = memo_[id % memo_.size()];
  if (m.node != nullptr && m.id == id) return &m;
  if (leaf_memo_.node != nullptr && leaf_memo_.id == id) return &leaf_memo_;
  auto node = db_->ReadNode(id, snapshot_);
  if (!node.ok()) return node.status();
  if ((*node)->leaf) {
    leaf_memo_ = {id, *std::move(node)};
    return &leaf_memo_;
  }
  m = {id, *std::move(node)};
  return &m;
}

absl::StatusOr<Node*> TransactionImpl::Mutable(uint64_t id) {
  if (auto it = local_.find(id); it != local_.end()) return &it->second->node;
  auto base = Read(id);
  if (!base.ok()) return base.status();
  auto copy = db_->cache().Editable(**base);
  Node* raw = &copy->node;
  local_.emplace(id, std::move(copy));
  return raw;
}

uint64_t TransactionImpl::Create(Node node) {
  uint64_t id = db_->NewNodeId();
  local_.emplace(id, std::make_shared<CachedNode>(std::move(node)));
  return id;
}

void TransactionImpl::Free(uint64_t id) {
  local_.erase(id);
  freed_.insert(id);
}

void TransactionImpl::CompactChanged(const NodeCache& cache) {
  for (auto& [id, entry] : local_) entry = cache.Compact(entry->node);
}

std::vector<std::pair<uint64_t, std::shared_ptr<CachedNode>>> TransactionImpl::ChangedNodes()
    const {
  std::vector<std::pair<uint64_t, std::shared_ptr<CachedNode>>> out;
  out.reserve(local_.size());
  for (const auto& [id, node] : local_) out.emplace_back(id, node);
  return out;
}

std::vector<uint64_t> TransactionImpl::FreedNodes() const {
  return std::vector<uint64_t>(freed_.begin(), freed_.end());
}

absl::StatusOr<std::optional<StoreMeta>> TransactionImpl::LookupStore(absl::string_view name) {
  TreePath path;
  if (auto st = catalog_.SeekGE(*this, name, 0, &path); !st.ok()) return st;
  if (!path.valid() || path.leaf().key(path.pos()) != name) return std::optional<StoreMeta>();
  StoreMeta meta;
  if (!DecodeStoreMeta(path.leaf().value(path.pos()), &meta)) {
    return absl::DataLossError(absl::StrCat("catalog entry of store ", name, " is malformed"));
  }
  return std::optional<StoreMeta>(std::move(meta));
}

absl::StatusOr<RawStore*> TransactionImpl::OpenStore(absl::string_view name,
                                                     const StoreOptions& options) {
  if (auto st = CheckActive(); !st.ok()) return st;
  if (name.empty() || name.size() > kMaxKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("store name must be 1 to ", kMaxKeySize, " bytes, got ", name.size()));
  }
  const Comparator* cmp = options.comparator ? options.comparator : BytewiseComparator();
  db_->LearnComparator(cmp);
  if (auto it = stores_.find(name); it != stores_.end()) {
    if (it->second->comparator()->Name() != absl::string_view(cmp->Name())) {
      return absl::FailedPreconditionError(
          absl::StrCat("store ", name, " uses comparator ", it->second->comparator()->Name()));
    }
    return it->second.get();
  }
  auto existing = LookupStore(name);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    const StoreMeta& meta = **existing;
    if (meta.comparator != cmp->Name()) {
      return absl::FailedPreconditionError(
          absl::StrCat("store ", name, " was created with comparator \"", meta.comparator,
                       "\"; it is being opened with \"", cmp->Name(), "\""));
    }
    if (meta.unique != options.unique) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", name, " was created ", meta.unique ? "unique" : "allowing duplicate keys",
          "; it is being opened otherwise"));
    }
    return OpenStoreWithMeta(name, meta, cmp);
  }
  if (mode_ != TxnMode::kReadWrite) {
    return absl::NotFoundError(absl::StrCat("no store named ", name));
  }
  if (options.max_value_in_node > kMaxValueInNode) {
    return absl::InvalidArgumentError(absl::StrCat("max_value_in_node is at most ", kMaxValueInNode,
                                                   ", got ", options.max_value_in_node));
  }
  StoreMeta meta;
  meta.root = Create(Node());
  meta.unique = options.unique;
  meta.max_value_in_node = options.max_value_in_node;
  meta.comparator = cmp->Name();
  std::string encoded = EncodeStoreMeta(meta);
  if (auto st = catalog_.Insert(*this, std::string(name), 0, encoded, ValueKind::kInline);
      !st.ok()) {
    return st;
  }
  Log({OpType::kCreateStore, "", name, ValueKind::kInline, encoded});
  NoteWholeStore(name);
  Touch();
  return OpenStoreWithMeta(name, meta, cmp);
}

absl::StatusOr<RawStore*> TransactionImpl::OpenStoreWithMeta(absl::string_view name,
                                                             const StoreMeta& meta,
                                                             const Comparator* cmp) {
  auto store = std::make_unique<RawStoreImpl>(this, std::string(name), meta, cmp);
  RawStore* raw = store.get();
  stores_.emplace(std::string(name), std::move(store));
  return raw;
}

absl::Status TransactionImpl::DropStore(absl::string_view name) {
  if (auto st = CheckWritable(); !st.ok()) return st;
  auto meta = LookupStore(name);
  if (!meta.ok()) return meta.status();
  if (!meta->has_value()) return absl::NotFoundError(absl::StrCat("no store named ", name));
  const Comparator* cmp = db_->FindComparator((*meta)->comparator);
  if (cmp == nullptr) cmp = BytewiseComparator();  // order is irrelevant to dropping
  BTree tree((*meta)->root, cmp, kMaxNodeBytes);
  // Value blobs go with their entries.
  TreePath path;
  if (auto st = tree.SeekFirst(*this, &path); !st.ok()) return st;
  while (path.valid()) {
    if (path.leaf().kind(path.pos()) == ValueKind::kBlob) {
      BlobId id;
      if (DecodeBlobId(path.leaf().value(path.pos()), &id)) DropValueBlob(id);
    }
    if (auto st = tree.Next(*this, &path); !st.ok()) return st;
  }
  if (auto st = tree.Clear(*this); !st.ok()) return st;
  Free((*meta)->root);
  TreePath cat;
  if (auto st = catalog_.SeekGE(*this, name, 0, &cat); !st.ok()) return st;
  if (auto st = catalog_.Erase(*this, cat); !st.ok()) return st;
  if (auto it = stores_.find(name); it != stores_.end()) {
    // Callers may still hold the object: it stays alive, refusing every call.
    it->second->MarkDropped();
    dropped_stores_.push_back(std::move(it->second));
    stores_.erase(it);
  }
  Log({OpType::kDropStore, "", name, ValueKind::kInline, ""});
  NoteWholeStore(name);
  Touch();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> TransactionImpl::ListStores() {
  if (auto st = CheckActive(); !st.ok()) return st;
  std::vector<std::string> names;
  TreePath path;
  if (auto st = catalog_.SeekFirst(*this, &path); !st.ok()) return st;
  while (path.valid()) {
    names.emplace_back(path.leaf().key(path.pos()));
    if (auto st = catalog_.Next(*this, &path); !st.ok()) return st;
  }
  return names;
}

absl::Status TransactionImpl::VerifyAll(std::vector<StoreReport>* report,
                                        const ProgressFn& progress) {
  uint64_t done = 0;  // bytes of the stores checked before this one
  BTree::CheckStats stats;
  if (auto st = catalog_.Check(*this, &stats); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("catalog: ", st.message()));
  }
  auto names = ListStores();
  if (!names.ok()) return names.status();
  std::string chunk;
  for (const std::string& name : *names) {
    auto meta = LookupStore(name);
    if (!meta.ok()) return meta.status();
    if (!meta->has_value()) return absl::DataLossError(absl::StrCat("store ", name, " vanished"));
    const Comparator* cmp = db_->FindComparator((*meta)->comparator);
    if (cmp == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("store ", name, " uses comparator \"", (*meta)->comparator,
                       "\", which is not in Options::comparators: cannot check its order"));
    }
    BTree tree((*meta)->root, cmp, kMaxNodeBytes);
    std::function<void(uint64_t)> tick;
    if (progress) tick = [&](uint64_t bytes) { progress(done + bytes); };
    if (auto st = tree.Check(*this, &stats, tick); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("store ", name, ": ", st.message()));
    }
    done += stats.bytes;
    StoreReport r{.name = name,
                  .unique = (*meta)->unique,
                  .comparator = (*meta)->comparator,
                  .entries = stats.entries,
                  .depth = stats.depth,
                  .nodes = stats.nodes,
                  .node_bytes = stats.bytes,
                  .node_capacity = stats.nodes * kMaxNodeBytes};
    TreePath path;
    if (auto st = tree.SeekFirst(*this, &path); !st.ok()) return st;
    while (path.valid()) {
      if (path.leaf().kind(path.pos()) == ValueKind::kBlob) {
        BlobId id;
        if (!DecodeBlobId(path.leaf().value(path.pos()), &id)) {
          return absl::DataLossError(absl::StrCat("store ", name, ": bad value reference"));
        }
        // By pieces, so a value of many GiB is checked in bounded memory.
        for (uint64_t off = 0; off < id.size; off += chunk.size()) {
          chunk.resize(std::min<uint64_t>(1 << 20, id.size - off));
          if (auto st = db_->ReadStoredRange(id, off, absl::MakeSpan(chunk)); !st.ok()) {
            return absl::Status(st.code(), absl::StrCat("store ", name, ": value: ", st.message()));
          }
          done += chunk.size();
          if (progress) progress(done);
        }
        ++r.value_blobs;
        r.value_bytes += id.size;
      }
      if (auto st = tree.Next(*this, &path); !st.ok()) return st;
    }
    if (report != nullptr) report->push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::Status TransactionImpl::ApplyOp(const Op& op) {
  if (op.type == OpType::kCreateStore) {
    StoreMeta meta;
    if (!DecodeStoreMeta(op.value, &meta)) {
      return absl::DataLossError("commit record holds a malformed store description");
    }
    const Comparator* cmp = db_->FindComparator(meta.comparator);
    if (cmp == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("the log creates store ", op.key, " with comparator \"", meta.comparator,
                       "\", which is not in Options::comparators"));
    }
    StoreOptions options;
    options.unique = meta.unique;
    options.comparator = cmp;
    options.max_value_in_node = meta.max_value_in_node;
    return OpenStore(op.key, options).status();
  }
  if (op.type == OpType::kDropStore) return DropStore(op.key);
  auto meta = LookupStore(op.store);
  if (!meta.ok()) return meta.status();
  if (!meta->has_value()) {
    return absl::DataLossError(absl::StrCat("commit record changes unknown store ", op.store));
  }
  const Comparator* cmp = db_->FindComparator((*meta)->comparator);
  if (cmp == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("the log changes store ", op.store,
                                                      " whose comparator \"", (*meta)->comparator,
                                                      "\" is not in Options::comparators"));
  }
  StoreOptions options;
  options.unique = (*meta)->unique;
  options.comparator = cmp;
  options.max_value_in_node = (*meta)->max_value_in_node;
  auto store = OpenStore(op.store, options);
  if (!store.ok()) return store.status();
  auto* impl = static_cast<RawStoreImpl*>(*store);
  return impl->Apply(op);
}

absl::Status TransactionImpl::Prepare(absl::string_view xid) {
  if (auto st = CheckWritable(); !st.ok()) return st;
  if (xid.empty()) return absl::InvalidArgumentError("a prepared transaction needs an id");
  if (!poisoned_.ok()) {
    absl::Status st = poisoned_;
    Rollback().IgnoreError();
    return st;
  }
  absl::Status st = db_->PrepareWrite(*this, xid);
  if (!st.ok()) {
    if (!absl::IsAlreadyExists(st)) Rollback().IgnoreError();
    return st;
  }
  prepared_xid_ = std::string(xid);
  return absl::OkStatus();
}

absl::Status TransactionImpl::CommitPrepared() {
  if (finished_ || orphaned_.load(std::memory_order_relaxed)) return CheckActive();
  if (prepared_xid_.empty()) return absl::InvalidArgumentError("the transaction is not prepared");
  absl::Status st = db_->CommitPrepared(prepared_xid_);
  if (st.ok()) Finish();
  return st;
}

absl::Status TransactionImpl::Commit() {
  if (!prepared_xid_.empty()) return CommitPrepared();
  if (auto st = CheckActive(); !st.ok()) {
    Rollback().IgnoreError();
    return st;
  }
  if (mode_ == TxnMode::kReadOnly) {
    Finish();
    return absl::OkStatus();
  }
  absl::Status st = poisoned_;
  if (!st.ok()) {
    st = absl::Status(
        st.code(),
        absl::StrCat("the transaction failed earlier and was rolled back: ", st.message()));
  } else {
    st = db_->CommitWrite(*this);
  }
  if (!st.ok()) {
    Rollback().IgnoreError();
    return st;
  }
  Finish();
  return absl::OkStatus();
}

absl::Status TransactionImpl::Rollback() {
  if (finished_) return absl::OkStatus();
  if (orphaned_.load(std::memory_order_relaxed)) {
    // The database is gone; it rolled back (or kept in doubt) what was open.
    finished_ = true;
    pins_.clear();
    return absl::OkStatus();
  }
  if (!prepared_xid_.empty()) {
    absl::Status st = db_->AbortPrepared(prepared_xid_);
    if (st.ok()) Finish();
    return st;
  }
  for (const BlobId& id : new_value_blobs_) db_->blobs().Release(id);
  new_value_blobs_.clear();
  local_.clear();
  freed_.clear();
  Finish();
  return absl::OkStatus();
}

void TransactionImpl::Finish() {
  if (finished_) return;
  finished_ = true;
  pins_.clear();  // views end with the transaction
  if (replaying_ || orphaned_.load(std::memory_order_relaxed)) return;
  db_->EndTransaction(this, snapshot_);
}

}  // namespace sop
