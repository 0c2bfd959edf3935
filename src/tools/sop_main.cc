// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The `sop` command-line tool: create and inspect databases, read and write
// entries, run scripts of operations, dump and load, check, back up, compact
// and benchmark. Errors are one line on stderr naming the file, exit code 1;
// usage errors exit 2. See docs/cli.md.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backend/file/data_file.h"
#include "sop/sop.h"
#include "tools/dump_format.h"

namespace {

struct Command {
  const char* name;
  const char* synopsis;
  const char* help;
};

constexpr Command kCommands[] = {
    {"create", "create PATH", "Creates an empty database at PATH (files PATH and PATH-wal)."},
    {"info", "info PATH",
     "Shows the format version, page size, file and log sizes, the last checkpoint, node\n"
     "versions alive, and per store: entries, depth, nodes, fill factor and values stored\n"
     "outside nodes. Reads every node."},
    {"put", "put PATH STORE KEY (VALUE | --value-file F)",
     "Sets KEY to VALUE in STORE (created on first use). With --value-file the value is\n"
     "the content of file F, streamed: any size, in bounded memory."},
    {"get", "get PATH STORE KEY", "Prints the value of KEY, then a newline."},
    {"del", "del PATH STORE KEY", "Removes KEY."},
    {"scan", "scan PATH STORE [--from K] [--to K] [--prefix P] [--reverse] [--limit N]",
     "Prints entries in key order, one per line: key<TAB>value. --to is exclusive."},
    {"batch", "batch PATH < SCRIPT",
     "Applies a script of operations from stdin in one transaction: all or nothing. One\n"
     "operation per line; blank lines and lines starting with # are skipped:\n"
     "  put STORE KEY VALUE     set KEY (the store is created if missing)\n"
     "  add STORE KEY VALUE     insert KEY; in a duplicates store, one more entry\n"
     "  del STORE KEY           remove KEY (every entry with it)\n"
     "  dups STORE              create STORE allowing duplicate keys\n"
     "  drop STORE              delete STORE and its entries\n"
     "Words are separated by spaces; a word with spaces or special bytes is written in\n"
     "double quotes with \\\" \\\\ \\n \\t \\xHH escapes. With --hex, KEY and VALUE are hex.\n"
     "A bad line or a failed operation aborts the whole batch, naming the line."},
    {"check", "check PATH",
     "Verifies every checksum and every B-tree invariant (order, separators, depth, fill).\n"
     "Exits 1 with the store, node and file offset of the first damage."},
    {"dump", "dump PATH [STORE]",
     "Writes the stores (or one) to stdout as JSON Lines (docs/cli.md): portable, and\n"
     "dump -> load -> dump is byte-identical."},
    {"load", "load PATH < DUMP", "Reads a dump from stdin into PATH in one transaction."},
    {"backup", "backup PATH DEST",
     "Writes a consistent, compact copy of PATH to the new database DEST (files DEST and\n"
     "DEST-wal). It reads one snapshot, so in a program, Database::Backup runs while\n"
     "writers go on; this tool opens PATH itself, so PATH must not be open elsewhere."},
    {"compact", "compact PATH",
     "Rewrites PATH with full nodes and no free space, replacing it atomically (a crash\n"
     "leaves the old file or the new one). Needs room for the copy."},
    {"bench", "bench PATH [--num N] [--value-size B]",
     "A short db_bench-style run in a new database at PATH (removed afterwards): fills,\n"
     "random reads, a scan, overwrites and one-put durable commits; prints ops/s."},
};

constexpr char kOptions[] =
    "options:\n"
    "  --hex            keys and values are given and printed as hex\n"
    "  --help           this text; `sop <command> --help` for one command\n";

const Command* FindCommand(const std::string& name) {
  for (const Command& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

void PrintUsage(FILE* out) {
  std::fputs("usage: sop <command> [args] [options]\n\ncommands:\n", out);
  for (const Command& c : kCommands) std::fprintf(out, "  %s\n", c.synopsis);
  std::fputs("\n", out);
  std::fputs(kOptions, out);
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--name" -> value ("" for flags)
};

int Usage(const std::string& problem, const Command* cmd = nullptr) {
  if (!problem.empty()) std::fprintf(stderr, "sop: %s\n", problem.c_str());
  if (cmd != nullptr) {
    std::fprintf(stderr, "usage: sop %s\n", cmd->synopsis);
  } else {
    PrintUsage(stderr);
  }
  return 2;
}

// The database file the command works on, so every error names it.
std::string g_path;

int Fail(const absl::Status& st) {
  std::string msg(st.message());
  if (!g_path.empty() && msg.rfind(g_path, 0) != 0) msg = absl::StrCat(g_path, ": ", msg);
  std::fprintf(stderr, "sop: %s\n", msg.c_str());
  return 1;
}

// Options that take a value; every other --option is a flag.
bool TakesValue(const std::string& name) {
  return name == "--from" || name == "--to" || name == "--prefix" || name == "--limit" ||
         name == "--value-file" || name == "--num" || name == "--value-size";
}

std::optional<Args> Parse(int argc, char** argv, std::string* problem) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      if (TakesValue(arg)) {
        if (i + 1 >= argc) {
          *problem = absl::StrCat(arg, " needs a value");
          return std::nullopt;
        }
        a.options[arg] = argv[++i];
      } else if (arg == "--hex" || arg == "--reverse" || arg == "--help") {
        a.options[arg] = "";
      } else {
        *problem = absl::StrCat("unknown option ", arg);
        return std::nullopt;
      }
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

// A progress line on stderr for long work, only when stderr is a terminal,
// redrawn at most ten times a second and erased when done.
class Progress {
 public:
  Progress(const char* what, uint64_t total_bytes)
      : what_(what), total_(total_bytes), on_(::isatty(STDERR_FILENO) == 1) {}
  ~Progress() {
    if (drawn_) std::fputs("\r\033[K", stderr);
  }
  void Update(uint64_t done) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    double mib = static_cast<double>(done) / (1 << 20);
    if (total_ > 0) {
      int pct = static_cast<int>(std::min<uint64_t>(99, done * 100 / total_));
      int bar = pct * 30 / 100;
      std::fprintf(stderr, "\r%s [%-30s] %3d%% %.1f MiB", what_, std::string(bar, '#').c_str(), pct,
                   mib);
    } else {
      std::fprintf(stderr, "\r%s %.1f MiB", what_, mib);
    }
    std::fflush(stderr);
  }

 private:
  const char* what_;
  const uint64_t total_;
  const bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

// The filesystem queries the tool makes, never throwing (a path it may not
// look at is reported by the open that follows).
bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}
bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) || ec == std::errc::permission_denied;
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// Splits a batch line into words: bare, or double-quoted with escapes.
absl::StatusOr<std::vector<std::string>> SplitWords(absl::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i == line.size()) return words;
    std::string w;
    if (line[i] != '"') {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
        w.push_back(line[i++]);
      }
      words.push_back(std::move(w));
      continue;
    }
    for (++i;; ++i) {
      if (i >= line.size()) return absl::InvalidArgumentError("unterminated quoted word");
      char c = line[i];
      if (c == '"') break;
      if (c != '\\') {
        w.push_back(c);
        continue;
      }
      if (++i >= line.size()) return absl::InvalidArgumentError("unterminated quoted word");
      switch (line[i]) {
        case '"':
          w.push_back('"');
          break;
        case '\\':
          w.push_back('\\');
          break;
        case 'n':
          w.push_back('\n');
          break;
        case 't':
          w.push_back('\t');
          break;
        case 'x': {
          std::string hex(line.substr(i + 1, 2));
          if (hex.size() != 2 || !std::isxdigit(static_cast<unsigned char>(hex[0])) ||
              !std::isxdigit(static_cast<unsigned char>(hex[1]))) {
            return absl::InvalidArgumentError("\\x needs two hex digits");
          }
          w.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
          i += 2;
          break;
        }
        default:
          return absl::InvalidArgumentError(absl::StrCat("unknown escape \\", line.substr(i, 1)));
      }
    }
    ++i;
    if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      return absl::InvalidArgumentError("a quoted word must be followed by a space");
    }
    words.push_back(std::move(w));
  }
}

