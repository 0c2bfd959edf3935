// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// sop::Codec<T> turns a T into bytes whose memcmp order is T's natural order,
// and back. Stores order keys by memcmp, so typed keys sort as their values:
// integers numerically (negatives first), floating point numerically,
// strings and byte vectors lexicographically, and std::tuple field by field
// (a composite key).
//
// Provided: bool, all signed and unsigned integer types, float, double,
// std::string, std::vector<uint8_t>, std::vector<char>, and std::tuple of
// any of these. For your own type, specialize:
//
//   template <> struct sop::Codec<Person> {
//     // Appends v. `last`: nothing follows (so no delimiter is needed).
//     static void Encode(const Person& v, std::string* out, bool last);
//     // Consumes v from the front of *in; false if the bytes are not a Person.
//     static bool Decode(absl::string_view* in, Person* v, bool last);
//   };
//
// and build it from the codecs of its fields. A type with no codec does not
// compile, with a message saying so.

#ifndef SOP_CODEC_H_
#define SOP_CODEC_H_

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace sop {

namespace codec_internal {
template <typename T>
struct AlwaysFalse : std::false_type {};

template <typename U>
void PutBigEndian(U v, std::string* out) {
  char buf[sizeof(U)];
  for (size_t i = 0; i < sizeof(U); ++i) {
    buf[i] = static_cast<char>(v >> (8 * (sizeof(U) - 1 - i)));
  }
  out->append(buf, sizeof(U));
}

template <typename U>
bool GetBigEndian(absl::string_view* in, U* v) {
  if (in->size() < sizeof(U)) return false;
  U r = 0;
  for (size_t i = 0; i < sizeof(U); ++i)
    r = static_cast<U>((r << 8) | static_cast<uint8_t>((*in)[i]));
  in->remove_prefix(sizeof(U));
  *v = r;
  return true;
}

// Bytes inside a composite key: 0x00 is escaped as 0x00 0xFF and the field
// ends with 0x00 0x01, so "a" < "a\0" < "ab" still holds field by field.
inline void PutEscaped(absl::string_view s, std::string* out, bool last) {
  if (last) {
    out->append(s.data(), s.size());
    return;
  }
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xFF');
  }
  out->push_back('\0');
  out->push_back('\x01');
}

template <typename Bytes>
bool GetEscaped(absl::string_view* in, Bytes* out, bool last) {
  out->clear();
  if (last) {
    out->assign(in->begin(), in->end());
    in->remove_prefix(in->size());
    return true;
  }
  for (size_t i = 0; i < in->size(); ++i) {
    char c = (*in)[i];
    if (c != '\0') {
      out->push_back(c);
      continue;
    }
    if (i + 1 >= in->size()) return false;
    char next = (*in)[i + 1];
    if (next == '\x01') {
      in->remove_prefix(i + 2);
      return true;
    }
    if (next != '\xFF') return false;
    out->push_back('\0');
    ++i;
  }
  return false;  // no terminator
}
}  // namespace codec_internal

template <typename T, typename Enable = void>
struct Codec {
  static_assert(codec_internal::AlwaysFalse<T>::value,
                "sop::Codec<T> is not defined for this type. Specialize sop::Codec<T> with "
                "static void Encode(const T&, std::string*, bool last) and "
                "static bool Decode(absl::string_view*, T*, bool last); see sop/codec.h.");
};

template <>
struct Codec<bool> {
  static void Encode(bool v, std::string* out, bool) { out->push_back(v ? 1 : 0); }
  static bool Decode(absl::string_view* in, bool* v, bool) {
    if (in->empty() || static_cast<uint8_t>((*in)[0]) > 1) return false;
    *v = (*in)[0] == 1;
    in->remove_prefix(1);
    return true;
  }
};

// Unsigned integers: big-endian, fixed width.
template <typename T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && std::is_unsigned_v<T> &&
                                 !std::is_same_v<T, bool>>> {
  static void Encode(T v, std::string* out, bool) { codec_internal::PutBigEndian(v, out); }
  static bool Decode(absl::string_view* in, T* v, bool) {
    return codec_internal::GetBigEndian(in, v);
  }
};

