// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// Typed stores: a user struct as the value, with a codec written from the
// codecs of its fields, and a composite key that sorts field by field.

#include <cstdio>

#include "sop/sop.h"

struct Employee {
  std::string name;
  double salary = 0;
  bool remote = false;
};

// How an Employee becomes bytes and back, built from the field codecs.
template <>
struct sop::Codec<Employee> {
  static void Encode(const Employee& e, std::string* out, bool last) {
    Codec<std::string>::Encode(e.name, out, false);
    Codec<double>::Encode(e.salary, out, false);
    Codec<bool>::Encode(e.remote, out, last);
  }
  static bool Decode(absl::string_view* in, Employee* e, bool last) {
    return Codec<std::string>::Decode(in, &e->name, false) &&
           Codec<double>::Decode(in, &e->salary, false) &&
           Codec<bool>::Decode(in, &e->remote, last);
  }
};

int main() {
  auto db = sop::Database::OpenInMemory();
  if (!db.ok()) return 1;
  auto txn = (*db)->Begin(sop::TxnMode::kReadWrite);
  if (!txn.ok()) return 1;
  // Key: (department, employee number). Sorted by department, then number.
  using Key = std::tuple<std::string, int32_t>;
  sop::Store<Key, Employee> staff(**txn, "staff");
  if (!staff.ok()) return 1;
  (void)staff.Put({"research", 7}, {"Grace", 120000, true});
  (void)staff.Put({"research", 3}, {"Ada", 135000, false});
  (void)staff.Put({"design", 12}, {"Susan", 99000, true});
  (void)staff.Put({"research", -1}, {"Visitor", 0, true});

  auto cursor = staff.NewCursor();
  for (cursor->Seek({"research", INT32_MIN}); cursor->Valid(); cursor->Next()) {
    auto [dept, number] = cursor->key();
    Employee e = cursor->value();
    std::printf("%s #%d: %s, %.0f%s\n", dept.c_str(), number, e.name.c_str(), e.salary,
                e.remote ? " (remote)" : "");
  }
  if (!cursor->status().ok()) return 1;
  return (*txn)->Commit().ok() ? 0 : 1;
}
