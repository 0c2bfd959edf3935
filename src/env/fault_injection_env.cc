// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// How a power cut is simulated: every mutating call first records what it
// destroys (the old size and the old bytes of the range it overwrites), so
// the unsynced tail of a file's history can be undone in reverse order.
// Removes and overwriting renames move the victim to a hidden "trash" name
// until the directory is synced, so they can be undone too.

#include "sop/fault_injection_env.h"

#include <map>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "util/mutex.h"
#include "util/status.h"

namespace sop {
namespace {

constexpr absl::string_view kTrashMarker = ".fi-trash-";

// What one unsynced mutation destroyed: undo = Truncate(old_size), then
// WriteAt(saved_offset, old_bytes).
struct Undo {
  uint64_t old_size = 0;
  uint64_t saved_offset = 0;
  std::string old_bytes;
  // For writes: the range written, so the write can be torn.
  bool is_write = false;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct FileRecord {
  std::string path;            // current name; follows renames
  std::vector<Undo> unsynced;  // oldest first
};

struct DirOp {
  enum Kind { kCreate, kRename, kRemove } kind;
  std::string path;   // created / renamed-from / removed path
  std::string to;     // rename target
  std::string trash;  // where an overwritten or removed file was parked ("" if none)
};

absl::Status PowerOff() { return absl::UnavailableError("simulated power loss: device is off"); }

}  // namespace

struct FaultInjectionEnv::State {
  explicit State(Env* b) : base(b) {}
  Env* const base;
  Mutex mu;
  int64_t mutations ABSL_GUARDED_BY(mu) = 0;
  int64_t crash_after ABSL_GUARDED_BY(mu) = -1;
  bool powered_off ABSL_GUARDED_BY(mu) = false;
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  uint64_t trash_counter ABSL_GUARDED_BY(mu) = 0;
  std::optional<uint64_t> free_space ABSL_GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<FileRecord>> files ABSL_GUARDED_BY(mu);
  std::map<std::string, std::vector<DirOp>> dir_ops ABSL_GUARDED_BY(mu);  // by directory

  struct Rule {
    Op op;
    absl::Status error;
    std::string path_part;
    int skip;
    int count;
  };
  std::vector<Rule> rules ABSL_GUARDED_BY(mu);
  int64_t injected ABSL_GUARDED_BY(mu) = 0;

  // Counts a mutation and decides whether the power has gone.
  absl::Status BeginMutation() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (powered_off) return PowerOff();
    if (crash_after >= 0 && mutations >= crash_after) {
      powered_off = true;
      return PowerOff();
    }
    ++mutations;
    return absl::OkStatus();
  }

  // Returns the injected outcome for `op` on `path`: OK, or the error to return.
  absl::Status Injected(Op op, const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (Rule& r : rules) {
      if (r.op != op || r.count == 0 || !absl::StrContains(path, r.path_part)) continue;
      if (r.skip > 0) {
        --r.skip;
        continue;
      }
      --r.count;
      ++injected;
      return r.error.ok() ? absl::AbortedError("short read") : Unshared(r.error);
    }
    return absl::OkStatus();
  }

  std::shared_ptr<FileRecord> Record(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto& rec = files[path];
    if (!rec) {
      rec = std::make_shared<FileRecord>();
      rec->path = path;
    }
    return rec;
  }