// Signed integers: the sign bit flipped, so negatives sort first.
template <typename T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && std::is_signed_v<T>>> {
  using U = std::make_unsigned_t<T>;
  static constexpr U kSign = U{1} << (8 * sizeof(T) - 1);
  static void Encode(T v, std::string* out, bool) {
    codec_internal::PutBigEndian(static_cast<U>(static_cast<U>(v) ^ kSign), out);
  }
  static bool Decode(absl::string_view* in, T* v, bool) {
    U u;
    if (!codec_internal::GetBigEndian(in, &u)) return false;
    *v = static_cast<T>(u ^ kSign);
    return true;
  }
};

// Floating point: positives get the sign bit set, negatives are inverted,
// so the bit patterns sort as the numbers do (-0.0 sorts just before +0.0).
template <typename T>
struct Codec<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  static_assert(sizeof(T) == sizeof(U), "float and double only");
  static constexpr U kSign = U{1} << (8 * sizeof(U) - 1);
  static void Encode(T v, std::string* out, bool) {
    U u;
    std::memcpy(&u, &v, sizeof(u));
    u = (u & kSign) ? ~u : (u | kSign);
    codec_internal::PutBigEndian(u, out);
  }
  static bool Decode(absl::string_view* in, T* v, bool) {
    U u;
    if (!codec_internal::GetBigEndian(in, &u)) return false;
    u = (u & kSign) ? (u & ~kSign) : ~u;
    std::memcpy(v, &u, sizeof(u));
    return true;
  }
};

template <>
struct Codec<std::string> {
  static void Encode(const std::string& v, std::string* out, bool last) {
    codec_internal::PutEscaped(v, out, last);
  }
  static bool Decode(absl::string_view* in, std::string* v, bool last) {
    return codec_internal::GetEscaped(in, v, last);
  }
};

template <typename Byte>
struct Codec<std::vector<Byte>,
             std::enable_if_t<std::is_same_v<Byte, uint8_t> || std::is_same_v<Byte, char>>> {
  static void Encode(const std::vector<Byte>& v, std::string* out, bool last) {
    codec_internal::PutEscaped(absl::string_view(reinterpret_cast<const char*>(v.data()), v.size()),
                               out, last);
  }
  static bool Decode(absl::string_view* in, std::vector<Byte>* v, bool last) {
    std::string s;
    if (!codec_internal::GetEscaped(in, &s, last)) return false;
    v->assign(s.begin(), s.end());
    return true;
  }
};

// A composite key: fields in order, each sortable on its own.
template <typename... Ts>
struct Codec<std::tuple<Ts...>> {
  static void Encode(const std::tuple<Ts...>& v, std::string* out, bool last) {
    EncodeFields(v, out, last, std::index_sequence_for<Ts...>());
  }
  static bool Decode(absl::string_view* in, std::tuple<Ts...>* v, bool last) {
    return DecodeFields(in, v, last, std::index_sequence_for<Ts...>());
  }

 private:
  template <size_t... I>
  static void EncodeFields(const std::tuple<Ts...>& v, std::string* out, bool last,
                           std::index_sequence<I...>) {
    (Codec<Ts>::Encode(std::get<I>(v), out, last && I + 1 == sizeof...(Ts)), ...);
  }
  template <size_t... I>
  static bool DecodeFields(absl::string_view* in, std::tuple<Ts...>* v, bool last,
                           std::index_sequence<I...>) {
    return (Codec<Ts>::Decode(in, &std::get<I>(*v), last && I + 1 == sizeof...(Ts)) && ...);
  }
};

// Encodes a whole value (nothing follows it).
template <typename T>
std::string EncodeKey(const T& v) {
  std::string out;
  Codec<T>::Encode(v, &out, /*last=*/true);
  return out;
}

// Decodes a whole value; false unless every byte is consumed.
template <typename T>
bool DecodeKey(absl::string_view in, T* v) {
  return Codec<T>::Decode(&in, v, /*last=*/true) && in.empty();
}

}  // namespace sop

#endif  // SOP_CODEC_H_
