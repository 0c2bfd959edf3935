// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Calls made at the wrong time or with the wrong arguments: each gets a
// clear error, changes nothing, and the database goes on.

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sop/fault_injection_env.h"
#include "sop/sop.h"
#include "test_util.h"

namespace sop {
namespace {

class ReverseComparator final : public Comparator {
 public:
  int Compare(absl::string_view a, absl::string_view b) const override { return b.compare(a); }
  const char* Name() const override { return "test.reverse"; }
};

class MisuseTest : public ::testing::Test {
 protected:
  MisuseTest() : mem_(NewMemEnv()), env_(mem_.get()) { Open(); }

  void Open(std::vector<const Comparator*> comparators = {}) {
    db_.reset();
    Options o;
    o.env = &env_;
    o.comparators = std::move(comparators);
    auto db = Database::Open("/db", o);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  std::unique_ptr<Transaction> Begin(TxnMode mode = TxnMode::kReadWrite,
                                     const TxnOptions& options = {}) {
    auto t = db_->Begin(mode, options);
    EXPECT_TRUE(t.ok()) << t.status();
    return std::move(*t);
  }
  // `key` of `store` as committed now, read in a snapshot of its own.
  absl::StatusOr<std::string> Committed(const std::string& store, const std::string& key) {
    auto t = db_->Begin(TxnMode::kReadOnly);
    if (!t.ok()) return t.status();
    auto s = (*t)->OpenStore(store);
    if (!s.ok()) return s.status();
    return (*s)->Get(key);
  }
  absl::Status Put(const std::string& store, const std::string& key, const std::string& value) {
    return db_->Update([&](Transaction& t) -> absl::Status {
      auto s = t.OpenStore(store);
      if (!s.ok()) return s.status();
      return (*s)->Put(key, value);
    });
  }

  std::unique_ptr<Env> mem_;
  FaultInjectionEnv env_;
  std::unique_ptr<Database> db_;
};

TEST_F(MisuseTest, AFinishedTransactionRefusesEverything) {
  for (bool commit : {true, false}) {
    auto t = Begin();
    auto s = t->OpenStore("s");
    SOP_ASSERT_OK(s);
    SOP_ASSERT_OK((*s)->Put("k", "v"));
    SOP_ASSERT_OK(commit ? t->Commit() : t->Rollback());
    EXPECT_TRUE(absl::IsInvalidArgument(t->OpenStore("s").status()));
    EXPECT_TRUE(absl::IsInvalidArgument(t->DropStore("s")));
    EXPECT_TRUE(absl::IsInvalidArgument(t->ListStores().status()));
    EXPECT_TRUE(absl::IsInvalidArgument(t->Prepare("x")));
    EXPECT_TRUE(absl::IsInvalidArgument(t->CommitPrepared()));
    EXPECT_TRUE(absl::IsInvalidArgument((*s)->Put("k2", "v")));
    EXPECT_TRUE(absl::IsInvalidArgument((*s)->Get("k").status()));
    EXPECT_TRUE(absl::IsInvalidArgument((*s)->NewValueReader("k").status()));
    EXPECT_TRUE(absl::IsInvalidArgument((*s)->NewValueWriter("k2", 10).status()));
    auto c = (*s)->NewCursor();
    c->SeekToFirst();
    EXPECT_FALSE(c->Valid());
    EXPECT_TRUE(absl::IsInvalidArgument(c->status())) << c->status();
    absl::Status again = t->Commit();
    EXPECT_TRUE(absl::IsInvalidArgument(again)) << again;
    SOP_EXPECT_OK(t->Rollback());
  }
  EXPECT_EQ(*Committed("s", "k"), "v");
  EXPECT_TRUE(absl::IsNotFound(Committed("s", "k2").status()));
}

// The application closes the database while it still holds transactions,
// their stores, a cursor and a value reader: each then fails with
// FailedPrecondition instead of reaching a database that is gone (under
// ASan, a use after free), and the files keep exactly what was committed.
TEST_F(MisuseTest, TransactionsThatOutliveTheirDatabaseFailCleanly) {
  SOP_ASSERT_OK(Put("s", "k", "v"));
  SOP_ASSERT_OK(Put("s", "big", std::string(100000, 'b')));  // a value outside the node
  auto writer = Begin();
  auto ws = writer->OpenStore("s");
  SOP_ASSERT_OK(ws);
  SOP_ASSERT_OK((*ws)->Put("uncommitted", "x"));
  auto reader = Begin(TxnMode::kReadOnly);
  auto rs = reader->OpenStore("s");
  SOP_ASSERT_OK(rs);
  auto cursor = (*rs)->NewCursor();
  cursor->SeekToFirst();
  ASSERT_TRUE(cursor->Valid());
  auto value = (*rs)->NewValueReader("big");
  SOP_ASSERT_OK(value);
  auto prepared = Begin();
  SOP_ASSERT_OK((*prepared->OpenStore("p"))->Put("pk", "pv"));
  SOP_ASSERT_OK(prepared->Prepare("xid-1"));

  db_.reset();

  auto closed = [](const absl::Status& st) { return absl::IsFailedPrecondition(st); };
  EXPECT_TRUE(closed((*ws)->Put("k2", "v"))) << (*ws)->Put("k2", "v");
  EXPECT_TRUE(closed((*rs)->Get("k").status()));
  EXPECT_TRUE(closed(reader->OpenStore("s").status()));
  cursor->Next();
  EXPECT_FALSE(cursor->Valid());
  EXPECT_TRUE(closed(cursor->status())) << cursor->status();
  std::string buf(10, '\0');
  EXPECT_TRUE(closed((*value)->Read(0, absl::MakeSpan(buf))));
  EXPECT_TRUE(closed((*value)->View().status()));
  EXPECT_TRUE(closed(writer->Commit()));
  EXPECT_TRUE(closed(prepared->CommitPrepared()));
  SOP_EXPECT_OK(reader->Rollback());
  cursor.reset();
  value->reset();
  reader.reset();
  writer.reset();
  prepared.reset();

  Open();
  EXPECT_EQ(*Committed("s", "k"), "v");
  EXPECT_EQ(Committed("s", "big")->size(), 100000u);
  EXPECT_TRUE(absl::IsNotFound(Committed("s", "uncommitted").status()));
  EXPECT_EQ(db_->InDoubt(), std::vector<std::string>{"xid-1"});
  SOP_ASSERT_OK(db_->CommitPrepared("xid-1"));
  EXPECT_EQ(*Committed("p", "pk"), "pv");
  SOP_EXPECT_OK(db_->Verify());
}

TEST_F(MisuseTest, TwoPhaseCommitCallsOutOfOrder) {
  SOP_ASSERT_OK(Put("s", "seed", "0"));  // so that the two below only write keys
  auto ro = Begin(TxnMode::kReadOnly);
  EXPECT_TRUE(absl::IsInvalidArgument(ro->Prepare("x")));
  EXPECT_TRUE(absl::IsInvalidArgument(ro->DropStore("s")));
  auto t = Begin();
  EXPECT_TRUE(absl::IsInvalidArgument(t->CommitPrepared()));  // not prepared
  auto s = t->OpenStore("s");
  SOP_ASSERT_OK(s);
  SOP_ASSERT_OK((*s)->Put("a", "1"));
  EXPECT_TRUE(absl::IsInvalidArgument(t->Prepare("")));
  SOP_ASSERT_OK(t->Prepare("x"));
  EXPECT_TRUE(absl::IsInvalidArgument((*s)->Put("b", "2")));  // prepared: no more changes
  EXPECT_TRUE(absl::IsInvalidArgument(t->Prepare("x")));
  auto other = Begin();
  auto os = other->OpenStore("s");
  SOP_ASSERT_OK(os);
  SOP_ASSERT_OK((*os)->Put("c", "3"));
  absl::Status taken = other->Prepare("x");
  EXPECT_TRUE(absl::IsAlreadyExists(taken)) << taken;
  SOP_ASSERT_OK(other->Prepare("y"));  // the transaction is still usable under another id
  EXPECT_TRUE(absl::IsNotFound(db_->CommitPrepared("nobody")));
  EXPECT_TRUE(absl::IsNotFound(db_->AbortPrepared("nobody")));
  SOP_ASSERT_OK(t->Commit());  // Commit of a prepared transaction decides it
  SOP_ASSERT_OK(other->Rollback());
  EXPECT_TRUE(db_->InDoubt().empty());
  EXPECT_EQ(*Committed("s", "a"), "1");
  EXPECT_TRUE(absl::IsNotFound(Committed("s", "c").status()));
}

TEST_F(MisuseTest, StoreNamesAndOptionsAreChecked) {
  auto t = Begin();
  EXPECT_TRUE(absl::IsInvalidArgument(t->OpenStore("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(t->OpenStore(std::string(100000, 'n')).status()));
  StoreOptions dups;
  dups.unique = false;
  SOP_ASSERT_OK(t->OpenStore("d", dups));
  SOP_ASSERT_OK(t->Commit());
  auto u = Begin();
  absl::Status mismatch = u->OpenStore("d").status();  // asks for a unique store
  EXPECT_TRUE(absl::IsFailedPrecondition(mismatch)) << mismatch;
  ReverseComparator reverse;
  StoreOptions reversed = dups;
  reversed.comparator = &reverse;
  EXPECT_TRUE(absl::IsFailedPrecondition(u->OpenStore("d", reversed).status()));
  EXPECT_TRUE(absl::IsNotFound(u->DropStore("nothing")));
  auto ro = Begin(TxnMode::kReadOnly);
  EXPECT_TRUE(absl::IsNotFound(ro->OpenStore("nothing").status()));
}

TEST_F(MisuseTest, WritingIntoAStoreAnotherTransactionDroppedIsAConflict) {
  SOP_ASSERT_OK(Put("s", "k", "v"));
  auto writer = Begin();
  auto s = writer->OpenStore("s");
  SOP_ASSERT_OK(s);
  SOP_ASSERT_OK((*s)->Put("k2", "v2"));
  auto dropper = Begin();
  SOP_ASSERT_OK(dropper->DropStore("s"));
  SOP_ASSERT_OK(dropper->Commit());
  absl::Status st = writer->Commit();
  EXPECT_TRUE(absl::IsAborted(st)) << st;
  EXPECT_NE(st.message().find("store s"), std::string::npos) << st;
  auto ro = Begin(TxnMode::kReadOnly);
  EXPECT_TRUE(absl::IsNotFound(ro->OpenStore("s").status()));
  // And the other way round: a store dropped and re-created meanwhile.
  SOP_ASSERT_OK(Put("s2", "k", "v"));
  auto late = Begin();
  auto s2 = late->OpenStore("s2");
  SOP_ASSERT_OK(s2);
  SOP_ASSERT_OK((*s2)->Put("x", "y"));
  auto recreate = Begin();
  SOP_ASSERT_OK(recreate->DropStore("s2"));
  SOP_ASSERT_OK(recreate->OpenStore("s2"));
  SOP_ASSERT_OK(recreate->Commit());
  EXPECT_TRUE(absl::IsAborted(late->Commit()));
}

TEST_F(MisuseTest, SerializableScansConflictOnlyInsideTheirBounds) {
  for (int i = 0; i < 10; ++i) SOP_ASSERT_OK(Put("s", std::string(1, 'a' + i), "v"));
  TxnOptions serializable;
  serializable.serializable = true;
  for (const char* written : {"c", "h"}) {  // inside, then outside [b, e)
    auto scanner = Begin(TxnMode::kReadWrite, serializable);
    auto s = scanner->OpenStore("s");
    SOP_ASSERT_OK(s);
    CursorOptions range;
    range.lower_bound = "b";
    range.upper_bound = "e";
    auto c = (*s)->NewCursor(range);
    int seen = 0;
    for (c->SeekToFirst(); c->Valid(); c->Next()) ++seen;
    EXPECT_EQ(seen, 3);
    SOP_ASSERT_OK((*s)->Put("z", "from the scanner"));
    SOP_ASSERT_OK(Put("s", written, "changed"));
    absl::Status st = scanner->Commit();
    if (std::string(written) == "c") {
      EXPECT_TRUE(absl::IsAborted(st)) << st;
      EXPECT_NE(st.message().find("range"), std::string::npos) << st;
    } else {
      SOP_EXPECT_OK(st);
    }
  }
}

TEST_F(MisuseTest, ALogThatNeedsAComparatorTheApplicationDidNotGiveIsFailedPrecondition) {
  ReverseComparator reverse;
  StoreOptions o;
  o.comparator = &reverse;
  SOP_ASSERT_OK(db_->Update([&](Transaction& t) -> absl::Status {
    auto s = t.OpenStore("r", o);
    if (!s.ok()) return s.status();
    return (*s)->Put("k", "v");
  }));
  // The power goes before any checkpoint: the store lives only in the log.
  env_.CrashAfter(0);
  db_.reset();
  SOP_ASSERT_OK(env_.SimulatePowerLoss({.seed = 1, .keep_some = false}));
  Options plain;
  plain.env = &env_;
  auto without = Database::Open("/db", plain);
  ASSERT_TRUE(absl::IsFailedPrecondition(without.status())) << without.status();
  EXPECT_NE(without.status().message().find("test.reverse"), std::string::npos);
  Open({&reverse});  // given the comparator, everything is there
  auto t = Begin(TxnMode::kReadOnly);
  auto s = t->OpenStore("r", o);
  SOP_ASSERT_OK(s);
  EXPECT_EQ(*(*s)->Get("k"), "v");
  t.reset();
  // Checkpointed, a store whose comparator is missing can still be listed
  // and dropped, but not checked.
  SOP_ASSERT_OK(db_->Checkpoint());
  db_.reset();
  Open();
  absl::Status verified = db_->Verify();
  EXPECT_TRUE(absl::IsFailedPrecondition(verified)) << verified;
  auto dropper = Begin();
  SOP_ASSERT_OK(dropper->DropStore("r"));
  SOP_ASSERT_OK(dropper->Commit());
  SOP_EXPECT_OK(db_->Verify());
}

}  // namespace
}  // namespace sop
