// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The demo the README runs: creates a database in a folder, stores blobs and
// metadata in atomic batches, streams a large blob, reads everything back,
// reopens, and checks it all again. At this stage of the project it drives
// the storage backend directly; it grows into the quickstart as the B-tree
// and transactions land.

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fmt/core.h"
#include "sop/sop.h"

namespace {

int Fail(const absl::Status& st) {
  fmt::print(stderr, "demo: {}\n", st.ToString());
  return 1;
}

std::string Greeting(int i) { return fmt::format("hello, blob number {}", i); }

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "demo-db";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/demo.sop";
  bool existed = std::filesystem::exists(path);

  std::vector<sop::BlobId> ids;
  {
    auto backend = sop::OpenFileBackend(path);
    if (!backend.ok()) return Fail(backend.status());
    sop::BlobStore& blobs = (*backend)->blobs();
    fmt::print("opened {} ({})\n", path, existed ? "existing" : "new");

    // One atomic batch: three small blobs, a streamed big one, a metadata
    // record naming them, and the deletion of the previous run's blobs.
    sop::WriteBatch batch;
    if (auto previous = blobs.GetMeta("demo.listing"); previous.ok()) {
      int dropped = 0;
      for (absl::string_view item : absl::StrSplit(*previous, ' ', absl::SkipEmpty())) {
        std::pair<std::string, std::string> parts = absl::StrSplit(item, ':');
        sop::BlobId id;
        if (!absl::SimpleAtoi(parts.first, &id.page) || !absl::SimpleAtoi(parts.second, &id.size)) {
          return Fail(absl::DataLossError("demo.listing is malformed"));
        }
        batch.Delete(id);
        ++dropped;
      }
      fmt::print("found the previous run's {} blobs; this batch deletes them\n", dropped);
    }
    std::string listing;
    for (int i = 0; i < 3; ++i) {
      std::string value = Greeting(i);
      auto id = blobs.Reserve(value.size());
      if (!id.ok()) return Fail(id.status());
      batch.Put(*id, value);
      ids.push_back(*id);
      listing += fmt::format("{}:{} ", id->page, id->size);
    }
    // A 16 MiB blob streamed straight to its place in the data file.
    constexpr uint64_t kBig = 16 << 20;
    auto writer = blobs.NewWriter(kBig);
    if (!writer.ok()) return Fail(writer.status());
    std::string chunk(1 << 20, '\0');
    for (uint64_t i = 0; i < kBig / chunk.size(); ++i) {
      std::fill(chunk.begin(), chunk.end(), static_cast<char>('a' + i % 26));
      if (auto st = (*writer)->Append(chunk); !st.ok()) return Fail(st);
    }
    auto big = (*writer)->Finish();
    if (!big.ok()) return Fail(big.status());
    batch.PutWritten(*big);
    ids.push_back(*big);
    listing += fmt::format("{}:{} ", big->page, big->size);
    batch.SetMeta("demo.listing", listing);
    if (auto st = blobs.Apply(batch); !st.ok()) return Fail(st);
    fmt::print("wrote 3 small blobs and a {} MiB blob in one durable batch\n", kBig >> 20);

    // The commit log: durable, ordered records.
    auto seq = (*backend)->log()->Append("demo ran");
    if (!seq.ok()) return Fail(seq.status());
    fmt::print("appended log record #{}\n", *seq);

    for (int i = 0; i < 3; ++i) {
      auto got = blobs.Read(ids[i]);
      if (!got.ok()) return Fail(got.status());
      fmt::print("  read back: \"{}\"\n", *got);
    }
  }  // closing checkpoints: the next open has nothing to replay

  auto backend = sop::OpenFileBackend(path);
  if (!backend.ok()) return Fail(backend.status());
  sop::BlobStore& blobs = (*backend)->blobs();
  auto listing = blobs.GetMeta("demo.listing");
  if (!listing.ok()) return Fail(listing.status());
  fmt::print("reopened; metadata demo.listing = \"{}\"\n", *listing);
  for (int i = 0; i < 3; ++i) {
    auto got = blobs.Read(ids[i]);
    if (!got.ok()) return Fail(got.status());
    if (*got != Greeting(i)) return Fail(absl::DataLossError("blob differs after reopen"));
  }
  std::string window(8, '\0');
  if (auto st = blobs.ReadRange(ids[3], (5 << 20) + 3, absl::MakeSpan(window)); !st.ok()) {
    return Fail(st);
  }
  fmt::print("after reopen: all blobs verified; bytes at 5 MiB of the big blob: \"{}\"\n", window);
  int records = 0;
  auto st = (*backend)->log()->Replay(0, [&](const sop::LogRecord&) {
    ++records;
    return absl::OkStatus();
  });
  if (!st.ok()) return Fail(st);
  fmt::print("the log holds {} record(s) from this and earlier runs\n", records);
  fmt::print("files: {} ({} bytes), {}-wal ({} bytes)\n", path, std::filesystem::file_size(path),
             path, std::filesystem::file_size(path + "-wal"));
  return 0;
}
