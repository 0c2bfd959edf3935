// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Writes the seed corpora in fuzz/corpus/<target>/ from real encodings:
//   build/fuzz/fuzz/make_seeds fuzz/corpus

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "btree/node.h"
#include "sop/sop.h"
#include "txn/format.h"

namespace {

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), bytes.size());
}

std::string ReadMem(sop::Env& env, const std::string& path) {
  auto f = env.OpenFile(path, sop::OpenMode::kExisting);
  if (!f.ok()) return "";
  std::string bytes((*f)->Size().value_or(0), '\0');
  (void)(*f)->ReadAt(0, absl::MakeSpan(bytes));
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "fuzz/corpus";
  // Nodes.
  sop::Node leaf;
  leaf.InsertEntry(0, "apple", 0, "red", sop::ValueKind::kInline);
  leaf.InsertEntry(1, "banana", 3, std::string(16, 'b'), sop::ValueKind::kBlob);
  Write(out + "/fuzz_node", "leaf", sop::EncodeNode(leaf));
  sop::Node internal;
  internal.leaf = false;
  internal.children = {7};
  internal.InsertSeparator(0, "m", 0, 9);
  Write(out + "/fuzz_node", "internal", sop::EncodeNode(internal));

  // Records: the first byte picks the parser.
  std::string ops;
  sop::AppendOp(&ops, {sop::OpType::kPut, "s", "key", sop::ValueKind::kInline, "value"});
  sop::AppendOp(&ops, {sop::OpType::kRemove, "s", "gone", sop::ValueKind::kInline, ""});
  Write(out + "/fuzz_records", "commit", std::string(1, '\0') + sop::CommitRecord(ops));
  Write(out + "/fuzz_records", "prepare", std::string(1, '\0') + sop::PrepareRecord("x1", ops));
  Write(out + "/fuzz_records", "ops", std::string(1, '\1') + ops);
  Write(out + "/fuzz_records", "meta",
        std::string(1, '\2') + sop::EncodeStoreMeta({5, false, 1024, "sop.bytewise"}));
  sop::CheckpointRoot root;
  root.next_id = 600;
  root.registry_pages[0] = {3, 100};
  root.registry_pages[1] = {4, 80};
  Write(out + "/fuzz_records", "root", std::string(1, '\3') + sop::EncodeCheckpointRoot(root));
  Write(out + "/fuzz_records", "registry",
        std::string(1, '\4') + sop::EncodeRegistryPage({{1, {3, 100}}, {2, {5, 40}}}));

  // A real database: its data file and a WAL holding commits since the checkpoint.
  auto env = sop::NewMemEnv();
  sop::Options o;
  o.env = env.get();
  {
    auto db = sop::Database::Open("/db", o);
    if (!db.ok()) return 1;
    for (int c = 0; c < 4; ++c) {
      (void)(*db)->Update([&](sop::Transaction& t) -> absl::Status {
        auto s = t.OpenStore(c % 2 ? "odd" : "even", {.unique = c != 3});
        if (!s.ok()) return s.status();
        for (int i = 0; i < 20; ++i) {
          auto st =
              (*s)->Put("key" + std::to_string(i), std::string(c == 2 && i == 0 ? 2000 : 10, 'v'));
          if (!st.ok()) return st;
        }
        return absl::OkStatus();
      });
      if (c == 1) (void)(*db)->Checkpoint();
    }
    std::string data = ReadMem(*env, "/db"), wal = ReadMem(*env, "/db-wal");
    Write(out + "/fuzz_wal", "wal", wal);
    size_t units = (data.size() + 63) / 64;
    data.resize(units * 64, '\0');
    std::string input = {static_cast<char>(units >> 8), static_cast<char>(units & 0xff)};
    Write(out + "/fuzz_files", "db", input + data + wal);
  }

  // Dump lines.
  Write(out + "/fuzz_dump", "header", "{\"sop_dump\":1}");
  Write(out + "/fuzz_dump", "store", "{\"store\":\"people\",\"unique\":true}");
  Write(out + "/fuzz_dump", "entry", "{\"k\":\"ada\\n\",\"v\":\"Ada \\u00e9\\\"L\\\"\"}");
  Write(out + "/fuzz_dump", "base64", "{\"k64\":\"AP8=\",\"v64\":\"wyg=\"}");

  // API programs: opcodes and arguments.
  Write(out + "/fuzz_api", "puts_commit_reopen",
        std::string("\x00\x01\x05\x00\x02\x10\x03\x00\x06\x00\x02\x01\x05\x00", 14));
  Write(
      out + "/fuzz_api", "mixed",
      std::string("\x00\x03\x20\x01\x03\x00\x04\x00\x00\x07\x10\x03\x00\x07\x00\x01\x07\x05", 18));
  std::printf("seeds written to %s\n", out.c_str());
  return 0;
}
