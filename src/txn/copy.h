// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Copying a database's contents, as seen by one snapshot, into another
// database: the work behind Database::Backup and Database::Compact.

#ifndef SOP_SRC_TXN_COPY_H_
#define SOP_SRC_TXN_COPY_H_

#include "sop/database.h"
#include "txn/transaction_impl.h"

namespace sop {

// Copies every store `from` sees into `to` (which must not have them yet),
// with the same uniqueness, comparator and value threshold. Entries are
// written in key order, so the copy's nodes come out full (append split);
// out-of-node values are streamed, never held whole. Commits every few MiB
// so the copy's memory stays bounded; `to` then holds a prefix of the copy
// if this fails. FailedPrecondition naming the store when its comparator is
// not among `to`'s Options::comparators.
absl::Status CopyStores(TransactionImpl& from, Database& to, const ProgressFn& progress);

// Opens a database at `path` ready to receive a copy, replacing a partial
// one a crashed copy left there.
absl::StatusOr<std::unique_ptr<Database>> OpenCopyTarget(const std::string& path,
                                                         const Options& options,
                                                         uint64_t first_log_position);

// Makes the closed copy at `from` the database at `to`: its log first (or,
// with `keep_log`, the log already at `to`, which the copy's log positions
// follow), then its data file, whose rename is the moment the copy appears.
// Syncs the directory; removes the copy's leftover files.
absl::Status InstallCopy(Env* env, const std::string& from, const std::string& to, bool keep_log);

}  // namespace sop

#endif  // SOP_SRC_TXN_COPY_H_
