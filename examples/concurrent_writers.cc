// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Many threads writing at once. Each adds to shared counters through
// Database::Update, which commits optimistically and, when another commit
// changed the same keys first, runs the function again. No increment is
// lost; writers of different keys never conflict, even in the same node.

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fmt/core.h"
#include "sop/sop.h"

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "concurrent.sop";
  for (const char* suffix : {"", "-wal"}) std::filesystem::remove(path + suffix);
  auto db = sop::Database::Open(path);
  if (!db.ok()) {
    fmt::print(stderr, "{}\n", db.status().ToString());
    return 1;
  }
  constexpr int kThreads = 8, kIncrementsPerThread = 200, kCounters = 4;
  std::atomic<int> attempts{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        // Each transaction moves one counter up; also records its own key,
        // which conflicts with nobody.
        std::string counter = fmt::format("counter-{}", (t + i) % kCounters);
        absl::Status st = (*db)->Update(
            [&](sop::Transaction& txn) -> absl::Status {
              attempts.fetch_add(1);
              sop::Store<std::string, int64_t> counters(txn, "counters");
              if (!counters.ok()) return counters.status();
              auto now = counters.Get(counter);
              int64_t value = now.ok() ? *now : 0;
              if (!now.ok() && !absl::IsNotFound(now.status())) return now.status();
              if (auto s = counters.Put(counter, value + 1); !s.ok()) return s;
              sop::Store<std::string, int64_t> log(txn, "log");
              if (!log.ok()) return log.status();
              return log.Put(fmt::format("thread-{}-{:04}", t, i), value + 1);
            },
            {.max_attempts = 1000});
        if (!st.ok()) {
          fmt::print(stderr, "thread {}: {}\n", t, st.ToString());
          failed = true;
          return;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  if (failed) return 1;

  int64_t total = 0;
  absl::Status st = (*db)->View([&](sop::Transaction& txn) -> absl::Status {
    sop::Store<std::string, int64_t> counters(txn, "counters");
    if (!counters.ok()) return counters.status();
    for (int c = 0; c < kCounters; ++c) {
      auto v = counters.Get(fmt::format("counter-{}", c));
      if (!v.ok()) return v.status();
      total += *v;
    }
    return absl::OkStatus();
  });
  if (!st.ok()) {
    fmt::print(stderr, "{}\n", st.ToString());
    return 1;
  }
  const int commits = kThreads * kIncrementsPerThread;
  fmt::print("{} threads committed {} increments in {} attempts ({} retried after a conflict)\n",
             kThreads, commits, attempts.load(), attempts.load() - commits);
  fmt::print("counters sum to {} (expected {}): {}\n", total, commits,
             total == commits ? "no update lost" : "LOST UPDATES");
  db->reset();
  for (const char* suffix : {"", "-wal", "-lock"}) std::filesystem::remove(path + suffix);
  return total == commits ? 0 : 1;
}
