// A Java class-file parser that reads what listing cassandra.yaml keys needs: the class's name,
// superclass and interfaces, and each field's access flags, name, descriptor and
// RuntimeVisibleAnnotations (the annotations reflection sees). Methods and other attributes are
// skipped. Pure; thread-safe.
//
// Bounded on hostile input: every read is checked against the buffer, constant-pool indices and
// tags are checked before use, annotation nesting is capped.
//
// Errors: InvalidArgument naming what is malformed (magic, truncation, bad constant-pool index).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agent::config {

// Field access flags (JVMS 4.5).
inline constexpr uint16_t kAccPublic = 0x0001;
inline constexpr uint16_t kAccStatic = 0x0008;
inline constexpr uint16_t kAccFinal = 0x0010;

struct JavaAnnotation {
  std::string type;  // a field descriptor: "Lorg/apache/cassandra/config/Replaces;"
  // The string-valued elements as (element name, value), flattened: elements of nested
  // annotations and the items of arrays are listed too, under their own element's name. So
  // @ReplacesList({@Replaces(oldName = "a"), @Replaces(oldName = "b")}) gives
  // {("oldName","a"), ("oldName","b")}.
  std::vector<std::pair<std::string, std::string>> strings;
};

struct JavaField {
  uint16_t access_flags = 0;
  std::string name;
  std::string descriptor;
  std::vector<JavaAnnotation> annotations;  // RuntimeVisibleAnnotations only
};

struct JavaClass {
  std::string name;         // internal form: "org/apache/cassandra/config/Config"
  std::string super_class;  // empty for java/lang/Object itself
  std::vector<std::string> interfaces;
  std::vector<JavaField> fields;
};

absl::StatusOr<JavaClass> ParseClassFile(absl::string_view bytes);

// "Lorg/apache/cassandra/config/Replaces;" -> "Replaces"; a nested "Lp/Outer$Inner;" -> "Inner"
// (as Class.getSimpleName would say).
std::string SimpleTypeName(absl::string_view descriptor);

}  // namespace agent::config