class Tool {
 public:
  explicit Tool(Args a) : a_(std::move(a)), hex_(a_.options.count("--hex") > 0) {}

  int Run() {
    if (a_.positional.empty()) {
      if (a_.options.count("--help")) {
        PrintUsage(stdout);
        return 0;
      }
      return Usage("no command given");
    }
    const std::string& name = a_.positional[0];
    if (name == "help") {
      if (a_.positional.size() == 1) {
        PrintUsage(stdout);
        return 0;
      }
      const Command* c = FindCommand(a_.positional[1]);
      return c ? Help(*c) : Usage(absl::StrCat("unknown command ", a_.positional[1]));
    }
    const Command* cmd = FindCommand(name);
    if (cmd == nullptr) return Usage(absl::StrCat("unknown command ", name));
    if (a_.options.count("--help")) return Help(*cmd);
    if (a_.positional.size() > 1) g_path = a_.positional[1];
    auto need = [&](size_t n) { return a_.positional.size() == n + 1; };
    auto usage = [&]() { return Usage("wrong arguments", cmd); };
    if (name == "create") return need(1) ? Create() : usage();
    if (name == "info") return need(1) ? Info() : usage();
    if (name == "put") return need(a_.options.count("--value-file") ? 3 : 4) ? Put() : usage();
    if (name == "get") return need(3) ? Get() : usage();
    if (name == "del") return need(3) ? Del() : usage();
    if (name == "scan") return need(2) ? Scan() : usage();
    if (name == "batch") return need(1) ? Batch() : usage();
    if (name == "check") return need(1) ? Check() : usage();
    if (name == "dump") return need(1) || need(2) ? Dump() : usage();
    if (name == "load") return need(1) ? Load() : usage();
    if (name == "backup") return need(2) ? Backup() : usage();
    if (name == "compact") return need(1) ? Compact() : usage();
    return need(1) ? Bench() : usage();
  }

