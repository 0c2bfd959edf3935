// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The `sop` command-line tool: create and inspect databases, read and write
// entries, scan, and check. Errors are one line on stderr naming the file,
// exit code 1; usage errors exit 2.

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sop/sop.h"
#include "tools/dump_format.h"

namespace {

constexpr char kUsage[] =
    "usage: sop <command> [args] [options]\n"
    "\n"
    "commands:\n"
    "  create PATH                       create a database\n"
    "  info PATH                         stores, entry counts, file sizes, counters\n"
    "  put PATH STORE KEY [VALUE]        set KEY to VALUE (or --value-file F)\n"
    "  get PATH STORE KEY                print the value of KEY\n"
    "  del PATH STORE KEY                remove KEY\n"
    "  scan PATH STORE                   print entries, one per line: key<TAB>value\n"
    "       [--from K] [--to K] [--prefix P] [--reverse] [--limit N]\n"
    "  check PATH                        verify every checksum and B-tree invariant\n"
    "  dump PATH [STORE]                 write stores as JSON Lines to stdout\n"
    "  load PATH                         read a dump from stdin (one transaction)\n"
    "\n"
    "options:\n"
    "  --hex            keys and values are given and printed as hex\n"
    "  --value-file F   (put) read the value from file F, streamed\n"
    "  --help           this text; `sop <command> --help` for one command\n";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--name" -> value ("" for flags)
};

int Usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "sop: %s\n", problem.c_str());
  std::fputs(kUsage, stderr);
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
         name == "--value-file";
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

class Tool {
 public:
  explicit Tool(Args a) : a_(std::move(a)), hex_(a_.options.count("--hex") > 0) {}

  int Run() {
    if (a_.positional.empty()) {
      if (a_.options.count("--help")) return Help("");
      return Usage("no command given");
    }
    const std::string& cmd = a_.positional[0];
    if (a_.options.count("--help")) return Help(cmd);
    if (a_.positional.size() > 1) g_path = a_.positional[1];
    if (cmd == "create") return Need(1) ? Create() : Usage("create needs PATH");
    if (cmd == "info") return Need(1) ? Info() : Usage("info needs PATH");
    if (cmd == "put") {
      bool from_file = a_.options.count("--value-file") > 0;
      if (!Need(from_file ? 3 : 4)) return Usage("put needs PATH STORE KEY VALUE");
      return Put();
    }
    if (cmd == "get") return Need(3) ? Get() : Usage("get needs PATH STORE KEY");
    if (cmd == "del") return Need(3) ? Del() : Usage("del needs PATH STORE KEY");
    if (cmd == "scan") return Need(2) ? Scan() : Usage("scan needs PATH STORE");
    if (cmd == "check") return Need(1) ? Check() : Usage("check needs PATH");
    if (cmd == "dump") return Need(1) || Need(2) ? Dump() : Usage("dump needs PATH [STORE]");
    if (cmd == "load") return Need(1) ? Load() : Usage("load needs PATH");
    return Usage(absl::StrCat("unknown command ", cmd));
  }

 private:
  bool Need(size_t n) const { return a_.positional.size() == n + 1; }