  std::string TrashName(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return absl::StrCat(path, kTrashMarker, ++trash_counter);
  }
};

class FaultInjectionEnv::FaultyFile final : public File {
 public:
  FaultyFile(State* s, std::unique_ptr<File> base, std::shared_ptr<FileRecord> rec, uint64_t gen)
      : s_(s), base_(std::move(base)), rec_(std::move(rec)), gen_(gen) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, absl::Span<char> dst) override {
    MutexLock lock(&s_->mu);
    if (auto st = Alive(); !st.ok()) return st;
    absl::Status inj = s_->Injected(Op::kRead, rec_->path);
    if (!inj.ok()) return inj;
    if (!s_->Injected(Op::kShortRead, rec_->path).ok() && dst.size() > 1) {
      dst = dst.subspan(0, dst.size() / 2);
    }
    return base_->ReadAt(offset, dst);
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    MutexLock lock(&s_->mu);
    if (auto st = Alive(); !st.ok()) return st;
    if (auto st = s_->BeginMutation(); !st.ok()) return st;
    if (auto st = s_->Injected(Op::kWrite, rec_->path); !st.ok()) return st;
    auto size = base_->Size();
    if (!size.ok()) return size.status();
    uint64_t end = offset + data.size();
    uint64_t growth = end > *size ? end - *size : 0;
    if (s_->free_space.has_value()) {
      if (growth > *s_->free_space) {
        return absl::ResourceExhaustedError(
            absl::StrCat(rec_->path, ": write at offset ", offset, ": No space left on device"));
      }
      *s_->free_space -= growth;
    }
    Undo u;
    u.old_size = *size;
    u.saved_offset = offset;
    u.is_write = true;
    u.offset = offset;
    u.length = data.size();
    if (offset < *size) {
      u.old_bytes.resize(std::min<uint64_t>(data.size(), *size - offset));
      auto n = base_->ReadAt(offset, absl::MakeSpan(u.old_bytes));
      if (!n.ok()) return n.status();
      u.old_bytes.resize(*n);
    }
    if (auto st = base_->WriteAt(offset, data); !st.ok()) return st;
    rec_->unsynced.push_back(std::move(u));
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    MutexLock lock(&s_->mu);
    if (auto st = Alive(); !st.ok()) return st;
    if (auto st = s_->BeginMutation(); !st.ok()) return st;
    if (auto st = s_->Injected(Op::kSync, rec_->path); !st.ok()) return st;
    if (auto st = base_->Sync(); !st.ok()) return st;
    rec_->unsynced.clear();
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    MutexLock lock(&s_->mu);
    if (auto st = Alive(); !st.ok()) return st;
    if (auto st = s_->BeginMutation(); !st.ok()) return st;
    if (auto st = s_->Injected(Op::kWrite, rec_->path); !st.ok()) return st;
    auto old = base_->Size();
    if (!old.ok()) return old.status();
    Undo u;
    u.old_size = *old;
    u.saved_offset = size;
    if (size < *old) {
      u.old_bytes.resize(*old - size);
      auto n = base_->ReadAt(size, absl::MakeSpan(u.old_bytes));
      if (!n.ok()) return n.status();
      u.old_bytes.resize(*n);
      if (s_->free_space.has_value()) *s_->free_space += *old - size;
    } else if (s_->free_space.has_value()) {
      if (size - *old > *s_->free_space) {
        return absl::ResourceExhaustedError(
            absl::StrCat(rec_->path, ": truncate: No space left on device"));
      }
      *s_->free_space -= size - *old;
    }
    if (auto st = base_->Truncate(size); !st.ok()) return st;
    rec_->unsynced.push_back(std::move(u));
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    MutexLock lock(&s_->mu);
    if (auto st = Alive(); !st.ok()) return st;
    return base_->Size();
  }

  const std::string& path() const override { return base_->path(); }

  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t offset, uint64_t length) override {
    MutexLock lock(&s_->mu);
    if (auto st = Alive(); !st.ok()) return st;
    if (auto st = s_->Injected(Op::kRead, rec_->path); !st.ok()) return st;
    return base_->Map(offset, length);
  }

 private:
  absl::Status Alive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s_->mu) {
    if (s_->powered_off) return PowerOff();
    if (gen_ != s_->generation) {
      return absl::UnavailableError(
          absl::StrCat(rec_->path, ": handle opened before a simulated power loss"));
    }
    return absl::OkStatus();
  }

  State* const s_;
  const std::unique_ptr<File> base_;
  const std::shared_ptr<FileRecord> rec_;
  const uint64_t gen_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : state_(std::make_unique<State>(base)) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::InjectFault(Op op, absl::Status error, std::string path_part, int skip,
                                    int count) {
  MutexLock lock(&state_->mu);
  state_->rules.push_back({op, std::move(error), std::move(path_part), skip, count});
}

void FaultInjectionEnv::ClearFaults() {
  MutexLock lock(&state_->mu);
  state_->rules.clear();
}

int64_t FaultInjectionEnv::faults_injected() const {
  MutexLock lock(&state_->mu);
  return state_->injected;
}

void FaultInjectionEnv::SetFreeSpace(std::optional<uint64_t> bytes) {
  MutexLock lock(&state_->mu);
  state_->free_space = bytes;
}

void FaultInjectionEnv::CrashAfter(int64_t n) {
  MutexLock lock(&state_->mu);
  state_->crash_after = n < 0 ? -1 : state_->mutations + n;
}

int64_t FaultInjectionEnv::mutation_count() const {
  MutexLock lock(&state_->mu);
  return state_->mutations;
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path,
                                                                  OpenMode mode) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  if (s.powered_off) return PowerOff();
  bool existed = s.base->FileExists(path);
  if (!existed && mode == OpenMode::kCreateIfMissing) {
    if (auto st = s.BeginMutation(); !st.ok()) return st;
  }
  auto f = s.base->OpenFile(path, mode);
  if (!f.ok()) return f.status();
  if (!existed) s.dir_ops[DirName(path)].push_back({DirOp::kCreate, path, "", ""});
  return std::unique_ptr<File>(new FaultyFile(&s, std::move(*f), s.Record(path), s.generation));
}

