// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The data file, `<path>`: fixed-size pages.
//
//   bytes 0..511 and 512..1023: two header slots (see Header); a checkpoint
//     writes the slot its number selects, so a torn header write leaves the
//     other slot, and the checkpoint before, intact. Blob pages start at the
//     first page boundary at or after byte 1024.
//   a blob: an extent of whole pages starting with a 32-byte blob header
//     magic u32 "BLB1", zero u32, size u64, body checksum u64,
//     header checksum u64 (XXH3 of the 24 bytes before it, seeded with page)
//   then the content. Up to 1 MiB the body checksum is XXH3 of the content
//   seeded with the page; above, the content is followed by one XXH3 per
//   1 MiB chunk and the body checksum covers that table, so a window of a
//   huge blob is verified by reading about the window.

#ifndef SOP_SRC_BACKEND_FILE_DATA_FILE_H_
#define SOP_SRC_BACKEND_FILE_DATA_FILE_H_

#include <xxhash.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sop/backend.h"
#include "sop/env.h"

namespace sop {

class DataFile {
 public:
  static constexpr uint64_t kBlobHeaderSize = 32;
  static constexpr uint64_t kChunkSize = uint64_t{1} << 20;
  // Blobs up to this size are read with their header in one call; larger
  // ones in two, straight into the caller's buffer: past it, moving the
  // content down costs more than the second system call.
  static constexpr uint64_t kOneReadBytes = uint64_t{16} << 10;
  // Blob bytes written between two writeback hints (File::StartWriteback).
  static constexpr uint64_t kWritebackBytes = uint64_t{4} << 20;

  struct Header {
    uint32_t page_size = 0;
    uint64_t checkpoint_no = 0;  // higher wins; selects the slot
    uint64_t last_seq = 0;       // every WAL batch up to here is in this image
    BlobId state;                // the checkpoint's state blob; page 0 = empty state
    uint64_t page_count = 0;     // pages the image spans
  };

  static constexpr uint32_t kFormatVersion = 1;

  static bool ValidPageSize(uint64_t page_size);

  // Reads both header slots and returns the newest valid one. DataLoss if
  // both are damaged; FailedPrecondition if the file is not a SOP data file
  // or has an unsupported format version.
  static absl::StatusOr<Header> ReadHeader(File& file);

  DataFile(std::unique_ptr<File> file, uint32_t page_size);

  // Writes the slot `h.checkpoint_no` selects. Not synced.
  absl::Status WriteHeader(const Header& h);

  uint32_t page_size() const { return page_size_; }
  uint64_t first_blob_page() const { return first_blob_page_; }
  // Pages an extent holding a blob of `size` bytes spans.
  uint64_t PagesFor(uint64_t size) const;
  File& file() { return *file_; }

  // Writes a whole blob into its (reserved) extent. Not synced.
  absl::Status WriteBlob(BlobId id, absl::string_view data);
  // Reads and verifies a whole blob. `page_limit` bounds the extent, so a
  // damaged id never makes us allocate or read beyond the file.
  absl::StatusOr<std::string> ReadBlob(BlobId id, uint64_t page_limit);
  absl::Status ReadBlobRange(BlobId id, uint64_t offset, absl::Span<char> dst, uint64_t page_limit);
  // Maps a blob's content (and checksum table) into memory and verifies it.
  absl::StatusOr<std::shared_ptr<const BlobView>> MapBlob(BlobId id, uint64_t page_limit);

  // Streams a blob's content in order; Finish() writes the checksum table
  // and the blob header. Not thread-safe; not synced.
  class Stream {
   public:
    Stream(DataFile* file, BlobId id);
    absl::Status Append(absl::string_view data);
    absl::Status Finish();
    uint64_t written() const { return written_; }

   private:
    DataFile* const file_;
    const BlobId id_;
    uint64_t written_ = 0;
    XXH3_state_t chunk_;
    std::vector<uint64_t> table_;
  };

 private:
  absl::Status CheckExtent(BlobId id, uint64_t page_limit) const;
  absl::Status ReadBlobHeader(BlobId id, uint64_t* body_checksum);
  // Checks a blob header read into `h` (kBlobHeaderSize bytes) against `id`.
  absl::Status CheckBlobHeader(BlobId id, const char* h, uint64_t* body_checksum) const;
  absl::StatusOr<std::vector<uint64_t>> ReadTable(BlobId id, uint64_t body_checksum);
  absl::Status Damaged(BlobId id, uint64_t offset, absl::string_view what) const;
  uint64_t Offset(BlobId id) const { return id.page * page_size_; }
  // Writes blob bytes, starting the disk on them every kWritebackBytes: a
  // checkpoint or a large value then reaches its sync with little left to
  // write, and the log's syncs do not queue behind all of it at once.
  absl::Status WriteBlobBytes(uint64_t offset, absl::string_view data);

  const std::unique_ptr<File> file_;
  std::atomic<uint64_t> since_writeback_{0};
  const uint32_t page_size_;
  const uint64_t first_blob_page_;
};

}  // namespace sop

#endif  // SOP_SRC_BACKEND_FILE_DATA_FILE_H_
