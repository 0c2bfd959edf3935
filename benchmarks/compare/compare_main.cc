// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// sop_compare: the same workloads, keys and values through SOP and its
// peers (LMDB, LevelDB, RocksDB, SQLite), one engine after the other in one
// run, each with its own durable settings. Prints a table with every figure
// also as a ratio to the best peer of its row, and writes a CSV for
// benchmarks/plot_compare.sh. The rows are DESIGN.md section 6's, plus
// 2-thread reads, value sizes and concurrent committers.
//
//   sop_compare [--num N] [--dir D] [--csv F] [--engines sop,lmdb,leveldb,rocksdb,sqlite]

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine.h"
#include "machine_limits.h"

namespace sop::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string Key(uint64_t i) {
  return absl::StrFormat("%016llu", static_cast<unsigned long long>(i));
}

// A different value for every key (and every version of it), incompressible.
std::string Value(uint64_t i, uint64_t version, size_t size) {
  std::string v(size, '\0');
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ version * 0xC2B2AE3D27D4EB4Full;
  for (size_t j = 0; j < size; ++j) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    v[j] = static_cast<char>(33 + (x * 0x2545F4914F6CDD1Dull >> 58));
  }
  return v;
}

uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st;
    if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

struct Row {
  std::string workload, unit;
  bool higher_is_better = true;
  std::map<std::string, double> value;  // engine -> figure
};

class Harness {
 public:
  Harness(uint64_t num, std::string dir) : num_(num), dir_(std::move(dir)) {}

  // Runs every workload on `engine`; records figures in rows_.
  absl::Status Run(Engine& engine) {
    const std::string name = engine.name();
    std::printf("== %s: %s\n", name.c_str(), engine.settings().c_str());
    std::fflush(stdout);
    settings_.push_back(absl::StrCat(name, ": ", engine.settings()));
    const std::string dir = Fresh(name);
    if (auto st = engine.Open(dir); !st.ok()) return st;
    auto session = engine.NewSession();
    if (!session) return absl::InternalError("no session");

    // Fill: every key once, in random order, 1,000 per durable transaction.
    std::vector<uint64_t> order(num_);
    for (uint64_t i = 0; i < num_; ++i) order[i] = i;
    std::mt19937_64 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    auto t0 = Clock::now();
    if (auto st = WriteKeys(*session, order, 1000, 0, kValue); !st.ok()) return st;
    Record("fill random (1000 per txn)", "ops/s", true, name, num_ / Since(t0));

    // Reads in snapshots of 1,000 reads each.
    if (auto st = Reads(engine, name, 1); !st.ok()) return st;
    if (auto st = Reads(engine, name, 2); !st.ok()) return st;
    {
      const uint64_t scans = std::max<uint64_t>(1, num_ / 10);
      std::mt19937_64 r(7);
      t0 = Clock::now();
      for (uint64_t i = 0; i < scans; ++i) {
        if (i % 1000 == 0) {
          if (i) session->EndSnapshot();
          if (auto st = session->BeginSnapshot(); !st.ok()) return st;
        }
        uint64_t seen = 0;
        if (auto st = session->Scan(Key(r() % num_), 100, &seen); !st.ok()) return st;
      }
      session->EndSnapshot();
      Record("seek + 100 next", "scans/s", true, name, scans / Since(t0));
      if (auto st = session->BeginSnapshot(); !st.ok()) return st;
      t0 = Clock::now();
      uint64_t seen = 0;
      if (auto st = session->ScanAll(&seen); !st.ok()) return st;
      double s = Since(t0);
      session->EndSnapshot();
      if (seen != num_) return absl::InternalError(absl::StrCat("full scan saw ", seen));
      Record("full scan", "entries/s", true, name, seen / s);
    }
    session.reset();
    engine.Close();
    const double raw = static_cast<double>(num_) * (16 + kValue);
    Record("space after fill", "x raw", false, name, DiskBytes(dir) / raw);

    if (auto st = engine.Open(dir); !st.ok()) return st;
    session = engine.NewSession();
    // Churn: overwrites, then deletes, 100 per durable transaction.
    const uint64_t churn = std::max<uint64_t>(100, num_ / 10);
    std::vector<uint64_t> picks(churn);
    for (uint64_t& p : picks) p = rng() % num_;
    t0 = Clock::now();
    if (auto st = WriteKeys(*session, picks, 100, 1, kValue); !st.ok()) return st;
    Record("overwrite random (100 per txn)", "ops/s", true, name, churn / Since(t0));
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<uint64_t> doomed(order.begin(), order.begin() + churn);
    t0 = Clock::now();
    for (uint64_t i = 0; i < doomed.size(); i += 100) {
      Batch b;
      for (uint64_t j = i; j < std::min<uint64_t>(i + 100, doomed.size()); ++j) {
        b.deletes.push_back(Key(doomed[j]));
      }
      if (auto st = session->Write(b); !st.ok()) return st;
    }
    Record("delete random (100 per txn)", "ops/s", true, name, churn / Since(t0));

    // One put per durable transaction: the latency of a commit.
    std::vector<double> lat;
    for (uint64_t i = 0; i < 500; ++i) {
      Batch b;
      b.puts.emplace_back(Key(num_ + i), Value(num_ + i, 0, kValue));
      auto t = Clock::now();
      if (auto st = session->Write(b); !st.ok()) return st;
      lat.push_back(Since(t));
    }
    Record("one-put commit (median)", "us", false, name, MedianSeconds(lat) * 1e6);
    session.reset();
    engine.Close();
    const double live = static_cast<double>(num_ - churn + 500) * (16 + kValue);
    Record("space after churn", "x raw", false, name, DiskBytes(dir) / live);

    if (auto st = Committers(engine, name); !st.ok()) return st;
    if (auto st = ValueSizes(engine, name); !st.ok()) return st;
    std::filesystem::remove_all(dir);
    return absl::OkStatus();
  }

