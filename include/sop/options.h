// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Options for databases, stores and transactions, and the Comparator that
// orders a store's keys.

#ifndef SOP_OPTIONS_H_
#define SOP_OPTIONS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sop/env.h"

namespace spdlog {
class logger;
}

namespace sop {

// The largest key a store accepts; longer keys give InvalidArgument.
inline constexpr size_t kMaxKeySize = 4096;
// The largest value a store accepts (1 TiB); larger gives InvalidArgument.
inline constexpr uint64_t kMaxValueSize = uint64_t{1} << 40;

// Orders the keys of a store. Its Name() is persisted with the store, and
// opening the store with a comparator of another name fails with
// FailedPrecondition, so a rename is a format change. Implementations must
// be thread-safe and must outlive every database that uses them.
class Comparator {
 public:
  virtual ~Comparator() = default;
  // < 0, 0, > 0 as a is less than, equal to, or greater than b.
  virtual int Compare(absl::string_view a, absl::string_view b) const = 0;
  virtual const char* Name() const = 0;
};

// memcmp order (shorter first on a common prefix). Name "sop.bytewise".
const Comparator* BytewiseComparator();

// The largest StoreOptions::max_value_in_node: 64 KiB.
inline constexpr uint32_t kMaxValueInNode = 64 << 10;

struct StoreOptions {
  // false lets the store hold several entries with the same key (SOP's
  // IsUnique=false); they keep the order they were added in.
  bool unique = true;
  // nullptr means BytewiseComparator().
  const Comparator* comparator = nullptr;
  // Values longer than this many bytes are stored outside the B-tree node as
  // their own blob (SOP's value-in-node flag); shorter ones live in the leaf.
  // At most kMaxValueInNode (else InvalidArgument when the store is created).
  uint32_t max_value_in_node = 1024;
};

enum class TxnMode {
  kReadOnly,   // a snapshot: never blocks, never blocked, never aborts
  kReadWrite,  // many at once; conflicts on keys are found at commit (Aborted)
};

struct TxnOptions {
  // Snapshot isolation (false): a transaction conflicts only with writes to
  // the keys it writes. Serializable (true): also with writes to the keys it
  // read and into the ranges its cursors scanned since its snapshot, which
  // refuses write skew (docs/guarantees.md). Read-write transactions only.
  bool serializable = false;
  // Past this much time since Begin, every call fails with DeadlineExceeded
  // and the transaction holds nothing.
  absl::Duration timeout = absl::InfiniteDuration();
};

// How Database::Update retries a transaction that lost a conflict.
struct RetryOptions {
  int max_attempts = 10;
  absl::Duration initial_backoff = absl::Microseconds(100);  // doubles, jittered
  absl::Duration max_backoff = absl::Milliseconds(50);
  TxnOptions txn;
};

struct Options {
  // All file access; nullptr means Env::Default().
  Env* env = nullptr;
  // Create the database files if missing (else NotFound).
  bool create_if_missing = true;
  // Bytes of decoded, clean B-tree nodes kept in memory. Nodes changed since
  // the last checkpoint are held besides, up to checkpoint_dirty_bytes.
  uint64_t cache_bytes = 64ull << 20;
  // A checkpoint is due after a commit once the commit log has grown by this
  // much since the last one...
  uint64_t checkpoint_log_bytes = 32ull << 20;
  // ...or once nodes changed since the last checkpoint take this much memory
  // (more, by what commits change while a checkpoint writes: up to twice
  // this, where commits wait for the checkpoint, see below). 0 means a
  // quarter of cache_bytes, and at least 32 MiB: random writes dirty whole
  // nodes, and each checkpoint rewrites every node dirtied since the last,
  // so the more changes one checkpoint gathers, the fewer bytes it writes
  // per change (decision 0018).
  uint64_t checkpoint_dirty_bytes = 0;
  // Where a due checkpoint runs. true: on a thread of the database's own,
  // started at the first one, so that the commit that crossed a threshold
  // returns as soon as it is durable. Commits wait for checkpoints only
  // when the log or the changed nodes reach twice their threshold while one
  // writes: then the commit runs the next one itself, which bounds the
  // memory changed nodes hold. The logger is then called from that thread
  // too. false: no thread; the commit that crosses a threshold runs the
  // checkpoint before it returns, so file operations come in an order that
  // repeats from run to run (as deterministic fault-injection tests need).
  bool background_checkpoints = true;
  // A checkpoint whose node and registry blobs total at most this many bytes
  // carries them in its log record: one sync. A larger one writes each blob
  // to the data file as soon as it is encoded (it holds no encoded copy of
  // what it writes) and syncs the data file before its record: two syncs.
  uint64_t checkpoint_inline_bytes = 256ull << 10;
  // Comparators by name, for stores created with a custom comparator: the
  // log is replayed on open, before any store is opened, and replaying
  // changes to such a store needs its comparator. Opening a database whose
  // log holds changes to a store whose comparator is missing here fails
  // with FailedPrecondition. Each must outlive the database.
  std::vector<const Comparator*> comparators;
  // Where to log recovery and checkpoints; nullptr means no logging.
  std::shared_ptr<spdlog::logger> logger;
};

}  // namespace sop

#endif  // SOP_OPTIONS_H_
