// Reads of a spec's or status's lists and booleans, beside kube::StringField and IntField (the
// same contract: never throws on what a server sent). Internal to api/v1alpha1's parsers.
#pragma once

#include <string>
#include <vector>

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

}  // namespace ringkeeper::fields
