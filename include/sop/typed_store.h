// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// sop::Store<K, V>: a store with typed keys and values, encoded by
// sop::Codec (codec.h) so that keys sort as K's values do.
//
//   sop::Store<std::tuple<std::string, int32_t>, Person> people(*txn, "people");
//   if (!people.ok()) return people.status();
//   people.Put({"smith", 42}, person);
//   auto p = people.Get({"smith", 42});            // absl::StatusOr<Person>
//   for (auto c = people.NewCursor(); ...)
//
// Errors are those of RawStore (store.h), plus DataLoss when stored bytes do
// not decode as K or V (the store was written with other types). Not
// thread-safe; valid while its transaction lives.

#ifndef SOP_TYPED_STORE_H_
#define SOP_TYPED_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "sop/codec.h"
#include "sop/store.h"
#include "sop/transaction.h"

namespace sop {

template <typename K, typename V>
class TypedCursor;

template <typename K, typename V>
class Store {
 public:
  // Opens the store `name` in `txn`, creating it in a read-write
  // transaction. On failure ok() is false and every call returns status().
  Store(Transaction& txn, absl::string_view name, const StoreOptions& options = {}) {
    auto raw = txn.OpenStore(name, options);
    if (raw.ok()) {
      raw_ = *raw;
    } else {
      status_ = raw.status();
    }
  }

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  RawStore* raw() const { return raw_; }

  absl::Status Add(const K& key, const V& value) {
    if (!ok()) return status_;
    return raw_->Add(EncodeKey(key), EncodeKey(value));
  }
  absl::Status Put(const K& key, const V& value) {
    if (!ok()) return status_;
    return raw_->Put(EncodeKey(key), EncodeKey(value));
  }
  absl::Status Update(const K& key, const V& value) {
    if (!ok()) return status_;
    return raw_->Update(EncodeKey(key), EncodeKey(value));
  }
  absl::Status Remove(const K& key) {
    if (!ok()) return status_;
    return raw_->Remove(EncodeKey(key));
  }
  absl::StatusOr<V> Get(const K& key) {
    if (!ok()) return status_;
    auto bytes = raw_->Get(EncodeKey(key));
    if (!bytes.ok()) return bytes.status();
    V value;
    if (!DecodeKey(*bytes, &value)) {
      return absl::DataLossError(
          absl::StrCat("store ", raw_->name(), ": value does not decode as the store's type"));
    }
    return value;
  }

  // A typed cursor; see TypedCursor. nullptr if the store failed to open.
  std::unique_ptr<TypedCursor<K, V>> NewCursor() {
    if (!ok()) return nullptr;
    return std::make_unique<TypedCursor<K, V>>(raw_->NewCursor());
  }

 private:
  RawStore* raw_ = nullptr;
  absl::Status status_;
};

// Walks a typed store in key order. key() and value() decode the current
// entry; bytes that do not decode make status() DataLoss and Valid() false.
template <typename K, typename V>
class TypedCursor {
 public:
  explicit TypedCursor(std::unique_ptr<Cursor> cursor) : cursor_(std::move(cursor)) {}

  void Seek(const K& key) { cursor_->Seek(EncodeKey(key)); }
  void SeekForPrev(const K& key) { cursor_->SeekForPrev(EncodeKey(key)); }
  void SeekToFirst() { cursor_->SeekToFirst(); }
  void SeekToLast() { cursor_->SeekToLast(); }
  void Next() { cursor_->Next(); }
  void Prev() { cursor_->Prev(); }
  bool Valid() const { return status_.ok() && cursor_->Valid(); }

  K key() const {
    K k{};
    if (!DecodeKey(cursor_->key(), &k)) status_ = absl::DataLossError("key does not decode");
    return k;
  }
  V value() const {
    V v{};
    if (!DecodeKey(cursor_->value(), &v)) status_ = absl::DataLossError("value does not decode");
    return v;
  }
  absl::Status status() const { return status_.ok() ? cursor_->status() : status_; }

 private:
  std::unique_ptr<Cursor> cursor_;
  mutable absl::Status status_;
};

}  // namespace sop

#endif  // SOP_TYPED_STORE_H_
