// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The comparison program's view of a storage engine: what every engine can
// do, so that the same workload, keys and values run through each. One
// adapter per engine, each with that engine's durable, recommended settings.

#ifndef SOP_BENCHMARKS_COMPARE_ENGINE_H_
#define SOP_BENCHMARKS_COMPARE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace sop::bench {

// One durable transaction's changes.
struct Batch {
  std::vector<std::pair<std::string, std::string>> puts;
  std::vector<std::string> deletes;
};

// One thread's handle on an open engine. Reads happen inside a snapshot the
// harness starts and ends (every 1,000 reads), as an application would.
class Session {
 public:
  virtual ~Session() = default;
  // Applies the batch in one transaction and returns once it is durable.
  virtual absl::Status Write(const Batch& batch) = 0;
  virtual absl::Status BeginSnapshot() = 0;
  virtual void EndSnapshot() = 0;
  // NotFound when absent. The value is copied out.
  virtual absl::Status Get(const std::string& key, std::string* value) = 0;
  // Visits up to `n` entries from the first key >= `from`; returns how many.
  virtual absl::Status Scan(const std::string& from, uint64_t n, uint64_t* seen) = 0;
  // Visits every entry in key order, touching each value; returns how many.
  virtual absl::Status ScanAll(uint64_t* seen) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;
  // The settings used, for the report.
  virtual std::string settings() const = 0;
  // Opens (creating) a database in the empty directory `dir`.
  virtual absl::Status Open(const std::string& dir) = 0;
  // Closes cleanly (so the files on disk are what a restart would find).
  virtual void Close() = 0;
  virtual std::unique_ptr<Session> NewSession() = 0;
};

std::unique_ptr<Engine> NewSopEngine();
#ifdef SOP_COMPARE_LMDB
std::unique_ptr<Engine> NewLmdbEngine();
#endif
#ifdef SOP_COMPARE_LEVELDB
std::unique_ptr<Engine> NewLevelDbEngine();
#endif
#ifdef SOP_COMPARE_ROCKSDB
std::unique_ptr<Engine> NewRocksDbEngine();
#endif
#ifdef SOP_COMPARE_SQLITE
std::unique_ptr<Engine> NewSqliteEngine();
#endif

}  // namespace sop::bench

#endif  // SOP_BENCHMARKS_COMPARE_ENGINE_H_
