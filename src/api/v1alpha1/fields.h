// Reads of a spec's or status's lists, booleans and optional numbers, beside kube::StringField and
// IntField (the same contract: never throws on what a server sent). Internal to api/v1alpha1's
// parsers.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "kube/object.h"

namespace ringkeeper::fields {

// obj[key]'s strings, in order; other values skipped; empty when absent or not an array.
inline std::vector<std::string> Strings(const kube::Json& obj, const char* key) {
  std::vector<std::string> out;
  const kube::Json& array = kube::FieldAt(obj, {key});
  if (!array.is_array()) return out;
  for (const kube::Json& s : array) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

// obj[key] when it is a boolean, else false.
inline bool Bool(const kube::Json& obj, const char* key) {
  const kube::Json& v = kube::FieldAt(obj, {key});
  return v.is_boolean() && v.get<bool>();
}

// obj[key] into *out when it is a number (an integer, for an integral T); else *out keeps its
// default.
template <typename T>
void Number(const kube::Json& obj, const char* key, T* out) {
  const kube::Json& v = kube::FieldAt(obj, {key});
  if (std::is_integral_v<T> ? v.is_number_integer() : v.is_number()) *out = v.get<T>();
}

// obj[key], an integer of seconds, into *out; else *out keeps its default.
inline void Seconds(const kube::Json& obj, const char* key, absl::Duration* out) {
  const kube::Json& v = kube::FieldAt(obj, {key});
  if (v.is_number_integer()) *out = absl::Seconds(v.get<int64_t>());
}

}  // namespace ringkeeper::fields
