// kube::Object: a Kubernetes object as a JSON document with typed accessors for the metadata
// Ringkeeper reads. The document is kept whole, so fields this code does not know pass
// through reads and writes untouched.
//
// Value type; not synchronized (copy it to share between threads).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace kube {

using Json = nlohmann::json;

// Reads obj[key] as a string / integer; "" / 0 when obj is not an object, the key is absent or
// the value has another type. Use these (never Json::value) on anything a server sent:
// Json::value throws on a type mismatch.
std::string StringField(const Json& obj, const char* key);
int64_t IntField(const Json& obj, const char* key);
// A Secret's data[key], base64-decoded; "" when absent or not base64.
std::string SecretData(const Json& secret, const char* key);
// obj[k1][k2]...; a null Json where a key is missing or a step is not an object (the const
// operator[] must never see a missing key).
const Json& FieldAt(const Json& obj, std::initializer_list<const char*> path);

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

// Namespace and name: the key a reconciler works on. Cluster-scoped objects have an empty
// namespace. ToString() is "ns/name" or "name".
struct ObjectKey {
  std::string ns;
  std::string name;

  std::string ToString() const { return ns.empty() ? name : ns + "/" + name; }
  static ObjectKey FromString(absl::string_view key);
  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const ObjectKey& k) {
    return H::combine(std::move(h), k.ns, k.name);
  }
};

class Object {
 public:
  Object() : json_(Json::object()) {}
  explicit Object(Json json) : json_(std::move(json)) {}

  // Parses a JSON document; the result must be a JSON object. Errors are InvalidArgument with
  // the parser's position, never an exception.
  static absl::StatusOr<Object> Parse(absl::string_view text);

  const Json& json() const { return json_; }
  Json& json() { return json_; }
  std::string Dump() const { return json_.dump(); }

  std::string api_version() const { return String("/apiVersion"); }
  std::string kind() const { return String("/kind"); }
  std::string name() const { return String("/metadata/name"); }
  std::string ns() const { return String("/metadata/namespace"); }
  std::string uid() const { return String("/metadata/uid"); }
  std::string resource_version() const { return String("/metadata/resourceVersion"); }
  int64_t generation() const;
  bool being_deleted() const { return !String("/metadata/deletionTimestamp").empty(); }
  ObjectKey key() const { return {ns(), name()}; }

  std::map<std::string, std::string> labels() const { return StringMap("labels"); }
  std::map<std::string, std::string> annotations() const { return StringMap("annotations"); }
  std::optional<std::string> label(absl::string_view key) const;
  std::optional<std::string> annotation(absl::string_view key) const;
  std::vector<OwnerReference> owner_references() const;
  // The owner reference with controller=true, if any.
  std::optional<OwnerReference> controller_owner() const;

  Object& set_api_version(absl::string_view v);
  Object& set_kind(absl::string_view v);
  Object& set_name(absl::string_view v);
  Object& set_namespace(absl::string_view v);
  Object& set_resource_version(absl::string_view v);
  Object& set_label(absl::string_view key, absl::string_view value);
  Object& set_annotation(absl::string_view key, absl::string_view value);
  Object& add_owner_reference(const OwnerReference& ref);

  // Reads a string at a JSON pointer ("/spec/replicas"); "" when absent or not a string.
  std::string String(const char* pointer) const;

 private:
  std::map<std::string, std::string> StringMap(const char* field) const;
  Json& metadata();

  Json json_;
};

// A copy of `json` safe to log: a Secret's data/stringData values are replaced by
// "<redacted>", as are last-applied annotations (which can embed them).
Json RedactedForLog(const Json& json);

// metav1.Time text: RFC 3339 in whole seconds, UTC ("2006-01-02T15:04:05Z"), as in conditions'
// lastTransitionTime and Events' timestamps.
std::string FormatRfc3339(absl::Time t);
// Any RFC 3339 time (fractions of a second and offsets too); nullopt for text that is not one
// (an empty field among them).
std::optional<absl::Time> ParseRfc3339(absl::string_view text);

}  // namespace kube