  void AddMachineRow() {
    Fresh("machine");
    Record("one-put commit (median)", "us", false, "bare fdatasync",
           BareFdatasyncSeconds(dir_ + "/machine") * 1e6);
    std::filesystem::remove_all(dir_ + "/machine");
  }

  void Print(FILE* csv) const {
    std::vector<std::string> engines;
    for (const Row& r : rows_) {
      for (const auto& [e, v] : r.value) {
        if (e != "bare fdatasync" &&
            std::find(engines.begin(), engines.end(), e) == engines.end()) {
          engines.push_back(e);
        }
      }
    }
    std::printf("\n%-38s %-10s", "workload", "unit");
    for (const std::string& e : engines) std::printf(" %12s", e.c_str());
    std::printf(" %14s\n", "SOP/best peer");
    if (csv) std::fprintf(csv, "workload,unit,engine,value,ratio_to_best_peer\n");
    for (const Row& r : rows_) {
      double best = 0;
      bool any = false;
      for (const auto& [e, v] : r.value) {
        if (e == "SOP" || e == "bare fdatasync") continue;
        if (!any || (r.higher_is_better ? v > best : v < best)) best = v;
        any = true;
      }
      std::printf("%-38s %-10s", r.workload.c_str(), r.unit.c_str());
      for (const std::string& e : engines) {
        auto it = r.value.find(e);
        if (it == r.value.end()) {
          std::printf(" %12s", "-");
        } else {
          std::printf(" %12s", Format(it->second).c_str());
        }
      }
      auto sop = r.value.find("SOP");
      if (any && sop != r.value.end()) std::printf(" %13.2fx", sop->second / best);
      if (auto bare = r.value.find("bare fdatasync");
          bare != r.value.end() && sop != r.value.end()) {
        std::printf("   (%.2f x one bare fdatasync of %.0f us)", sop->second / bare->second,
                    bare->second);
      }
      std::printf("\n");
      if (csv) {
        for (const auto& [e, v] : r.value) {
          std::fprintf(csv, "\"%s\",%s,%s,%.6g,%.4f\n", r.workload.c_str(), r.unit.c_str(),
                       e.c_str(), v, any ? v / best : 0.0);
        }
      }
    }
    std::printf("\nsettings:\n");
    for (const std::string& s : settings_) std::printf("  %s\n", s.c_str());
  }

 private:
  static constexpr size_t kValue = 100;

  static std::string Format(double v) {
    if (v >= 1e6) return absl::StrFormat("%.2fM", v / 1e6);
    if (v >= 1e4) return absl::StrFormat("%.1fK", v / 1e3);
    if (v >= 100) return absl::StrFormat("%.0f", v);
    return absl::StrFormat("%.2f", v);
  }