bool FaultInjectionEnv::FileExists(const std::string& path) {
  return state_->base->FileExists(path);
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  if (auto st = s.BeginMutation(); !st.ok()) return st;
  if (!s.base->FileExists(path)) {
    return absl::NotFoundError(absl::StrCat(path, ": unlink: No such file or directory"));
  }
  std::string trash = s.TrashName(path);
  if (auto st = s.base->RenameFile(path, trash); !st.ok()) return st;
  auto rec = s.Record(path);
  s.files.erase(path);
  rec->path = trash;
  s.files[trash] = rec;
  s.dir_ops[DirName(path)].push_back({DirOp::kRemove, path, "", trash});
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  if (auto st = s.BeginMutation(); !st.ok()) return st;
  if (!s.base->FileExists(from)) {
    return absl::NotFoundError(absl::StrCat(from, ": rename: No such file or directory"));
  }
  std::string trash;
  if (s.base->FileExists(to)) {
    trash = s.TrashName(to);
    if (auto st = s.base->RenameFile(to, trash); !st.ok()) return st;
    auto victim = s.Record(to);
    s.files.erase(to);
    victim->path = trash;
    s.files[trash] = victim;
  }
  if (auto st = s.base->RenameFile(from, to); !st.ok()) return st;
  auto rec = s.Record(from);
  s.files.erase(from);
  rec->path = to;
  s.files[to] = rec;
  s.dir_ops[DirName(to)].push_back({DirOp::kRename, from, to, trash});
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  if (auto st = s.BeginMutation(); !st.ok()) return st;
  if (auto st = s.Injected(Op::kSync, dir); !st.ok()) return st;
  if (auto st = s.base->SyncDir(dir); !st.ok()) return st;
  for (const DirOp& op : s.dir_ops[dir]) {
    if (!op.trash.empty()) {
      s.base->RemoveFile(op.trash).IgnoreError();  // best effort: it is hidden anyway
      s.files.erase(op.trash);
    }
  }
  s.dir_ops.erase(dir);
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::CreateDir(const std::string& dir) {
  return state_->base->CreateDir(dir);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& dir) {
  auto names = state_->base->ListDir(dir);
  if (!names.ok()) return names;
  std::erase_if(*names, [](const std::string& n) { return absl::StrContains(n, kTrashMarker); });
  return names;
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  return state_->base->LockFile(path);
}

absl::Status FaultInjectionEnv::SimulatePowerLoss(const PowerLoss& how) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  std::mt19937_64 rng(how.seed);

  // 1. Forget unsynced namespace changes, newest first.
  for (auto& [dir, ops] : s.dir_ops) {
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      const DirOp& op = *it;
      auto move_record = [&](const std::string& from, const std::string& to) {
        auto rec = s.files[from];
        s.files.erase(from);
        if (rec) {
          rec->path = to;
          s.files[to] = rec;
        }
      };
      switch (op.kind) {
        case DirOp::kCreate:
          if (s.base->FileExists(op.path)) {
            if (auto st = s.base->RemoveFile(op.path); !st.ok()) return st;
          }
          s.files.erase(op.path);
          break;
        case DirOp::kRename:
          if (auto st = s.base->RenameFile(op.to, op.path); !st.ok()) return st;
          move_record(op.to, op.path);
          if (!op.trash.empty()) {
            if (auto st = s.base->RenameFile(op.trash, op.to); !st.ok()) return st;
            move_record(op.trash, op.to);
          }
          break;
        case DirOp::kRemove:
          if (auto st = s.base->RenameFile(op.trash, op.path); !st.ok()) return st;
          move_record(op.trash, op.path);
          break;
      }
    }
  }
  s.dir_ops.clear();

  // 2. Drop (all or a random suffix of) each file's unsynced writes.
  for (auto& [path, rec] : s.files) {
    if (rec->unsynced.empty()) continue;
    auto f = s.base->OpenFile(path, OpenMode::kExisting);
    if (!f.ok()) return f.status();
    std::vector<Undo>& ops = rec->unsynced;
    size_t keep = how.keep_some ? rng() % (ops.size() + 1) : 0;
    for (size_t i = ops.size(); i > keep; --i) {
      const Undo& u = ops[i - 1];
      if (auto st = (*f)->Truncate(u.old_size); !st.ok()) return st;
      if (auto st = (*f)->WriteAt(u.saved_offset, u.old_bytes); !st.ok()) return st;
    }
    if (keep > 0 && how.tear_bytes > 0 && ops[keep - 1].is_write) {
      const Undo& u = ops[keep - 1];
      uint64_t first_cut = (u.offset / how.tear_bytes + 1) * how.tear_bytes;
      uint64_t end = u.offset + u.length;
      if (first_cut < end) {
        uint64_t cuts = (end - 1 - first_cut) / how.tear_bytes + 1;
        uint64_t cut = first_cut + (rng() % cuts) * how.tear_bytes;
        if (end > u.old_size) {
          if (auto st = (*f)->Truncate(std::max(u.old_size, cut)); !st.ok()) return st;
        }
        uint64_t skip = cut - u.offset;
        if (skip < u.old_bytes.size()) {
          if (auto st = (*f)->WriteAt(cut, absl::string_view(u.old_bytes).substr(skip)); !st.ok()) {
            return st;
          }
        }
      }
    }
    if (auto st = (*f)->Sync(); !st.ok()) return st;
    ops.clear();
  }

  s.powered_off = false;
  s.crash_after = -1;
  ++s.generation;
  return absl::OkStatus();
}

}  // namespace sop
