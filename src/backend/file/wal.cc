// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "backend/file/wal.h"

#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "util/status.h"

namespace sop {
namespace {

constexpr char kMagic[8] = {'S', 'O', 'P', 'W', 'A', 'L', '0', '1'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kRecordHeader = 32;
constexpr uint64_t kMaxSeqJump = uint64_t{1} << 40;

uint64_t Padded(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

uint64_t RecordChecksum(uint64_t salt, const char* header24, absl::string_view payload) {
  XXH3_state_t state;
  std::memset(&state, 0, sizeof(state));  // see DataFile::Stream: reset reads the old seed
  XXH3_64bits_reset_withSeed(&state, salt);
  XXH3_64bits_update(&state, header24, 24);
  XXH3_64bits_update(&state, payload.data(), payload.size());
  return XXH3_64bits_digest(&state);
}

void AppendRecord(std::string* out, uint64_t salt, WalRecordType type, uint64_t seq,
                  uint64_t group_offset, absl::string_view payload) {
  char h[kRecordHeader] = {};
  EncodeFixed32(h, static_cast<uint32_t>(payload.size()));
  h[4] = static_cast<char>(type);
  EncodeFixed64(h + 8, seq);
  EncodeFixed64(h + 16, group_offset);
  EncodeFixed64(h + 24, RecordChecksum(salt, h, payload));
  out->reserve(out->size() + kRecordHeader + Padded(payload.size()));
  out->append(h, kRecordHeader);
  out->append(payload.data(), payload.size());
  out->append(Padded(payload.size()) - payload.size(), '\0');
}

std::string EncodeHeader(uint64_t base_seq, uint64_t salt) {
  std::string h(kMagic, 8);
  PutFixed32(&h, kFormatVersion);
  PutFixed32(&h, 0);
  PutFixed64(&h, base_seq);
  PutFixed64(&h, salt);
  h.resize(Wal::kHeaderSize - 8, '\0');
  PutFixed64(&h, Checksum(h, 0));
  return h;
}

uint64_t NewSalt() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

// A record that passed every check, found at some offset.
struct Candidate {
  WalRecordType type;
  uint64_t seq;
  uint64_t group_offset;
  absl::string_view payload;
  uint64_t next;  // offset just past it
};

// Decodes the record at `off` if it is wholly valid, newer than `prev_seq`
// and no further than kMaxSeqJump past `near` (the log's base or the record
// before: kept records of a rewritten log may be older than its base).
// `content` starts at file offset `at`; offsets in *c are content's.
bool TryRecord(absl::string_view content, uint64_t off, uint64_t salt, uint64_t prev_seq,
               uint64_t near, Candidate* c, uint64_t at = 0) {
  if (off > content.size() || content.size() - off < kRecordHeader) return false;
  const char* h = content.data() + off;
  uint32_t len = DecodeFixed32(h);
  uint8_t type = static_cast<uint8_t>(h[4]);
  if (type < 1 || type > 5 || h[5] != 0 || h[6] != 0 || h[7] != 0) return false;
  uint64_t seq = DecodeFixed64(h + 8);
  uint64_t group_offset = DecodeFixed64(h + 16);
  if (seq <= prev_seq || seq > near + kMaxSeqJump || group_offset > at + off) return false;
  if (content.size() - off - kRecordHeader < Padded(len)) return false;
  absl::string_view payload = content.substr(off + kRecordHeader, len);
  absl::string_view padding = content.substr(off + kRecordHeader + len, Padded(len) - len);
  if (padding.find_first_not_of('\0') != absl::string_view::npos) return false;
  if (DecodeFixed64(h + 24) != RecordChecksum(salt, h, payload)) return false;
  *c = {static_cast<WalRecordType>(type), seq, group_offset, payload,
        off + kRecordHeader + Padded(len)};
  return true;
}

// Appends the valid records from *off on to *records, leaving *off at the
// first offset that holds none and *prev_seq at the last record's seq.
void ReadRecords(absl::string_view content, uint64_t salt, uint64_t base_seq, uint64_t* off,
                 uint64_t* prev_seq, std::vector<WalRecordView>* records, uint64_t at = 0) {
  Candidate c;
  while (TryRecord(content, *off, salt, *prev_seq, std::max(*prev_seq, base_seq), &c, at)) {
    records->push_back({c.type, c.seq, c.payload});
    *prev_seq = c.seq;
    *off = c.next;
  }
}

// The bytes a pass over synced records reads at a time: a log of tens of
// megabytes is never held whole.
constexpr uint64_t kScanWindow = uint64_t{1} << 20;

// Calls `fn` for every record in [from, to) of `file`, which earlier syncs
// made durable, reading a window at a time (a record larger than the window
// gets one of its own size). Records must continue *prev_seq and fill the
// range exactly: anything else is DataLoss naming the offset. Stops at the
// first error `fn` returns, and returns it.
absl::Status ScanSynced(File& file, const std::string& path, uint64_t from, uint64_t to,
                        uint64_t salt, uint64_t base_seq, uint64_t* prev_seq,
                        const std::function<absl::Status(const WalRecordView&)>& fn) {
  std::string window;
  std::vector<WalRecordView> records;
  uint64_t want = kScanWindow;
  for (uint64_t pos = from; pos < to;) {
    window.resize(std::min(want, to - pos));
    if (auto st = ReadExactly(file, pos, absl::MakeSpan(window)); !st.ok()) return st;
    uint64_t off = 0;
    records.clear();
    ReadRecords(window, salt, base_seq, &off, prev_seq, &records, pos);
    for (const WalRecordView& r : records) {
      if (auto st = fn(r); !st.ok()) return st;
    }
    if (off == 0) {
      // Nothing whole here: a record longer than the window, or damage.
      uint64_t need =
          window.size() < kRecordHeader ? 0 : kRecordHeader + Padded(DecodeFixed32(window.data()));
      if (need <= window.size() || need > to - pos) {
        return absl::DataLossError(
            absl::StrCat(path, ": offset ", pos,
                         ": a synced WAL record does not read back (the log ends at ", to, ")"));
      }
      want = need;
      continue;
    }
    pos += off;
    want = kScanWindow;
  }
  return absl::OkStatus();
}

}  // namespace

struct Wal::Writer {
  WalRecordType type;
  std::string payload;
  uint64_t seq = 0;
  absl::Status status;
  // Set under mu_ once seq and status are final; read without mu_ by a
  // committer yielding.
  std::atomic<bool> done{false};
  CondVar cv;
};

Wal::Wal(Env* env, std::string path, std::unique_ptr<File> file, uint64_t base_seq, uint64_t salt,
         uint64_t end, uint64_t last_seq)
    : env_(env),
      path_(std::move(path)),
      file_(std::move(file)),
      base_seq_(base_seq),
      salt_(salt),
      end_(end),
      size_(end),
      last_seq_(last_seq),
      next_seq_(last_seq + 1) {}

Wal::~Wal() = default;

absl::StatusOr<std::unique_ptr<Wal>> Wal::Create(Env* env, const std::string& path,
                                                 uint64_t base_seq) {
  auto file = env->OpenFile(path, OpenMode::kCreateIfMissing);
  if (!file.ok()) return file.status();
  uint64_t salt = NewSalt();
  if (auto st = (*file)->Truncate(0); !st.ok()) return st;
  if (auto st = (*file)->WriteAt(0, EncodeHeader(base_seq, salt)); !st.ok()) return st;
  if (auto st = (*file)->Sync(); !st.ok()) return st;
  return std::unique_ptr<Wal>(
      new Wal(env, path, std::move(*file), base_seq, salt, kHeaderSize, base_seq));
}

absl::StatusOr<std::string> Wal::ReadAll(File& file) {
  auto size = file.Size();
  if (!size.ok()) return size.status();
  std::string content(*size, '\0');
  if (auto st = ReadExactly(file, 0, absl::MakeSpan(content)); !st.ok()) return st;
  return content;
}

absl::Status Wal::Parse(const std::string& path, absl::string_view content, uint64_t* base_seq,
                        uint64_t* salt, uint64_t* end, std::vector<WalRecordView>* records) {
  if (content.size() < kHeaderSize) {
    return absl::DataLossError(absl::StrCat(path, ": offset 0: WAL header is missing (file has ",
                                            content.size(), " bytes)"));
  }
  if (content.compare(0, 8, kMagic, 8) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a SOP write-ahead log"));
  }
  absl::string_view header(content.data(), kHeaderSize);
  if (Checksum(header.substr(0, kHeaderSize - 8), 0) != DecodeFixed64(header.data() + 56)) {
    return absl::DataLossError(absl::StrCat(path, ": offset 0: WAL header checksum mismatch"));
  }
  if (uint32_t v = DecodeFixed32(header.data() + 8); v != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": WAL format version ", v, " is not supported (want ", kFormatVersion, ")"));
  }
  *base_seq = DecodeFixed64(header.data() + 16);
  *salt = DecodeFixed64(header.data() + 24);