 private:
  static int Help(const Command& c) {
    std::printf("usage: sop %s\n\n%s\n\n%s", c.synopsis, c.help, kOptions);
    return 0;
  }

  // Decodes a key or value given on the command line.
  absl::StatusOr<std::string> In(const std::string& text) const {
    if (!hex_) return text;
    bool ok = text.size() % 2 == 0;
    for (char c : text) ok = ok && std::isxdigit(static_cast<unsigned char>(c));
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("not hex: ", text));
    return absl::HexStringToBytes(text);
  }
  std::string Out(absl::string_view bytes) const {
    return hex_ ? absl::BytesToHexString(bytes) : std::string(bytes);
  }

  static absl::StatusOr<std::unique_ptr<sop::Database>> OpenExisting(const std::string& path) {
    if (IsDirectory(path)) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": is a directory"));
    }
    sop::Options o;
    o.create_if_missing = false;
    return sop::Database::Open(path, o);
  }

  // Opens a store as it was created: unique, or else allowing duplicates.
  static absl::StatusOr<sop::RawStore*> OpenAsCreated(sop::Transaction& t,
                                                      const std::string& name) {
    auto s = t.OpenStore(name);
    if (absl::IsFailedPrecondition(s.status())) {
      auto dups = t.OpenStore(name, {.unique = false});
      if (dups.ok()) return dups;
    }
    return s;
  }

  // The database PATH, a transaction on it, and its store STORE (as the
  // command line names them), opened as it was created.
  struct Opened {
    std::unique_ptr<sop::Database> db;
    std::unique_ptr<sop::Transaction> txn;  // ends before `db` closes
    sop::RawStore* store = nullptr;
  };
  absl::StatusOr<Opened> OpenStoreArg(sop::TxnMode mode) const {
    Opened o;
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return db.status();
    o.db = *std::move(db);
    auto t = o.db->Begin(mode);
    if (!t.ok()) return t.status();
    o.txn = *std::move(t);
    auto s = OpenAsCreated(*o.txn, a_.positional[2]);
    if (!s.ok()) return s.status();
    o.store = *s;
    return o;
  }

  // Reads one line of stdin (without its newline); false at the end.
  static bool ReadLine(std::string* line) {
    line->clear();
    int c;
    while ((c = std::getchar()) != EOF && c != '\n') line->push_back(static_cast<char>(c));
    return c != EOF || !line->empty();
  }

  int Create() {
    const std::string& path = a_.positional[1];
    if (Exists(path)) {
      return Fail(absl::AlreadyExistsError(absl::StrCat(path, ": already exists")));
    }
    auto db = sop::Database::Open(path);
    if (!db.ok()) return Fail(db.status());
    std::printf("created %s\n", path.c_str());
    return 0;
  }

  int Info() {
    const std::string& path = a_.positional[1];
    auto db = OpenExisting(path);
    if (!db.ok()) return Fail(db.status());
    std::printf("database         %s\n", path.c_str());
    auto file = sop::Env::Default()->OpenFile(path, sop::OpenMode::kExisting);
    if (!file.ok()) return Fail(file.status());
    auto header = sop::DataFile::ReadHeader(**file);
    if (!header.ok()) return Fail(header.status());
    std::printf("format version   %u\n", sop::DataFile::kFormatVersion);
    std::printf("page size        %u\n", header->page_size);
    std::printf("data file        %llu bytes\n", static_cast<unsigned long long>(FileSize(path)));
    std::printf("wal              %llu bytes\n",
                static_cast<unsigned long long>(FileSize(path + "-wal")));
    std::printf("last checkpoint  #%llu, log position %llu\n",
                static_cast<unsigned long long>(header->checkpoint_no),
                static_cast<unsigned long long>(header->last_seq));
    sop::DatabaseStats stats = (*db)->Stats();
    std::printf("nodes            %llu (%llu versions alive)\n",
                static_cast<unsigned long long>(stats.registry_nodes),
                static_cast<unsigned long long>(stats.node_versions));
    if (auto doubt = (*db)->InDoubt(); !doubt.empty()) {
      std::printf("in doubt         %zu prepared transactions\n", doubt.size());
    }
    std::vector<sop::StoreReport> stores;
    absl::Status verified = (*db)->Verify(&stores);
    std::printf("stores           %zu\n", stores.size());
    for (const sop::StoreReport& r : stores) {
      double fill = r.node_capacity ? 100.0 * static_cast<double>(r.node_bytes) /
                                          static_cast<double>(r.node_capacity)
                                    : 0;
      std::printf("  %-20s %llu entries, depth %llu, %llu nodes, fill %.0f%%", r.name.c_str(),
                  static_cast<unsigned long long>(r.entries),
                  static_cast<unsigned long long>(r.depth),
                  static_cast<unsigned long long>(r.nodes), fill);
      if (r.value_blobs > 0) {
        std::printf(", %llu values outside nodes (%llu bytes)",
                    static_cast<unsigned long long>(r.value_blobs),
                    static_cast<unsigned long long>(r.value_bytes));
      }
      if (!r.unique) std::printf(", duplicates");
      if (r.comparator != sop::BytewiseComparator()->Name()) {
        std::printf(", comparator %s", r.comparator.c_str());
      }
      std::printf("\n");
    }
    return verified.ok() ? 0 : Fail(verified);
  }

  int Put() {
    auto key = In(a_.positional[3]);
    if (!key.ok()) return Usage(std::string(key.status().message()));
    auto opened = OpenStoreArg(sop::TxnMode::kReadWrite);
    if (!opened.ok()) return Fail(opened.status());
    sop::RawStore* s = opened->store;
    if (auto f = a_.options.find("--value-file"); f != a_.options.end()) {
      std::error_code ec;
      uint64_t size = std::filesystem::file_size(f->second, ec);
      std::ifstream in(f->second, std::ios::binary);
      if (ec || !in) {
        g_path.clear();
        return Fail(absl::NotFoundError(absl::StrCat(f->second, ": cannot read the value file")));
      }
      auto w = s->NewValueWriter(*key, size);
      if (!w.ok()) return Fail(w.status());
      Progress progress("put", size);
      uint64_t done = 0;
      std::string chunk(1 << 20, '\0');
      while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        if (auto st = (*w)->Append(absl::string_view(chunk.data(), in.gcount())); !st.ok()) {
          return Fail(st);
        }
        progress.Update(done += in.gcount());
      }
      if (auto st = (*w)->Finish(); !st.ok()) return Fail(st);
    } else {
      auto value = In(a_.positional[4]);
      if (!value.ok()) return Usage(std::string(value.status().message()));
      if (auto st = s->Put(*key, *value); !st.ok()) return Fail(st);
    }
    if (auto st = opened->txn->Commit(); !st.ok()) return Fail(st);
    return 0;
  }

  int Get() {
    auto key = In(a_.positional[3]);
    if (!key.ok()) return Usage(std::string(key.status().message()));
    auto opened = OpenStoreArg(sop::TxnMode::kReadOnly);
    if (!opened.ok()) return Fail(opened.status());
    auto v = opened->store->Get(*key);
    if (!v.ok()) return Fail(v.status());
    std::string out = Out(*v);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }

  int Del() {
    auto key = In(a_.positional[3]);
    if (!key.ok()) return Usage(std::string(key.status().message()));
    auto opened = OpenStoreArg(sop::TxnMode::kReadWrite);
    if (!opened.ok()) return Fail(opened.status());
    if (auto st = opened->store->Remove(*key); !st.ok()) return Fail(st);
    if (auto st = opened->txn->Commit(); !st.ok()) return Fail(st);
    return 0;
  }

  int Scan() {
    sop::CursorOptions co;
    for (const auto& [flag, field] :
         std::vector<std::pair<std::string, std::optional<std::string>*>>{
             {"--from", &co.lower_bound}, {"--to", &co.upper_bound}}) {
      if (auto it = a_.options.find(flag); it != a_.options.end()) {
        auto v = In(it->second);
        if (!v.ok()) return Usage(std::string(v.status().message()));
        *field = *v;
      }
    }
    if (auto it = a_.options.find("--prefix"); it != a_.options.end()) {
      auto v = In(it->second);
      if (!v.ok()) return Usage(std::string(v.status().message()));
      co.prefix = *v;
    }
    uint64_t limit = UINT64_MAX;
    if (auto it = a_.options.find("--limit"); it != a_.options.end()) {
      if (!absl::SimpleAtoi(it->second, &limit)) return Usage("--limit needs a number");
    }
    bool reverse = a_.options.count("--reverse") > 0;
    auto opened = OpenStoreArg(sop::TxnMode::kReadOnly);
    if (!opened.ok()) return Fail(opened.status());
    auto c = opened->store->NewCursor(co);
    uint64_t n = 0;
    for (reverse ? c->SeekToLast() : c->SeekToFirst(); c->Valid() && n < limit;
         reverse ? c->Prev() : c->Next(), ++n) {
      std::string line = absl::StrCat(Out(c->key()), "\t", Out(c->value()), "\n");
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    if (!c->status().ok()) return Fail(c->status());
    return 0;
  }

  int Batch() {
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
    if (!t.ok()) return Fail(t.status());
    uint64_t n = 0, ops = 0;
    auto bad = [&](absl::string_view what) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("line ", n, " of the batch: ", what, " (nothing was applied)")));
    };
    std::string line;
    while (ReadLine(&line)) {
      ++n;
      auto words = SplitWords(line);
      if (!words.ok()) return bad(words.status().message());
      if (words->empty() || (*words)[0][0] == '#') continue;
      const std::string& op = (*words)[0];
      const size_t want = op == "put" || op == "add" ? 4 : op == "del" ? 3 : 2;
      if (op != "put" && op != "add" && op != "del" && op != "dups" && op != "drop") {
        return bad(absl::StrCat("unknown operation \"", op, "\""));
      }
      if (words->size() != want) {
        return bad(absl::StrCat(op, " takes ", want - 1, " words, got ", words->size() - 1));
      }
      const std::string& store = (*words)[1];
      absl::Status st;
      if (op == "drop") {
        st = (*t)->DropStore(store);
      } else if (op == "dups") {
        st = (*t)->OpenStore(store, {.unique = false}).status();
      } else {
        auto s = OpenAsCreated(**t, store);
        if (!s.ok()) return bad(s.status().message());
        auto key = In((*words)[2]);
        if (!key.ok()) return bad(key.status().message());
        if (op == "del") {
          st = (*s)->Remove(*key);
        } else {
          auto value = In((*words)[3]);
          if (!value.ok()) return bad(value.status().message());
          st = op == "put" ? (*s)->Put(*key, *value) : (*s)->Add(*key, *value);
        }
      }
      if (!st.ok()) return bad(st.message());
      ++ops;
    }
    if (auto st = (*t)->Commit(); !st.ok()) return Fail(st);
    std::printf("applied %llu operations\n", static_cast<unsigned long long>(ops));
    return 0;
  }

  int Check() {
    const std::string& path = a_.positional[1];
    auto db = OpenExisting(path);
    if (!db.ok()) return Fail(db.status());
    absl::Status st;
    {
      Progress progress("check", FileSize(path));
      st = (*db)->Verify(nullptr, [&](uint64_t done) { progress.Update(done); });
    }
    if (!st.ok()) return Fail(absl::Status(st.code(), absl::StrCat(path, ": ", st.message())));
    std::printf("%s: ok\n", path.c_str());
    return 0;
  }

  static std::string Field(absl::string_view name, absl::string_view bytes) {
    if (sop::IsUtf8(bytes)) return absl::StrCat("\"", name, "\":", sop::JsonString(bytes));
    return absl::StrCat("\"", name, "64\":\"", absl::Base64Escape(bytes), "\"");
  }

  int Dump() {
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadOnly);
    if (!t.ok()) return Fail(t.status());
    std::vector<std::string> names;
    if (a_.positional.size() == 3) {
      names.push_back(a_.positional[2]);
    } else {
      auto all = (*t)->ListStores();
      if (!all.ok()) return Fail(all.status());
      names = *all;
    }
    Progress progress("dump", FileSize(a_.positional[1]));
    uint64_t written = 0;
    std::string out = "{\"sop_dump\":1}\n";
    for (const std::string& name : names) {
      auto s = (*t)->OpenStore(name);
      bool unique = true;
      if (absl::IsFailedPrecondition(s.status())) {
        unique = false;
        s = (*t)->OpenStore(name, {.unique = false});
      }
      if (!s.ok()) return Fail(s.status());
      absl::StrAppend(&out, "{\"store\":", sop::JsonString(name),
                      ",\"unique\":", unique ? "true" : "false", "}\n");
      auto c = (*s)->NewCursor();
      for (c->SeekToFirst(); c->Valid(); c->Next()) {
        absl::StrAppend(&out, "{", Field("k", c->key()), ",", Field("v", c->value()), "}\n");
        if (out.size() > (1 << 20)) {
          std::fwrite(out.data(), 1, out.size(), stdout);
          progress.Update(written += out.size());
          out.clear();
        }
      }
      if (!c->status().ok()) return Fail(c->status());
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }

  int Load() {
    auto db = sop::Database::Open(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
    if (!t.ok()) return Fail(t.status());
    struct stat in_stat;
    uint64_t total = ::fstat(STDIN_FILENO, &in_stat) == 0 && S_ISREG(in_stat.st_mode)
                         ? static_cast<uint64_t>(in_stat.st_size)
                         : 0;
    Progress progress("load", total);
    uint64_t read = 0;
    sop::RawStore* store = nullptr;
    bool unique = true;
    std::string line;
    uint64_t n = 0;
    auto bad = [&](absl::string_view what) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("line ", n, " of the dump: ", what, " (nothing was loaded)")));
    };
    auto bytes = [](const std::map<std::string, std::string>& m, const std::string& name,
                    std::string* out) {
      if (auto it = m.find(name); it != m.end()) {
        *out = it->second;
        return true;
      }
      if (auto it = m.find(name + "64"); it != m.end())
        return absl::Base64Unescape(it->second, out);
      return false;
    };
    while (ReadLine(&line)) {
      ++n;
      progress.Update(read += line.size() + 1);
      auto m = sop::ParseFlatJson(line);
      if (!m.ok()) return bad(m.status().message());
      if (n == 1) {
        if (m->count("sop_dump") == 0 || (*m)["sop_dump"] != "1") {
          return bad("not a SOP dump (the first line must be {\"sop_dump\":1})");
        }
        continue;
      }
      if (auto it = m->find("store"); it != m->end()) {
        unique = (*m)["unique"] != "false";
        auto s = (*t)->OpenStore(it->second, {.unique = unique});
        if (!s.ok()) return bad(s.status().message());
        store = *s;
        continue;
      }
      std::string key, value;
      if (!bytes(*m, "k", &key) || !bytes(*m, "v", &value)) return bad("expected k and v");
      if (store == nullptr) return bad("an entry before any store line");
      absl::Status st = unique ? store->Put(key, value) : store->Add(key, value);
      if (!st.ok()) return bad(st.message());
    }
    if (n == 0) return bad("empty input");
    if (auto st = (*t)->Commit(); !st.ok()) return Fail(st);
    return 0;
  }

  int Backup() {
    const std::string& dest = a_.positional[2];
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    Progress progress("backup", FileSize(a_.positional[1]));
    absl::Status st = (*db)->Backup(dest, [&](uint64_t done) { progress.Update(done); });
    if (!st.ok()) return Fail(st);
    std::printf("backed up %s to %s (%llu bytes)\n", a_.positional[1].c_str(), dest.c_str(),
                static_cast<unsigned long long>(FileSize(dest)));
    return 0;
  }

  int Compact() {
    const std::string& path = a_.positional[1];
    if (IsDirectory(path)) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(path, ": is a directory")));
    }
    uint64_t before = FileSize(path);
    sop::Options o;
    o.create_if_missing = false;
    absl::Status st;
    {
      Progress progress("compact", before);
      st = sop::Database::Compact(path, o, [&](uint64_t done) { progress.Update(done); });
    }
    if (!st.ok()) return Fail(st);
    std::printf("compacted %s: %llu -> %llu bytes\n", path.c_str(),
                static_cast<unsigned long long>(before),
                static_cast<unsigned long long>(FileSize(path)));
    return 0;
  }

  int Bench();

  Args a_;
  const bool hex_;
};