  std::string Fresh(const std::string& name) {
    std::string dir = dir_ + "/" + name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
  }

  void Record(const std::string& workload, const std::string& unit, bool higher_is_better,
              const std::string& engine, double value) {
    auto it = std::find_if(rows_.begin(), rows_.end(),
                           [&](const Row& r) { return r.workload == workload; });
    if (it == rows_.end()) {
      rows_.push_back({workload, unit, higher_is_better, {}});
      it = rows_.end() - 1;
    }
    it->value[engine] = value;
    std::printf("  %-38s %12s %s\n", workload.c_str(), Format(value).c_str(), unit.c_str());
    std::fflush(stdout);
  }

  absl::Status WriteKeys(Session& s, const std::vector<uint64_t>& keys, uint64_t per_txn,
                         uint64_t version, size_t value_size) {
    for (uint64_t i = 0; i < keys.size(); i += per_txn) {
      Batch b;
      for (uint64_t j = i; j < std::min<uint64_t>(i + per_txn, keys.size()); ++j) {
        b.puts.emplace_back(Key(keys[j]), Value(keys[j], version, value_size));
      }
      if (auto st = s.Write(b); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // Runs `body` in `threads` threads, each with a session of its own, and
  // `meanwhile` on this thread; the first error of any body, if any.
  static absl::Status InThreads(Engine& engine, int threads,
                                const std::function<absl::Status(Session&, int)>& body,
                                const std::function<void()>& meanwhile = {}) {
    std::vector<absl::Status> result(threads);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        auto s = engine.NewSession();
        result[t] = s ? body(*s, t) : absl::InternalError("no session");
      });
    }
    if (meanwhile) meanwhile();
    for (std::thread& t : ts) t.join();
    for (const absl::Status& st : result) {
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // `threads` threads each read num_/threads random keys, checking values.
  absl::Status Reads(Engine& engine, const std::string& name, int threads) {
    const uint64_t each = num_ / threads;
    auto t0 = Clock::now();
    absl::Status result = InThreads(engine, threads, [&](Session& s, int t) -> absl::Status {
      std::mt19937_64 r(100 + t);
      std::string v;
      for (uint64_t i = 0; i < each; ++i) {
        if (i % 1000 == 0) {
          if (i) s.EndSnapshot();
          if (auto st = s.BeginSnapshot(); !st.ok()) return st;
        }
        uint64_t k = r() % num_;
        if (auto st = s.Get(Key(k), &v); !st.ok()) return st;
        if (i % 4096 == 0 && v != Value(k, 0, kValue)) {
          return absl::DataLossError(absl::StrCat(name, ": wrong value for ", k));
        }
      }
      s.EndSnapshot();
      return absl::OkStatus();
    });
    if (!result.ok()) return result;
    Record(threads == 1 ? "random reads (1 thread)" : "random reads (2 threads)", "ops/s", true,
           name, each * threads / Since(t0));
    return absl::OkStatus();
  }

  // 1, 2, 4, 8 threads committing one put per durable transaction, 1.5 s each.
  absl::Status Committers(Engine& engine, const std::string& name) {
    for (int threads : {1, 2, 4, 8}) {
      const std::string dir = Fresh(name + "-commit");
      if (auto st = engine.Open(dir); !st.ok()) return st;
      std::atomic<bool> stop{false};
      std::atomic<uint64_t> commits{0};
      auto t0 = Clock::now();
      absl::Status result = InThreads(
          engine, threads,
          [&](Session& s, int t) -> absl::Status {
            for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
              Batch b;
              uint64_t k = static_cast<uint64_t>(t) << 40 | i;
              b.puts.emplace_back(Key(k), Value(k, 0, kValue));
              if (auto st = s.Write(b); !st.ok()) return st;
              commits.fetch_add(1, std::memory_order_relaxed);
            }
            return absl::OkStatus();
          },
          [&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            stop = true;
          });
      double s = Since(t0);
      engine.Close();
      std::filesystem::remove_all(dir);
      if (!result.ok()) return result;
      Record(absl::StrCat("one-put commits (", threads, " thread", threads > 1 ? "s)" : ")"),
             "commits/s", true, name, commits.load() / s);
    }
    return absl::OkStatus();
  }

  // Larger values: 64 MiB of them written (about 1 MiB per durable
  // transaction) and read back at random, in MiB/s.
  absl::Status ValueSizes(Engine& engine, const std::string& name) {
    for (size_t size : {size_t{4} << 10, size_t{64} << 10, size_t{1} << 20}) {
      const std::string dir = Fresh(name + "-values");
      if (auto st = engine.Open(dir); !st.ok()) return st;
      auto s = engine.NewSession();
      const uint64_t count = (64ull << 20) / size;
      const uint64_t per_txn = std::max<uint64_t>(1, (1ull << 20) / size);
      std::vector<uint64_t> keys(count);
      for (uint64_t i = 0; i < count; ++i) keys[i] = i;
      std::mt19937_64 r(size);
      std::shuffle(keys.begin(), keys.end(), r);
      auto t0 = Clock::now();
      if (auto st = WriteKeys(*s, keys, per_txn, 0, size); !st.ok()) return st;
      const double mib = static_cast<double>(count * size) / (1 << 20);
      std::string label = size >= (1 << 20) ? "1 MiB" : absl::StrCat(size >> 10, " KiB");
      Record(absl::StrCat("fill ", label, " values"), "MiB/s", true, name, mib / Since(t0));
      std::shuffle(keys.begin(), keys.end(), r);
      std::string v;
      t0 = Clock::now();
      if (auto st = s->BeginSnapshot(); !st.ok()) return st;
      for (uint64_t k : keys) {
        if (auto st = s->Get(Key(k), &v); !st.ok()) return st;
        if (v.size() != size) return absl::DataLossError("wrong value size");
      }
      s->EndSnapshot();
      Record(absl::StrCat("random reads of ", label, " values"), "MiB/s", true, name,
             mib / Since(t0));
      s.reset();
      engine.Close();
      std::filesystem::remove_all(dir);
    }
    return absl::OkStatus();
  }

  const uint64_t num_;
  const std::string dir_;
  std::vector<Row> rows_;
  std::vector<std::string> settings_;
};

int Main(int argc, char** argv) {
  uint64_t num = 1000000;
  std::string dir = "compare-data", csv_path = "compare.csv";
  std::string engines = "sop,lmdb,leveldb,rocksdb,sqlite";
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: sop_compare [--num N>=1000] [--dir D] [--csv F] "
                 "[--engines sop,lmdb,leveldb,rocksdb,sqlite]\n");
    return 2;
  };
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 == argc) return usage();  // a flag without its value, or --help
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--num" && absl::SimpleAtoi(value, &num) && num >= 1000) continue;
    if (flag == "--dir") {
      dir = value;
    } else if (flag == "--csv") {
      csv_path = value;
    } else if (flag == "--engines") {
      engines = value;
    } else {
      return usage();
    }
  }
  std::map<std::string, std::function<std::unique_ptr<Engine>()>> makers = {
      {"sop", NewSopEngine},
#ifdef SOP_COMPARE_LMDB
      {"lmdb", NewLmdbEngine},
#endif
#ifdef SOP_COMPARE_LEVELDB
      {"leveldb", NewLevelDbEngine},
#endif
#ifdef SOP_COMPARE_ROCKSDB
      {"rocksdb", NewRocksDbEngine},
#endif
#ifdef SOP_COMPARE_SQLITE
      {"sqlite", NewSqliteEngine},
#endif
  };
  std::filesystem::create_directories(dir);
  Harness h(num, dir);
  std::printf("sop_compare: %llu keys of 16 B, values of 100 B, in %s\n",
              static_cast<unsigned long long>(num), dir.c_str());
  h.AddMachineRow();
  for (absl::string_view e : absl::StrSplit(engines, ',')) {
    auto it = makers.find(std::string(e));
    if (it == makers.end()) {
      std::fprintf(stderr, "sop_compare: engine %s is not built in\n", std::string(e).c_str());
      return 2;
    }
    auto engine = it->second();
    if (auto st = h.Run(*engine); !st.ok()) {
      std::fprintf(stderr, "sop_compare: %s: %s\n", engine->name(), st.ToString().c_str());
      return 1;
    }
  }
  FILE* csv = std::fopen(csv_path.c_str(), "w");
  h.Print(csv);
  if (csv) std::fclose(csv);
  std::printf("CSV written to %s\n", csv_path.c_str());
  return 0;
}

}  // namespace
}  // namespace sop::bench

int main(int argc, char** argv) { return sop::bench::Main(argc, argv); }
