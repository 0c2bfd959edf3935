// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "backend/file/data_file.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "backend/limits.h"
#include "util/coding.h"

namespace sop {
namespace {

constexpr char kMagic[8] = {'S', 'O', 'P', '-', 'D', 'A', 'T', 'A'};
constexpr uint64_t kSlotSize = 512;
constexpr uint64_t kSlotUsed = 64;
constexpr uint32_t kBlobMagic = 0x31424C42;  // "BLB1"

uint64_t ChunkCount(uint64_t size) {
  return size <= DataFile::kChunkSize ? 0
                                      : (size + DataFile::kChunkSize - 1) / DataFile::kChunkSize;
}

enum class SlotState { kEmpty, kForeign, kDamaged, kValid };

SlotState ParseSlot(absl::string_view slot, DataFile::Header* h, uint32_t* version) {
  if (slot.size() < kSlotUsed) return SlotState::kEmpty;
  if (slot.find_first_not_of('\0') == absl::string_view::npos) return SlotState::kEmpty;
  if (slot.substr(0, 8) != absl::string_view(kMagic, 8)) return SlotState::kForeign;
  if (Checksum(slot.substr(0, kSlotUsed - 8), 0) != DecodeFixed64(slot.data() + 56)) {
    return SlotState::kDamaged;
  }
  *version = DecodeFixed32(slot.data() + 8);
  h->page_size = DecodeFixed32(slot.data() + 12);
  h->checkpoint_no = DecodeFixed64(slot.data() + 16);
  h->last_seq = DecodeFixed64(slot.data() + 24);
  h->state.page = DecodeFixed64(slot.data() + 32);
  h->state.size = DecodeFixed64(slot.data() + 40);
  h->page_count = DecodeFixed64(slot.data() + 48);
  return SlotState::kValid;
}

}  // namespace

bool DataFile::ValidPageSize(uint64_t page_size) {
  return page_size >= 512 && page_size <= 65536 && (page_size & (page_size - 1)) == 0;
}

absl::StatusOr<DataFile::Header> DataFile::ReadHeader(File& file) {
  std::string bytes(2 * kSlotSize, '\0');
  auto n = file.ReadAt(0, absl::MakeSpan(bytes));
  if (!n.ok()) return n.status();
  bytes.resize(*n);
  Header best;
  bool found = false, foreign = true;
  absl::Status version_error;
  for (int slot = 0; slot < 2; ++slot) {
    absl::string_view s =
        absl::string_view(bytes).substr(std::min<size_t>(bytes.size(), slot * kSlotSize));
    s = s.substr(0, kSlotSize);
    Header h;
    uint32_t version = 0;
    SlotState state = ParseSlot(s, &h, &version);
    if (state != SlotState::kForeign && state != SlotState::kEmpty) foreign = false;
    if (state != SlotState::kValid) continue;
    if (version != kFormatVersion) {
      version_error = absl::FailedPreconditionError(
          absl::StrCat(file.path(), ": data file format version ", version,
                       " is not supported (this library reads version ", kFormatVersion, ")"));
      continue;
    }
    if (!ValidPageSize(h.page_size) || h.state.size > kMaxBlobSize ||
        h.page_count > (uint64_t{1} << 48) / h.page_size) {
      continue;  // checksum-valid but impossible: treat the slot as damaged
    }
    if (!found || h.checkpoint_no > best.checkpoint_no) best = h;
    found = true;
  }
  if (found) return best;
  if (!version_error.ok()) return version_error;
  if (foreign && bytes.find_first_not_of('\0') != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(file.path(), ": not a SOP data file"));
  }
  return absl::DataLossError(
      absl::StrCat(file.path(), ": offset 0: both header slots are damaged or missing"));
}

DataFile::DataFile(std::unique_ptr<File> file, uint32_t page_size)
    : file_(std::move(file)),
      page_size_(page_size),
      first_blob_page_((2 * kSlotSize + page_size - 1) / page_size) {}

