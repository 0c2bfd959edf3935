// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// A large value, as on-device AI stores model weights: a 1 GiB "model file"
// streamed into the database by 4 MiB chunks (never whole in memory), read
// back by chunks, then through a zero-copy view of the mapped file. Each
// path checks every byte. Usage: large_value [PATH] [MiB].

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "fmt/core.h"
#include "sop/sop.h"

namespace {

constexpr uint64_t kChunk = 4 << 20;

// The model's bytes are a function of their offset, so any byte can be checked.
char ByteAt(uint64_t offset) {
  uint64_t x = (offset >> 3) * 0x9E3779B97F4A7C15ull;
  return static_cast<char>((x >> ((offset & 7) * 8)) ^ (x >> 56));
}

void FillChunk(uint64_t offset, std::string* chunk) {
  for (size_t i = 0; i < chunk->size(); ++i) (*chunk)[i] = ByteAt(offset + i);
}

uint64_t FirstMismatch(absl::string_view bytes, uint64_t offset) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != ByteAt(offset + i)) return offset + i;
  }
  return UINT64_MAX;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const absl::Status& st) {
  fmt::print(stderr, "large_value: {}\n", st.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "large_value.sop";
  uint64_t size = (argc > 2 ? std::stoull(argv[2]) : 1024) << 20;
  for (const char* suffix : {"", "-wal"}) std::filesystem::remove(path + suffix);

  auto db = sop::Database::Open(path);
  if (!db.ok()) return Fail(db.status());

  // 1. Stream the value in: the writer puts the bytes straight into their
  // place in the data file; Commit makes them durable with the entry.
  auto start = std::chrono::steady_clock::now();
  absl::Status st = (*db)->Update([&](sop::Transaction& txn) -> absl::Status {
    auto models = txn.OpenStore("models");
    if (!models.ok()) return models.status();
    auto writer = (*models)->NewValueWriter("llm-weights.bin", size);
    if (!writer.ok()) return writer.status();
    std::string chunk;
    for (uint64_t off = 0; off < size; off += chunk.size()) {
      chunk.resize(std::min(kChunk, size - off));
      FillChunk(off, &chunk);
      if (auto s = (*writer)->Append(chunk); !s.ok()) return s;
    }
    return (*writer)->Finish();
  });
  if (!st.ok()) return Fail(st);
  fmt::print("wrote {} MiB by {} MiB chunks, durable, in {:.2f} s\n", size >> 20, kChunk >> 20,
             Seconds(start));

  // 2. Read it back by chunks (a copy into a buffer of our own) ...
  st = (*db)->View([&](sop::Transaction& txn) -> absl::Status {
    auto models = txn.OpenStore("models");
    if (!models.ok()) return models.status();
    auto reader = (*models)->NewValueReader("llm-weights.bin");
    if (!reader.ok()) return reader.status();
    if ((*reader)->size() != size) return absl::DataLossError("wrong size");
    start = std::chrono::steady_clock::now();
    std::string chunk;
    for (uint64_t off = 0; off < size; off += chunk.size()) {
      chunk.resize(std::min(kChunk, size - off));
      if (auto s = (*reader)->Read(off, absl::MakeSpan(chunk)); !s.ok()) return s;
      if (uint64_t bad = FirstMismatch(chunk, off); bad != UINT64_MAX) {
        return absl::DataLossError(fmt::format("chunked read: wrong byte at {}", bad));
      }
    }
    fmt::print("read back by chunks and checked every byte in {:.2f} s\n", Seconds(start));

    // 3. ... and through a view: the database file's pages, mapped read-only
    // and verified once; no copy. Valid until the transaction ends.
    start = std::chrono::steady_clock::now();
    auto view = (*reader)->View();
    if (!view.ok()) return view.status();
    if (uint64_t bad = FirstMismatch(*view, 0); bad != UINT64_MAX) {
      return absl::DataLossError(fmt::format("view: wrong byte at {}", bad));
    }
    fmt::print("viewed without a copy and checked every byte in {:.2f} s\n", Seconds(start));
    return absl::OkStatus();
  });
  if (!st.ok()) return Fail(st);
  db->reset();
  fmt::print("database file: {} MiB for a {} MiB value\n", std::filesystem::file_size(path) >> 20,
             size >> 20);
  for (const char* suffix : {"", "-wal", "-lock"}) std::filesystem::remove(path + suffix);
  return 0;
}
