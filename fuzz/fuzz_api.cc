// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// The public API driven by the fuzzer's bytes against a std::map model:
// puts (small and out-of-node values), removes, gets, scans, commits,
// rollbacks, checkpoints and reopens of a database in memory. Any
// difference from the model, or a failed Verify, aborts.

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "sop/sop.h"

namespace {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  uint8_t Byte() { return p_ == end_ ? 0 : *p_++; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

void Check(bool ok) {
  if (!ok) std::abort();
}

using Model = std::map<std::string, std::string>;

void CheckScan(sop::RawStore& s, const Model& want) {
  auto c = s.NewCursor();
  auto it = want.begin();
  for (c->SeekToFirst(); c->Valid(); c->Next(), ++it) {
    Check(it != want.end() && c->key() == it->first && c->value() == it->second);
  }
  Check(c->status().ok() && it == want.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  auto env = sop::NewMemEnv();
  sop::Options o;
  o.env = env.get();
  o.checkpoint_dirty_bytes = 64 << 10;  // checkpoints happen often
  auto db = sop::Database::Open("/db", o);
  Check(db.ok());
  Model committed, pending;
  std::unique_ptr<sop::Transaction> txn;
  sop::RawStore* store = nullptr;
  auto begin = [&] {
    if (txn) return;
    auto t = (*db)->Begin(sop::TxnMode::kReadWrite);
    Check(t.ok());
    txn = *std::move(t);
    auto s = txn->OpenStore("s");
    Check(s.ok());
    store = *s;
  };
  for (int steps = 0; !in.empty() && steps < 2000; ++steps) {
    uint8_t op = in.Byte();
    std::string key = "k" + std::to_string(in.Byte() % 48);
    switch (op % 8) {
      case 0: {  // put: mostly short values, sometimes one stored out of the node
        uint8_t len = in.Byte();
        std::string value(len % 16 == 0 ? 1500 + len * 8 : len, static_cast<char>('a' + op % 26));
        begin();
        Check(store->Put(key, value).ok());
        pending[key] = value;
        break;
      }
      case 1: {
        begin();
        absl::Status st = store->Remove(key);
        Check(pending.erase(key) == 1 ? st.ok() : absl::IsNotFound(st));
        break;
      }
      case 2: {
        begin();
        auto v = store->Get(key);
        auto it = pending.find(key);
        Check(it == pending.end() ? absl::IsNotFound(v.status()) : v.ok() && *v == it->second);
        break;
      }
      case 3:
        if (txn) {
          Check(txn->Commit().ok());
          txn.reset();
          committed = pending;
        }
        break;
      case 4:
        if (txn) {
          Check(txn->Rollback().ok());
          txn.reset();
          pending = committed;
        }
        break;
      case 5:
        begin();
        CheckScan(*store, pending);
        break;
      case 6: {  // reopen: what was committed, and only that, is there
        txn.reset();
        pending = committed;
        db->reset();
        db = sop::Database::Open("/db", o);
        Check(db.ok());
        begin();
        CheckScan(*store, committed);
        break;
      }
      default:
        if (!txn) Check((*db)->Checkpoint().ok());
        break;
    }
  }
  txn.reset();
  Check((*db)->Verify().ok());
  return 0;
}