absl::Status DataFile::WriteHeader(const Header& h) {
  std::string s(kMagic, 8);
  PutFixed32(&s, kFormatVersion);
  PutFixed32(&s, h.page_size);
  PutFixed64(&s, h.checkpoint_no);
  PutFixed64(&s, h.last_seq);
  PutFixed64(&s, h.state.page);
  PutFixed64(&s, h.state.size);
  PutFixed64(&s, h.page_count);
  PutFixed64(&s, Checksum(s, 0));
  s.resize(kSlotSize, '\0');
  return file_->WriteAt((h.checkpoint_no % 2) * kSlotSize, s);
}

uint64_t DataFile::PagesFor(uint64_t size) const {
  uint64_t bytes = kBlobHeaderSize + size + 8 * ChunkCount(size);
  return (bytes + page_size_ - 1) / page_size_;
}

absl::Status DataFile::WriteBlob(BlobId id, absl::string_view data) {
  if (data.size() > kChunkSize) {
    Stream s(this, id);
    if (auto st = s.Append(data); !st.ok()) return st;
    return s.Finish();
  }
  std::string buf;
  buf.reserve(kBlobHeaderSize + data.size());
  PutFixed32(&buf, kBlobMagic);
  PutFixed32(&buf, 0);
  PutFixed64(&buf, data.size());
  PutFixed64(&buf, Checksum(data, id.page));
  PutFixed64(&buf, Checksum(buf, id.page));
  buf.append(data.data(), data.size());
  return WriteBlobBytes(Offset(id), buf);
}

absl::Status DataFile::WriteBlobBytes(uint64_t offset, absl::string_view data) {
  if (auto st = file_->WriteAt(offset, data); !st.ok()) return st;
  // Two writers may both cross the mark and both ask: a harmless extra hint.
  if (since_writeback_.fetch_add(data.size(), std::memory_order_relaxed) + data.size() >=
      kWritebackBytes) {
    since_writeback_.store(0, std::memory_order_relaxed);
    file_->StartWriteback();
  }
  return absl::OkStatus();
}

absl::Status DataFile::Damaged(BlobId id, uint64_t offset, absl::string_view what) const {
  return absl::DataLossError(
      absl::StrCat(file_->path(), ": page ", id.page, " at offset ", offset, ": ", what));
}

absl::Status DataFile::CheckExtent(BlobId id, uint64_t page_limit) const {
  if (id.page < first_blob_page_ || id.size > kMaxBlobSize || id.page >= page_limit ||
      PagesFor(id.size) > page_limit - id.page) {
    return absl::InvalidArgumentError(absl::StrCat(file_->path(), ": blob at page ", id.page,
                                                   " of ", id.size,
                                                   " bytes lies outside the data file"));
  }
  return absl::OkStatus();
}

absl::Status DataFile::ReadBlobHeader(BlobId id, uint64_t* body_checksum) {
  char h[kBlobHeaderSize];
  if (auto st = ReadExactly(*file_, Offset(id), absl::MakeSpan(h)); !st.ok()) {
    if (absl::IsDataLoss(st)) return Damaged(id, Offset(id), "blob lies past the end of the file");
    return st;
  }
  return CheckBlobHeader(id, h, body_checksum);
}