  int Help(const std::string& cmd) {
    std::fputs(kUsage, stdout);
    (void)cmd;
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

  absl::StatusOr<std::unique_ptr<sop::Database>> OpenExisting(const std::string& path) {
    if (std::filesystem::is_directory(path)) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": is a directory"));
    }
    sop::Options o;
    o.create_if_missing = false;
    return sop::Database::Open(path, o);
  }

  int Create() {
    const std::string& path = a_.positional[1];
    if (std::filesystem::exists(path)) {
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
    auto t = (*db)->Begin(sop::TxnMode::kReadOnly);
    if (!t.ok()) return Fail(t.status());
    auto names = (*t)->ListStores();
    if (!names.ok()) return Fail(names.status());
    std::printf("database   %s\n", path.c_str());
    std::error_code ec;
    std::printf("data file  %llu bytes\n",
                static_cast<unsigned long long>(std::filesystem::file_size(path, ec)));
    std::printf("wal        %llu bytes\n",
                static_cast<unsigned long long>(std::filesystem::file_size(path + "-wal", ec)));
    sop::DatabaseStats stats = (*db)->Stats();
    std::printf("nodes      %llu\n", static_cast<unsigned long long>(stats.registry_nodes));
    std::printf("stores     %zu\n", names->size());
    for (const std::string& name : *names) {
      auto s = (*t)->OpenStore(name);
      if (!s.ok()) {
        std::printf("  %-24s (%s)\n", name.c_str(), std::string(s.status().message()).c_str());
        continue;
      }
      uint64_t n = 0;
      auto c = (*s)->NewCursor();
      for (c->SeekToFirst(); c->Valid(); c->Next()) ++n;
      if (!c->status().ok()) return Fail(c->status());
      std::printf("  %-24s %llu entries\n", name.c_str(), static_cast<unsigned long long>(n));
    }
    return 0;
  }

  int Put() {
    const std::string& path = a_.positional[1];
    auto key = In(a_.positional[3]);
    if (!key.ok()) return Usage(std::string(key.status().message()));
    auto db = OpenExisting(path);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
    if (!t.ok()) return Fail(t.status());
    auto s = (*t)->OpenStore(a_.positional[2]);
    if (!s.ok()) return Fail(s.status());
    if (auto f = a_.options.find("--value-file"); f != a_.options.end()) {
      std::error_code ec;
      uint64_t size = std::filesystem::file_size(f->second, ec);
      std::ifstream in(f->second, std::ios::binary);
      if (ec || !in) {
        g_path.clear();
        return Fail(absl::NotFoundError(absl::StrCat(f->second, ": cannot read the value file")));
      }
      auto w = (*s)->NewValueWriter(*key, size);
      if (!w.ok()) return Fail(w.status());
      std::string chunk(1 << 20, '\0');
      while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        if (auto st = (*w)->Append(absl::string_view(chunk.data(), in.gcount())); !st.ok()) {
          return Fail(st);
        }
      }
      if (auto st = (*w)->Finish(); !st.ok()) return Fail(st);
    } else {
      auto value = In(a_.positional[4]);
      if (!value.ok()) return Usage(std::string(value.status().message()));
      if (auto st = (*s)->Put(*key, *value); !st.ok()) return Fail(st);
    }
    if (auto st = (*t)->Commit(); !st.ok()) return Fail(st);
    return 0;
  }

  int Get() {
    auto key = In(a_.positional[3]);
    if (!key.ok()) return Usage(std::string(key.status().message()));
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadOnly);
    auto s = (*t)->OpenStore(a_.positional[2]);
    if (!s.ok()) return Fail(s.status());
    auto v = (*s)->Get(*key);
    if (!v.ok()) return Fail(v.status());
    std::string out = Out(*v);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }

  int Del() {
    auto key = In(a_.positional[3]);
    if (!key.ok()) return Usage(std::string(key.status().message()));
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
    auto s = (*t)->OpenStore(a_.positional[2]);
    if (!s.ok()) return Fail(s.status());
    if (auto st = (*s)->Remove(*key); !st.ok()) return Fail(st);
    if (auto st = (*t)->Commit(); !st.ok()) return Fail(st);
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
    auto db = OpenExisting(a_.positional[1]);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadOnly);
    auto s = (*t)->OpenStore(a_.positional[2]);
    if (!s.ok()) return Fail(s.status());
    auto c = (*s)->NewCursor(co);
    uint64_t n = 0;
    for (reverse ? c->SeekToLast() : c->SeekToFirst(); c->Valid() && n < limit;
         reverse ? c->Prev() : c->Next(), ++n) {
      std::string line = absl::StrCat(Out(c->key()), "\t", Out(c->value()), "\n");
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    if (!c->status().ok()) return Fail(c->status());
    return 0;
  }

  int Check() {
    const std::string& path = a_.positional[1];
    auto db = OpenExisting(path);
    if (!db.ok()) return Fail(db.status());
    if (auto st = (*db)->Verify(); !st.ok()) {
      return Fail(absl::Status(st.code(), absl::StrCat(path, ": ", st.message())));
    }
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
    std::string out = "{\"sop_dump\":1}\n";
    for (const std::string& name : names) {
      // Stores opened as unique first; a duplicate store says so.
      sop::StoreOptions so;
      auto s = (*t)->OpenStore(name, so);
      if (absl::IsFailedPrecondition(s.status())) {
        so.unique = false;
        s = (*t)->OpenStore(name, so);
      }
      if (!s.ok()) return Fail(s.status());
      absl::StrAppend(&out, "{\"store\":", sop::JsonString(name),
                      ",\"unique\":", so.unique ? "true" : "false", "}\n");
      auto c = (*s)->NewCursor();
      for (c->SeekToFirst(); c->Valid(); c->Next()) {
        absl::StrAppend(&out, "{", Field("k", c->key()), ",", Field("v", c->value()), "}\n");
        if (out.size() > (1 << 20)) {
          std::fwrite(out.data(), 1, out.size(), stdout);
          out.clear();
        }
      }
      if (!c->status().ok()) return Fail(c->status());
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }

  int Load() {
    sop::Options o;
    auto db = sop::Database::Open(a_.positional[1], o);
    if (!db.ok()) return Fail(db.status());
    auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
    if (!t.ok()) return Fail(t.status());
    sop::RawStore* store = nullptr;
    bool unique = true;
    std::string line;
    uint64_t n = 0;
    int c;
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
    while (true) {
      line.clear();
      while ((c = std::getchar()) != EOF && c != '\n') line.push_back(static_cast<char>(c));
      if (c == EOF && line.empty()) break;
      ++n;
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
      if (c == EOF) break;
    }
    if (n == 0) return bad("empty input");
    if (auto st = (*t)->Commit(); !st.ok()) return Fail(st);
    return 0;
  }

  Args a_;
  const bool hex_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string problem;
  auto args = Parse(argc, argv, &problem);
  if (!args) return Usage(problem);
  return Tool(*std::move(args)).Run();
}
