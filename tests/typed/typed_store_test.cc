// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.

#include "sop/typed_store.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "sop/database.h"
#include "test_util.h"

namespace sop {

// A user type with a user-written codec, built from the field codecs.
struct Person {
  std::string name;
  int32_t age = 0;
  double height = 0;
  friend bool operator==(const Person&, const Person&) = default;
};

template <>
struct Codec<Person> {
  static void Encode(const Person& p, std::string* out, bool last) {
    Codec<std::string>::Encode(p.name, out, false);
    Codec<int32_t>::Encode(p.age, out, false);
    Codec<double>::Encode(p.height, out, last);
  }
  static bool Decode(absl::string_view* in, Person* p, bool last) {
    return Codec<std::string>::Decode(in, &p->name, false) &&
           Codec<int32_t>::Decode(in, &p->age, false) &&
           Codec<double>::Decode(in, &p->height, last);
  }
};

namespace {

template <typename T>
void ExpectOrderPreserved(const std::vector<T>& values) {
  for (const T& a : values) {
    T back{};
    ASSERT_TRUE(DecodeKey(EncodeKey(a), &back));
    if constexpr (std::is_floating_point_v<T>) {
      EXPECT_EQ(std::signbit(a), std::signbit(back));
    }
    EXPECT_TRUE(back == a || (back != back && a != a));
    for (const T& b : values) {
      int bytes = EncodeKey(a).compare(EncodeKey(b));
      bool less = a < b, greater = b < a;
      if (less) {
        EXPECT_LT(bytes, 0);
      }
      if (greater) {
        EXPECT_GT(bytes, 0);
      }
    }
  }
}

TEST(CodecTest, IntegersSortNumerically) {
  ExpectOrderPreserved<int64_t>({INT64_MIN, -1000000, -256, -1, 0, 1, 255, 256, INT64_MAX});
  ExpectOrderPreserved<int32_t>({INT32_MIN, -2, -1, 0, 1, 2, INT32_MAX});
  ExpectOrderPreserved<int8_t>({-128, -1, 0, 1, 127});
  ExpectOrderPreserved<uint64_t>({0, 1, 255, 256, 65535, UINT64_MAX});
  ExpectOrderPreserved<uint16_t>({0, 1, 255, 256, 65535});
  std::mt19937_64 rng(1);
  std::vector<int64_t> random;
  for (int i = 0; i < 300; ++i) random.push_back(static_cast<int64_t>(rng()));
  ExpectOrderPreserved(random);
}

TEST(CodecTest, FloatingPointSortsNumerically) {
  ExpectOrderPreserved<double>(
      {-INFINITY, -1e300, -1.5, -1e-300, -0.0, 0.0, 1e-300, 2.5, 1e300, INFINITY});
  ExpectOrderPreserved<float>({-INFINITY, -3.5f, -0.0f, 0.0f, 1e-30f, 7.25f, INFINITY});
}

TEST(CodecTest, StringsAndBytesSortLexicographically) {
  ExpectOrderPreserved<std::string>({"", std::string("\0", 1), "a", std::string("a\0", 2),
                                     std::string("a\0b", 3), "ab", "b", "\xFF"});
  ExpectOrderPreserved<std::vector<uint8_t>>({{}, {0}, {0, 0}, {1}, {1, 0xFF}, {0xFF}});
}

TEST(CodecTest, TuplesSortFieldByField) {
  using Key = std::tuple<std::string, int32_t, double>;
  ExpectOrderPreserved<Key>({{"", -5, 1.0},
                             {"", 3, -2.0},
                             {"a", -1, 0.0},
                             {"a", -1, 0.5},
                             {"a", 0, -9.0},
                             {std::string("a\0", 2), INT32_MIN, 0},
                             {"ab", 0, 0},
                             {"b", INT32_MIN, -1}});
}

TEST(CodecTest, TruncatedOrForeignBytesDoNotDecode) {
  int64_t i;
  EXPECT_FALSE(DecodeKey("abc", &i));
  std::tuple<std::string, int32_t> t;
  EXPECT_FALSE(DecodeKey(std::string("no terminator"), &t));
  EXPECT_FALSE(DecodeKey(EncodeKey(std::tuple<std::string, int32_t>{"x", 1}) + "extra", &t));
}

TEST(TypedStoreTest, CompositeKeysAndUserTypesThroughATransaction) {
  auto db = Database::OpenInMemory();
  SOP_ASSERT_OK(db);
  auto txn = (*db)->Begin(TxnMode::kReadWrite);
  SOP_ASSERT_OK(txn);
  using Key = std::tuple<std::string, int32_t>;
  Store<Key, Person> people(**txn, "people");
  SOP_ASSERT_OK(people.status());
  SOP_ASSERT_OK(people.Put({"smith", 42}, {"Ann Smith", 42, 1.70}));
  SOP_ASSERT_OK(people.Put({"smith", -1}, {"Unborn Smith", -1, 0.5}));
  SOP_ASSERT_OK(people.Put({"jones", 7}, {"Bo Jones", 7, 1.20}));
  EXPECT_TRUE(absl::IsAlreadyExists(people.Add({"jones", 7}, {})));
  auto ann = people.Get({"smith", 42});
  SOP_ASSERT_OK(ann);
  EXPECT_EQ(*ann, (Person{"Ann Smith", 42, 1.70}));
  auto c = people.NewCursor();
  std::vector<Key> keys;
  for (c->SeekToFirst(); c->Valid(); c->Next()) keys.push_back(c->key());
  SOP_ASSERT_OK(c->status());
  EXPECT_EQ(keys, (std::vector<Key>{{"jones", 7}, {"smith", -1}, {"smith", 42}}));
  c->Seek({"smith", 0});
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->value().name, "Ann Smith");

  // Reading a store with the wrong types is DataLoss, not garbage.
  Store<Key, int64_t> wrong(**txn, "people");
  EXPECT_TRUE(absl::IsDataLoss(wrong.Get({"smith", 42}).status()));
  Store<int64_t, int64_t> missing(**txn, "");
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(missing.Put(1, 2)));
}

}  // namespace
}  // namespace sop