absl::Status DataFile::CheckBlobHeader(BlobId id, const char* h, uint64_t* body_checksum) const {
  if (DecodeFixed32(h) != kBlobMagic ||
      Checksum(absl::string_view(h, 24), id.page) != DecodeFixed64(h + 24)) {
    return Damaged(id, Offset(id), "blob header checksum mismatch");
  }
  if (DecodeFixed64(h + 8) != id.size) {
    return Damaged(id, Offset(id),
                   absl::StrCat("blob holds ", DecodeFixed64(h + 8), " bytes, expected ", id.size));
  }
  *body_checksum = DecodeFixed64(h + 16);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> DataFile::ReadTable(BlobId id, uint64_t body_checksum) {
  uint64_t n = ChunkCount(id.size);
  std::string raw(n * 8, '\0');
  uint64_t at = Offset(id) + kBlobHeaderSize + id.size;
  if (auto st = ReadExactly(*file_, at, absl::MakeSpan(raw)); !st.ok()) return st;
  if (Checksum(raw, id.page) != body_checksum) {
    return Damaged(id, at, "blob checksum table mismatch");
  }
  std::vector<uint64_t> table(n);
  for (uint64_t i = 0; i < n; ++i) table[i] = DecodeFixed64(raw.data() + 8 * i);
  return table;
}

absl::StatusOr<std::string> DataFile::ReadBlob(BlobId id, uint64_t page_limit) {
  if (auto st = CheckExtent(id, page_limit); !st.ok()) return st;
  if (id.size <= kOneReadBytes) {
    // Header and content in one read: a node or a small value costs one
    // system call, not two, and moving the content down costs less than a
    // second call.
    std::string out(kBlobHeaderSize + id.size, '\0');
    if (auto st = ReadExactly(*file_, Offset(id), absl::MakeSpan(out)); !st.ok()) {
      if (absl::IsDataLoss(st))
        return Damaged(id, Offset(id), "blob lies past the end of the file");
      return st;
    }
    uint64_t body_checksum = 0;
    if (auto st = CheckBlobHeader(id, out.data(), &body_checksum); !st.ok()) return st;
    if (Checksum(absl::string_view(out).substr(kBlobHeaderSize), id.page) != body_checksum) {
      return Damaged(id, Offset(id) + kBlobHeaderSize, "blob checksum mismatch");
    }
    out.erase(0, kBlobHeaderSize);
    return out;
  }
  std::string out(id.size, '\0');
  if (auto st = ReadBlobRange(id, 0, absl::MakeSpan(out), page_limit); !st.ok()) return st;
  return out;
}

absl::Status DataFile::ReadBlobRange(BlobId id, uint64_t offset, absl::Span<char> dst,
                                     uint64_t page_limit) {
  if (auto st = CheckExtent(id, page_limit); !st.ok()) return st;
  if (offset > id.size || dst.size() > id.size - offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("range ", offset, "+", dst.size(), " is outside blob of ", id.size, " bytes"));
  }
  uint64_t body_checksum = 0;
  if (auto st = ReadBlobHeader(id, &body_checksum); !st.ok()) return st;
  uint64_t content = Offset(id) + kBlobHeaderSize;
  // A checksummed unit (the whole blob up to kChunkSize, else each chunk)
  // the range covers entirely is read straight into `dst` and checked
  // there; only a unit the range cuts goes through a buffer of its own.
  std::string partial;
  auto read_unit = [&](uint64_t start, uint64_t size, uint64_t seed, uint64_t expected,
                       absl::string_view what) -> absl::Status {
    uint64_t from = std::max(start, offset), to = std::min(start + size, offset + dst.size());
    char* at = dst.data() + (from - offset);
    absl::Span<char> unit(at, size);
    if (from != start || to != start + size) {
      partial.resize(size);
      unit = absl::MakeSpan(partial);
    }
    if (auto st = ReadExactly(*file_, content + start, unit); !st.ok()) return st;
    if (Checksum(absl::string_view(unit.data(), unit.size()), seed) != expected) {
      return Damaged(id, content + start, what);
    }
    if (unit.data() != at && to > from) std::memcpy(at, unit.data() + (from - start), to - from);
    return absl::OkStatus();
  };
  if (id.size <= kChunkSize) {
    return read_unit(0, id.size, id.page, body_checksum, "blob checksum mismatch");
  }
  auto table = ReadTable(id, body_checksum);
  if (!table.ok()) return table.status();
  for (uint64_t pos = offset; pos < offset + dst.size();) {
    uint64_t i = pos / kChunkSize;
    uint64_t start = i * kChunkSize;
    uint64_t size = std::min(kChunkSize, id.size - start);
    if (auto st = read_unit(start, size, id.page + i, (*table)[i],
                            absl::StrCat("blob chunk ", i, " checksum mismatch"));
        !st.ok()) {
      return st;
    }
    pos = start + size;
  }
  return absl::OkStatus();
}

namespace {
class MappedBlob final : public BlobView {
 public:
  MappedBlob(std::unique_ptr<MappedRegion> region, uint64_t size)
      : region_(std::move(region)), size_(size) {}
  absl::string_view data() const override { return region_->data().substr(0, size_); }

