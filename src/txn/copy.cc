// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "txn/copy.h"

#include "absl/strings/str_cat.h"
#include "sop/backend.h"
#include "txn/store_impl.h"

namespace sop {
namespace {

// A copy commits after this many bytes of entries, bounding its memory.
constexpr uint64_t kCopyBatchBytes = 16ull << 20;
// Out-of-node values are streamed in pieces of this size.
constexpr uint64_t kChunkBytes = 1ull << 20;

}  // namespace

absl::Status CopyStores(TransactionImpl& from, Database& to, const ProgressFn& progress) {
  auto names = from.ListStores();
  if (!names.ok()) return names.status();
  uint64_t copied = 0;
  std::string chunk;
  for (const std::string& name : *names) {
    auto meta = from.LookupStore(name);
    if (!meta.ok()) return meta.status();
    if (!meta->has_value()) continue;
    const Comparator* cmp = from.db()->FindComparator((*meta)->comparator);
    if (cmp == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("store ", name, " uses comparator \"", (*meta)->comparator,
                       "\", which is not among Options::comparators"));
    }
    StoreOptions so;
    so.unique = (*meta)->unique;
    so.comparator = cmp;
    so.max_value_in_node = (*meta)->max_value_in_node;
    auto source = from.OpenStore(name, so);
    if (!source.ok()) return source.status();
    const BTree& tree = static_cast<RawStoreImpl*>(*source)->tree();

    std::unique_ptr<Transaction> txn;
    RawStore* target = nullptr;
    uint64_t batch = 0;
    auto begin = [&]() -> absl::Status {
      auto t = to.Begin(TxnMode::kReadWrite);
      if (!t.ok()) return t.status();
      txn = std::move(*t);
      auto s = txn->OpenStore(name, so);
      if (!s.ok()) return s.status();
      target = *s;
      batch = 0;
      return absl::OkStatus();
    };
    if (auto st = begin(); !st.ok()) return st;
    TreePath path;
    if (auto st = tree.SeekFirst(from, &path); !st.ok()) return st;
    while (path.valid()) {
      const Node& leaf = path.leaf();
      const size_t i = path.pos();
      const absl::string_view key = leaf.key(i);
      uint64_t size = leaf.value(i).size();
      if (leaf.kind(i) == ValueKind::kInline) {
        if (auto st = target->Add(key, leaf.value(i)); !st.ok()) return st;
      } else {
        BlobId blob;
        if (!DecodeBlobId(leaf.value(i), &blob)) {
          return absl::DataLossError(absl::StrCat(
              "store ", name, ": a malformed value reference at key ", key.size(), " bytes long"));
        }
        size = blob.size;
        auto writer = target->NewValueWriter(key, size);
        if (!writer.ok()) return writer.status();
        for (uint64_t off = 0; off < size; off += chunk.size()) {
          chunk.resize(std::min(kChunkBytes, size - off));
          if (auto st = from.db()->ReadStoredRange(blob, off, absl::MakeSpan(chunk)); !st.ok()) {
            return st;
          }
          if (auto st = (*writer)->Append(chunk); !st.ok()) return st;
        }
        if (auto st = (*writer)->Finish(); !st.ok()) return st;
      }
      batch += key.size() + size;
      copied += key.size() + size;
      if (progress) progress(copied);
      if (batch >= kCopyBatchBytes) {
        if (auto st = txn->Commit(); !st.ok()) return st;
        if (auto st = begin(); !st.ok()) return st;
      }
      if (auto st = tree.Next(from, &path); !st.ok()) return st;
    }
    if (auto st = txn->Commit(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Database>> OpenCopyTarget(const std::string& path,
                                                         const Options& options,
                                                         uint64_t first_log_position) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  // Only a copy that never finished can be here: it is ours to discard.
  for (const char* suffix : {"", "-wal"}) {
    std::string file = path + suffix;
    if (env->FileExists(file)) {
      if (auto st = env->RemoveFile(file); !st.ok()) return st;
    }
  }
  FileBackendOptions fo = FileBackendOptionsOf(options);
  fo.create_if_missing = true;
  fo.first_log_position = first_log_position;
  auto backend = OpenFileBackend(path, fo);
  if (!backend.ok()) return backend.status();
  auto db = DatabaseImpl::Open(std::move(*backend), options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Database>(std::move(*db));
}

absl::Status InstallCopy(Env* env, const std::string& from, const std::string& to, bool keep_log) {
  if (keep_log) {
    if (auto st = env->RemoveFile(from + "-wal"); !st.ok()) return st;
  } else if (auto st = env->RenameFile(from + "-wal", to + "-wal"); !st.ok()) {
    return st;
  }
  if (auto st = env->RenameFile(from, to); !st.ok()) return st;
  if (auto st = env->SyncDir(DirName(to)); !st.ok()) return st;
  if (env->FileExists(from + "-lock")) return env->RemoveFile(from + "-lock");
  return absl::OkStatus();
}

absl::Status DatabaseImpl::Backup(const std::string& dest_path, const ProgressFn& progress) {
  Env* env = options_.env != nullptr ? options_.env : Env::Default();
  if (env->FileExists(dest_path)) {
    return absl::AlreadyExistsError(absl::StrCat(dest_path, ": already exists"));
  }
  auto snapshot = Begin(TxnMode::kReadOnly, {});
  if (!snapshot.ok()) return snapshot.status();
  const std::string partial = dest_path + "-partial";
  {
    auto copy = OpenCopyTarget(partial, options_, 0);
    if (!copy.ok()) return copy.status();
    if (auto st = CopyStores(static_cast<TransactionImpl&>(**snapshot), **copy, progress);
        !st.ok()) {
      return st;
    }
    // Closing would checkpoint too, but could not report a failure.
    if (auto st = (*copy)->Checkpoint(); !st.ok()) return st;
  }
  return InstallCopy(env, partial, dest_path, /*keep_log=*/false);
}

absl::Status Database::Compact(const std::string& path, const Options& options,
                               const ProgressFn& progress) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  Options existing = options;
  existing.create_if_missing = false;
  auto opened = Database::Open(path, existing);
  if (!opened.ok()) return opened.status();
  auto& source = static_cast<DatabaseImpl&>(**opened);
  if (size_t doubt = source.InDoubt().size(); doubt > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": ", doubt, " prepared transactions are in doubt; decide them before compacting"));
  }
  // The copy replaces the data file but keeps this log, which must hold
  // nothing: every commit in the data file, no prepared transaction.
  if (auto st = source.Checkpoint(); !st.ok()) return st;
  uint64_t records = 0;
  if (auto st = source.log().Replay(0,
                                    [&](const LogRecord&) {
                                      ++records;
                                      return absl::OkStatus();
                                    });
      !st.ok()) {
    return st;
  }
  if (records != 0) {
    return absl::InternalError(
        absl::StrCat(path, "-wal: ", records, " records left after a checkpoint; not compacting"));
  }
  auto snapshot = source.Begin(TxnMode::kReadOnly, {});
  if (!snapshot.ok()) return snapshot.status();
  const std::string partial = path + "-compacting";
  {
    auto copy = OpenCopyTarget(partial, options, source.log().last_seq());
    if (!copy.ok()) return copy.status();
    if (auto st = CopyStores(static_cast<TransactionImpl&>(**snapshot), **copy, progress);
        !st.ok()) {
      return st;
    }
    if (auto st = (*copy)->Checkpoint(); !st.ok()) return st;
  }
  snapshot->reset();
  // The source must not write to the log it hands over, nor checkpoint into
  // the data file it no longer owns, when it closes after the swap.
  source.CloseWithoutCheckpoint();
  // Still holding the database's lock, so no one sees the swap half done.
  return InstallCopy(env, partial, path, /*keep_log=*/true);
}

}  // namespace sop