// A short db_bench-style run. Each phase prints its throughput; keys are
// 16 bytes, values --value-size bytes (100).
int Tool::Bench() {
  const std::string& path = a_.positional[1];
  uint64_t num = 100000, value_size = 100;
  if (auto it = a_.options.find("--num"); it != a_.options.end()) {
    if (!absl::SimpleAtoi(it->second, &num) || num == 0) return Usage("--num needs a number > 0");
  }
  if (auto it = a_.options.find("--value-size"); it != a_.options.end()) {
    if (!absl::SimpleAtoi(it->second, &value_size)) return Usage("--value-size needs a number");
  }
  if (Exists(path)) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat(path, ": already exists; bench needs a new path (it removes it after)")));
  }
  absl::Status result;
  {
    auto db = sop::Database::Open(path);
    if (!db.ok()) return Fail(db.status());
    auto key = [](uint64_t i) {
      return absl::StrFormat("%016llu", static_cast<unsigned long long>(i));
    };
    const std::string value(value_size, 'v');
    std::mt19937_64 rng(301);
    std::printf("sop bench: %llu keys, 16-byte keys, %llu-byte values\n",
                static_cast<unsigned long long>(num), static_cast<unsigned long long>(value_size));
    std::printf("%-14s %12s %12s\n", "workload", "ops/s", "us/op");
    auto timed = [&](const char* name, uint64_t ops, const std::function<absl::Status()>& fn) {
      if (!result.ok()) return;
      auto start = std::chrono::steady_clock::now();
      result = fn();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (result.ok()) {
        std::printf("%-14s %12.0f %12.2f\n", name, static_cast<double>(ops) / s,
                    s * 1e6 / static_cast<double>(ops));
        std::fflush(stdout);
      }
    };
    // Writes `count` keys chosen by `pick`, `per_txn` per durable transaction.
    auto write = [&](const char* store, uint64_t count, uint64_t per_txn,
                     const std::function<uint64_t(uint64_t)>& pick) -> absl::Status {
      for (uint64_t done = 0; done < count;) {
        auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
        if (!t.ok()) return t.status();
        auto s = (*t)->OpenStore(store);
        if (!s.ok()) return s.status();
        for (uint64_t i = 0; i < per_txn && done < count; ++i, ++done) {
          if (auto st = (*s)->Put(key(pick(done)), value); !st.ok()) return st;
        }
        if (auto st = (*t)->Commit(); !st.ok()) return st;
      }
      return absl::OkStatus();
    };
    timed("fillseq", num, [&] { return write("seq", num, 1000, [](uint64_t i) { return i; }); });
    timed("fillrandom", num,
          [&] { return write("rand", num, 1000, [&](uint64_t) { return rng() % num; }); });
    timed("overwrite", num / 10,
          [&] { return write("rand", num / 10, 100, [&](uint64_t) { return rng() % num; }); });
    timed("readrandom", num, [&]() -> absl::Status {
      auto t = (*db)->Begin(sop::TxnMode::kReadOnly);
      if (!t.ok()) return t.status();
      auto s = (*t)->OpenStore("seq");
      if (!s.ok()) return s.status();
      for (uint64_t i = 0; i < num; ++i) {
        if (auto v = (*s)->Get(key(rng() % num)); !v.ok()) return v.status();
      }
      return absl::OkStatus();
    });
    timed("readseq", num, [&]() -> absl::Status {
      auto t = (*db)->Begin(sop::TxnMode::kReadOnly);
      if (!t.ok()) return t.status();
      auto s = (*t)->OpenStore("seq");
      if (!s.ok()) return s.status();
      auto c = (*s)->NewCursor();
      uint64_t n = 0;
      for (c->SeekToFirst(); c->Valid(); c->Next()) ++n;
      if (n != num) return absl::InternalError(absl::StrCat("scan saw ", n, " of ", num, " keys"));
      return c->status();
    });
    const uint64_t commits = std::min<uint64_t>(num, 1000);
    timed("commit", commits,
          [&] { return write("commits", commits, 1, [&](uint64_t i) { return i; }); });
  }
  for (const char* suffix : {"", "-wal", "-lock"}) {
    std::error_code ec;
    std::filesystem::remove(path + suffix, ec);
  }
  return result.ok() ? 0 : Fail(result);
}

}  // namespace

int main(int argc, char** argv) {
  std::string problem;
  auto args = Parse(argc, argv, &problem);
  if (!args) return Usage(problem);
  return Tool(*std::move(args)).Run();
}