 private:
  const std::unique_ptr<MappedRegion> region_;
  const uint64_t size_;
};
}  // namespace

absl::StatusOr<std::shared_ptr<const BlobView>> DataFile::MapBlob(BlobId id, uint64_t page_limit) {
  if (auto st = CheckExtent(id, page_limit); !st.ok()) return st;
  uint64_t body_checksum = 0;
  if (auto st = ReadBlobHeader(id, &body_checksum); !st.ok()) return st;
  uint64_t chunks = ChunkCount(id.size);
  uint64_t content = Offset(id) + kBlobHeaderSize;
  auto region = file_->Map(content, id.size + 8 * chunks);
  if (!region.ok()) return region.status();
  absl::string_view bytes = (*region)->data();
  if (chunks == 0) {
    if (Checksum(bytes, id.page) != body_checksum) {
      return Damaged(id, content, "blob checksum mismatch");
    }
  } else {
    absl::string_view table = bytes.substr(id.size);
    if (Checksum(table, id.page) != body_checksum) {
      return Damaged(id, content + id.size, "blob checksum table mismatch");
    }
    for (uint64_t i = 0; i < chunks; ++i) {
      if (Checksum(bytes.substr(i * kChunkSize, std::min(kChunkSize, id.size - i * kChunkSize)),
                   id.page + i) != DecodeFixed64(table.data() + 8 * i)) {
        return Damaged(id, content + i * kChunkSize,
                       absl::StrCat("blob chunk ", i, " checksum mismatch"));
      }
    }
  }
  return std::shared_ptr<const BlobView>(new MappedBlob(*std::move(region), id.size));
}

DataFile::Stream::Stream(DataFile* file, BlobId id) : file_(file), id_(id) {
  // XXH3's reset skips deriving the secret when the state's old seed equals
  // the new one, so a state in recycled memory must be zeroed first.
  std::memset(&chunk_, 0, sizeof(chunk_));
  XXH3_64bits_reset_withSeed(&chunk_, id.page);
}

absl::Status DataFile::Stream::Append(absl::string_view data) {
  if (data.size() > id_.size - written_) {
    return absl::InvalidArgumentError(absl::StrCat("blob writer: ", written_ + data.size(),
                                                   " bytes exceed the declared ", id_.size));
  }
  uint64_t at = file_->Offset(id_) + kBlobHeaderSize + written_;
  if (auto st = file_->WriteBlobBytes(at, data); !st.ok()) return st;
  // Feed the per-chunk checksums (only used when the blob is over one chunk).
  while (!data.empty()) {
    uint64_t room = kChunkSize - written_ % kChunkSize;
    uint64_t n = std::min<uint64_t>(room, data.size());
    XXH3_64bits_update(&chunk_, data.data(), n);
    written_ += n;
    data.remove_prefix(n);
    if (written_ % kChunkSize == 0 || written_ == id_.size) {
      table_.push_back(XXH3_64bits_digest(&chunk_));
      XXH3_64bits_reset_withSeed(&chunk_, id_.page + table_.size());
    }
  }
  return absl::OkStatus();
}

absl::Status DataFile::Stream::Finish() {
  if (written_ != id_.size) {
    return absl::InvalidArgumentError(
        absl::StrCat("blob writer: ", written_, " of ", id_.size, " declared bytes written"));
  }
  uint64_t body_checksum;
  if (id_.size <= kChunkSize) {
    body_checksum = table_.empty() ? Checksum("", id_.page) : table_[0];
  } else {
    std::string raw;
    for (uint64_t c : table_) PutFixed64(&raw, c);
    uint64_t at = file_->Offset(id_) + kBlobHeaderSize + id_.size;
    if (auto st = file_->file_->WriteAt(at, raw); !st.ok()) return st;
    body_checksum = Checksum(raw, id_.page);
  }
  std::string h;
  PutFixed32(&h, kBlobMagic);
  PutFixed32(&h, 0);
  PutFixed64(&h, id_.size);
  PutFixed64(&h, body_checksum);
  PutFixed64(&h, Checksum(h, id_.page));
  return file_->file_->WriteAt(file_->Offset(id_), h);
}

}  // namespace sop