  // Sequence numbers are far below 2^64 - kMaxSeqJump; a header claiming
  // otherwise is hostile.
  if (*base_seq > (uint64_t{1} << 62)) {
    return absl::DataLossError(
        absl::StrCat(path, ": offset 16: WAL base position ", *base_seq, " is impossible"));
  }
  uint64_t off = kHeaderSize;
  uint64_t prev_seq = 0;
  ReadRecords(content, *salt, *base_seq, &off, &prev_seq, records);
  // `off` holds no valid record. Damage, or a torn tail? See the file comment.
  Candidate c;
  for (uint64_t p = off + 8; p + kRecordHeader <= content.size(); p += 8) {
    if (TryRecord(content, p, *salt, prev_seq, std::max(prev_seq, *base_seq), &c) &&
        c.group_offset > off) {
      return absl::DataLossError(absl::StrCat(
          path, ": offset ", off,
          ": WAL record is damaged and later synced records follow it (first at offset ", p, ")"));
    }
  }
  *end = off;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(Env* env, const std::string& path,
                                               std::vector<WalRecord>* records) {
  auto file = env->OpenFile(path, OpenMode::kExisting);
  if (!file.ok()) return file.status();
  auto content = ReadAll(**file);
  if (!content.ok()) return content.status();
  uint64_t base_seq = 0, salt = 0, end = 0;
  std::vector<WalRecordView> views;
  if (auto st = Parse(path, *content, &base_seq, &salt, &end, &views); !st.ok()) return st;
  records->clear();
  records->reserve(views.size());
  for (const WalRecordView& r : views) records->push_back({r.type, r.seq, std::string(r.payload)});
  if (end < content->size()) {
    // Cut the torn tail so that later groups never sit in front of stale bytes.
    if (auto st = (*file)->Truncate(end); !st.ok()) return st;
    if (auto st = (*file)->Sync(); !st.ok()) return st;
  }
  uint64_t last = std::max(base_seq, records->empty() ? 0 : records->back().seq);
  return std::unique_ptr<Wal>(new Wal(env, path, std::move(*file), base_seq, salt, end, last));
}

absl::StatusOr<uint64_t> Wal::Append(WalRecordType type, std::string payload) {
  return Await(Enqueue(type, std::move(payload)));
}

uint64_t Wal::Enqueue(WalRecordType type, std::string payload) {
  auto w = std::make_shared<Writer>();
  w->type = type;
  w->payload = std::move(payload);
  MutexLock lock(&mu_);
  uint64_t ticket = ++last_ticket_;
  if (!health_.ok()) {
    w->status = Unshared(health_);
    w->done.store(true, std::memory_order_release);
  } else {
    queue_.push_back(w);
    changes_.fetch_add(1, std::memory_order_release);
  }
  writers_.emplace(ticket, std::move(w));
  return ticket;
}

// How long a committer may yield the CPU in all while it waits.
constexpr std::chrono::microseconds kMaxYielding{400};

absl::StatusOr<uint64_t> Wal::Await(uint64_t ticket) {
  std::shared_ptr<Writer> owned;
  {
    MutexLock lock(&mu_);
    auto it = writers_.find(ticket);
    if (it == writers_.end()) return absl::InvalidArgumentError("no such log ticket");
    owned = std::move(it->second);
    writers_.erase(it);
  }
  Writer& w = *owned;
  // Under mu_, or once `done` is seen: the leader wrote them before.
  auto result = [&w]() -> absl::StatusOr<uint64_t> {
    if (!w.status.ok()) return Unshared(w.status);
    return w.seq;
  };
  // Group commit: committers in flight together come back together for the
  // next group. The first of a group waits up to a fraction of a sync for as
  // many as were in flight recently (PostgreSQL's commit_delay, adapted to
  // what was seen); whoever finds the group complete leads it at once.
  //
  // A committer waits by yielding the CPU in a loop, not by sleeping, for
  // as long as the wait should last (the group's gathering, the leader's
  // sync): waking a sleeping thread costs tens of microseconds on a virtual
  // machine (an interrupt to an idle vCPU), paid by every member of every
  // group, and the members are what the next group is made of. RocksDB's
  // write thread yields likewise. Past that time it sleeps, and it yields
  // for kMaxYielding at most per commit, so slow syncs cost no more CPU.
  // A lone committer leads at once and never yields.
  const auto waiting_since = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point until;
    uint64_t seen;
    {
      MutexLock lock(&mu_);
      if (w.done.load(std::memory_order_relaxed)) return result();
      if (!leader_active_) {
        if (queue_.size() >= expected_group_) {
          Lead();
          return result();
        }
        if (queue_.front() == owned) {
          if (!deadline) deadline = now + sync_estimate_ / 3;
          if (now >= *deadline) {
            Lead();
            return result();
          }
          until = *deadline;
        } else {
          until = waiting_since + sync_estimate_ * 3 / 2;
        }
      } else {
        until = lead_ends_;
      }
      // Past its time it sleeps; and once it has yielded for kMaxYielding,
      // where syncs are slow enough that a wake-up is small beside one (a
      // SATA SSD, a disk), it sleeps until then.
      if (now >= until) {
        w.cv.Wait(&mu_);
        continue;
      }
      if (now - waiting_since >= kMaxYielding) {
        w.cv.WaitFor(&mu_, std::chrono::duration_cast<std::chrono::microseconds>(until - now));
        continue;
      }
      seen = changes_.load(std::memory_order_relaxed);
    }
    while (!w.done.load(std::memory_order_acquire) &&
           changes_.load(std::memory_order_acquire) == seen && now < until) {
      std::this_thread::yield();
      now = std::chrono::steady_clock::now();
    }
    if (w.done.load(std::memory_order_acquire)) return result();
  }
}

void Wal::Lead() {
  // This thread writes and syncs everything queued so far, in queue order.
  leader_active_ = true;
  lead_ends_ = std::chrono::steady_clock::now() + sync_estimate_ * 5 / 4;
  changes_.fetch_add(1, std::memory_order_release);
  constexpr size_t kMaxGroupBytes = 8 << 20;
  std::vector<std::shared_ptr<Writer>> group;
  std::string buf;
  uint64_t offset = end_;
  for (const std::shared_ptr<Writer>& m : queue_) {
    if (!group.empty() && buf.size() + m->payload.size() > kMaxGroupBytes) break;
    m->seq = next_seq_++;
    AppendRecord(&buf, salt_, m->type, m->seq, offset, m->payload);
    group.push_back(m);
  }
  File* file = file_.get();
  const size_t group_bytes = buf.size();
  if (offset + group_bytes > size_) {
    buf.resize(group_bytes + std::max<uint64_t>(kPreallocBytes, group_bytes), '\0');
  }
  // After a failed group nothing is written until Resume(): a later record
  // may have been built on one that never reached the log.
  absl::Status status = !health_.ok() ? health_ : blocked_;
  if (status.ok()) {
    mu_.Unlock();
    auto started = std::chrono::steady_clock::now();
    status = file->WriteAt(offset, buf);
    if (absl::IsResourceExhausted(status) && buf.size() > group_bytes) {
      // No room to grow ahead (a nearly full disk): the group alone may fit.
      file->Truncate(offset).IgnoreError();
      buf.resize(group_bytes);
      status = file->WriteAt(offset, buf);
    }
    bool write_ok = status.ok();
    if (write_ok) status = file->Sync();
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    if (!write_ok) file->Truncate(offset).IgnoreError();  // never leave half a group behind
    mu_.Lock();
    if (write_ok) {
      size_ = std::max(size_, offset + buf.size());
    } else {
      size_ = offset;
    }
    if (status.ok()) {
      end_ = offset + group_bytes;
      last_seq_ = group.back()->seq;
      // Committers in flight: this group and those that queued during its
      // sync (the queue holds both still). The largest recent count,
      // decaying by one every 16 groups.
      expected_group_ = std::max(expected_group_, queue_.size());
      if (++groups_ % 16 == 0 && expected_group_ > 1) --expected_group_;
      sync_estimate_ = (sync_estimate_ * 7 + took) / 8;
    } else if (write_ok) {
      // fsync failed: the kernel may have dropped the pages. Never trust this
      // file again in this process (DESIGN.md 2.6).
      health_ = absl::Status(
          status.code(),
          absl::StrCat(status.message(), " (the log is read-only until the database is reopened)"));
    } else {
      blocked_ = Unshared(status);
    }
  }
  for (const std::shared_ptr<Writer>& m : group) {
    queue_.pop_front();
    m->status = Unshared(status);
    m->done.store(true, std::memory_order_release);
  }
  leader_active_ = false;
  changes_.fetch_add(1, std::memory_order_release);
  std::shared_ptr<Writer> next = queue_.empty() ? nullptr : queue_.front();
  // Wake the group and the next leader after letting go of the mutex, so
  // that they do not wake only to block on it. `group` and `next` keep the
  // writers alive should one see `done` and return before its signal.
  mu_.Unlock();
  for (const std::shared_ptr<Writer>& m : group) m->cv.Signal();
  if (next != nullptr) next->cv.Signal();
  idle_.SignalAll();
  mu_.Lock();
}

void Wal::Resume() {
  MutexLock lock(&mu_);
  blocked_ = absl::OkStatus();
}

absl::Status Wal::Rewrite(uint64_t base_seq,
                          const std::function<bool(const WalRecordView&)>& keep) {
  MutexLock rewriting(&rewrite_mu_);
  // First, with appends going on, copy the records synced so far: they are
  // never written again, and groups in flight write only past end_. Only the
  // records appended meanwhile are read with appends held off, so a commit
  // waits for them and two syncs, not for a pass over the whole log.
  File* file;
  uint64_t copied_end;
  {
    MutexLock lock(&mu_);
    if (!health_.ok()) return Unshared(health_);
    file = file_.get();
    copied_end = end_;
  }
  uint64_t old_base = 0, old_salt = 0;
  if (auto st = ReadHeader(*file, copied_end, &old_base, &old_salt); !st.ok()) return st;
  const std::string tmp = path_ + ".tmp";
  auto fresh = Create(env_, tmp, base_seq);
  if (!fresh.ok()) return fresh.status();
  Wal& w = **fresh;
  MutexLock fresh_lock(&w.mu_);
  // Kept records go to the new file a few MiB at a time, each pass one
  // group (synced once, at its end): memory stays bounded however much of
  // the log is kept.
  std::string buf;
  uint64_t fresh_end = kHeaderSize;
  auto copy_pass = [&](File& from, uint64_t begin, uint64_t end, uint64_t* prev_seq) {
    const uint64_t group = fresh_end;
    uint64_t written = fresh_end;
    auto flush = [&]() -> absl::Status {
      if (auto st = w.file_->WriteAt(written, buf); !st.ok()) return st;
      written += buf.size();
      buf.clear();
      return absl::OkStatus();
    };
    absl::Status st = ScanSynced(from, path_, begin, end, old_salt, old_base, prev_seq,
                                 [&](const WalRecordView& r) -> absl::Status {
                                   if (!keep(r)) return absl::OkStatus();
                                   AppendRecord(&buf, w.salt_, r.type, r.seq, group, r.payload);
                                   return buf.size() >= kScanWindow ? flush() : absl::OkStatus();
                                 });
    if (st.ok() && !buf.empty()) st = flush();
    if (st.ok() && written > group) st = w.file_->Sync();
    fresh_end = written;
    return st;
  };
  uint64_t prev_seq = 0;
  if (auto st = copy_pass(*file, kHeaderSize, copied_end, &prev_seq); !st.ok()) return st;

  MutexLock lock(&mu_);
  while (leader_active_) idle_.Wait(&mu_);
  if (!health_.ok()) return Unshared(health_);
  if (end_ > copied_end) {
    if (auto st = copy_pass(*file_, copied_end, end_, &prev_seq); !st.ok()) return st;
  }
  if (auto st = env_->RenameFile(tmp, path_); !st.ok()) return st;
  if (auto st = env_->SyncDir(DirName(path_)); !st.ok()) {
    // The rename may or may not survive a crash; both files are valid logs
    // for the current data file header, but this process must not go on.
    health_ = Unshared(st);
    return st;
  }
  file_ = std::move(w.file_);
  base_seq_ = base_seq;
  last_seq_ = std::max(last_seq_, base_seq);
  next_seq_ = std::max(next_seq_, base_seq + 1);
  salt_ = w.salt_;
  end_ = fresh_end;
  size_ = end_;
  return absl::OkStatus();
}

absl::Status Wal::ReadHeader(File& file, uint64_t end, uint64_t* base_seq, uint64_t* salt) const {
  std::string header(std::min(end, kHeaderSize), '\0');
  if (auto st = ReadExactly(file, 0, absl::MakeSpan(header)); !st.ok()) return st;
  uint64_t header_end = 0;
  std::vector<WalRecordView> none;
  return Parse(path_, header, base_seq, salt, &header_end, &none);
}

absl::Status Wal::ForEach(const std::function<absl::Status(const WalRecordView&)>& fn) {
  // Records up to end_ are synced and never written again; holding off
  // rewrites keeps the file they are in.
  MutexLock rewriting(&rewrite_mu_);
  File* file;
  uint64_t end;
  {
    MutexLock lock(&mu_);
    file = file_.get();
    end = end_;
  }
  uint64_t base = 0, salt = 0;
  if (auto st = ReadHeader(*file, end, &base, &salt); !st.ok()) return st;
  uint64_t prev_seq = 0;
  return ScanSynced(*file, path_, kHeaderSize, end, salt, base, &prev_seq, fn);
}

uint64_t Wal::base_seq() const {
  MutexLock lock(&mu_);
  return base_seq_;
}

uint64_t Wal::last_seq() const {
  MutexLock lock(&mu_);
  return last_seq_;
}

uint64_t Wal::size() const {
  MutexLock lock(&mu_);
  return end_;
}

absl::Status Wal::health() const {
  MutexLock lock(&mu_);
  return Unshared(health_);
}

}  // namespace sop
