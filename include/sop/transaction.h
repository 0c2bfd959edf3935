// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#ifndef SOP_TRANSACTION_H_
#define SOP_TRANSACTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sop/options.h"
#include "sop/store.h"

namespace sop {

// A unit of work over any number of stores of one database (see
// Database::Begin). A read-only transaction reads the snapshot taken when it
// began. A read-write transaction sees its own changes; they become visible
// to others, all at once, when Commit() returns OK, and only then, by which
// time they are durable.
//
// Destroying an unfinished transaction rolls it back. Not thread-safe: one
// thread at a time. The RawStores and Cursors it hands out must not outlive it.
// If its database is closed first, every call fails with FailedPrecondition.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // The store named `name`. In a read-write transaction a missing store is
  // created with `options` (durably, with the commit). Errors: NotFound (no
  // such store, read-only transaction), FailedPrecondition (the store
  // exists with another comparator or uniqueness than `options` asks for),
  // InvalidArgument (empty name or transaction finished).
  virtual absl::StatusOr<RawStore*> OpenStore(absl::string_view name,
                                              const StoreOptions& options = {}) = 0;
  // Deletes a store and all its entries. NotFound if absent.
  virtual absl::Status DropStore(absl::string_view name) = 0;
  // Names of all stores, in order.
  virtual absl::StatusOr<std::vector<std::string>> ListStores() = 0;

  // Makes every change durable and visible, atomically. On error nothing of
  // the transaction is visible, now or after a crash, and it is rolled back.
  // A read-only transaction just ends.
  virtual absl::Status Commit() = 0;
  // Discards every change. OK also when there were none. For a prepared
  // transaction the abort is made durable first.
  virtual absl::Status Rollback() = 0;

  // Two-phase commit, so that an application can commit several databases
  // (or a database and an outside resource) atomically:
  //
  // Phase one. Checks the transaction against everything committed since its
  // snapshot and makes it durable as prepared under `xid` (chosen by the
  // coordinator, unique among undecided transactions), without making it
  // visible. From then on it holds its keys: a transaction that conflicts
  // with them fails with Aborted until this one is decided. If the process
  // dies now, the transaction comes back after reopen in
  // Database::InDoubt() and is decided there. No change is accepted after
  // Prepare. Errors: Aborted (a conflict; nothing is prepared),
  // AlreadyExists (xid in use), InvalidArgument (read-only or finished).
  virtual absl::Status Prepare(absl::string_view xid) = 0;
  // Phase two: makes the prepared transaction visible, durably. (Commit()
  // does the same on a prepared transaction; Rollback() aborts it.)
  virtual absl::Status CommitPrepared() = 0;

  virtual TxnMode mode() const = 0;
};

}  // namespace sop

#endif  // SOP_TRANSACTION_H_
