#include "kube/object.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kube {

std::string StringField(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string SecretData(const Json& secret, const char* key) {
  std::string out;
  if (!absl::Base64Unescape(StringField(FieldAt(secret, {"data"}), key), &out)) return "";
  return out;
}

int64_t IntField(const Json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

const Json& FieldAt(const Json& obj, std::initializer_list<const char*> path) {
  static const Json kNull;
  const Json* j = &obj;
  for (const char* key : path) {
    if (!j->is_object()) return kNull;
    auto it = j->find(key);
    if (it == j->end()) return kNull;
    j = &*it;
  }
  return *j;
}

ObjectKey ObjectKey::FromString(absl::string_view key) {
  auto slash = key.find('/');
  if (slash == absl::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

absl::StatusOr<Object> Object::Parse(absl::string_view text) {
  // The non-throwing parse: hostile input must give an error, never an exception.
  Json json = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON (", text.size(), " bytes)"));
  }
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a JSON object, got ", json.type_name()));
  }
  return Object(std::move(json));
}

std::string Object::String(const char* pointer) const {
  const Json::json_pointer ptr(pointer);
  if (!json_.contains(ptr)) return "";
  const Json& v = json_.at(ptr);
  return v.is_string() ? v.get<std::string>() : "";
}

int64_t Object::generation() const {
  const Json::json_pointer ptr("/metadata/generation");
  if (!json_.contains(ptr)) return 0;
  const Json& v = json_.at(ptr);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::map<std::string, std::string> Object::StringMap(const char* field) const {
  std::map<std::string, std::string> out;
  auto meta = json_.find("metadata");
  if (meta == json_.end() || !meta->is_object()) return out;
  auto map = meta->find(field);
  if (map == meta->end() || !map->is_object()) return out;
  for (const auto& [k, v] : map->items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}

std::optional<std::string> Object::label(absl::string_view key) const {
  auto m = labels();
  auto it = m.find(std::string(key));
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Object::annotation(absl::string_view key) const {
  auto m = annotations();
  auto it = m.find(std::string(key));
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::vector<OwnerReference> Object::owner_references() const {
  std::vector<OwnerReference> out;
  const Json::json_pointer ptr("/metadata/ownerReferences");
  if (!json_.contains(ptr) || !json_.at(ptr).is_array()) return out;
  for (const Json& ref : json_.at(ptr)) {
    if (!ref.is_object()) continue;
    OwnerReference r;
    r.api_version = StringField(ref, "apiVersion");
    r.kind = StringField(ref, "kind");
    r.name = StringField(ref, "name");
    r.uid = StringField(ref, "uid");
    auto c = ref.find("controller");
    r.controller = c != ref.end() && c->is_boolean() && c->get<bool>();
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<OwnerReference> Object::controller_owner() const {
  for (auto& ref : owner_references()) {
    if (ref.controller) return ref;
  }
  return std::nullopt;
}

Json& Object::metadata() {
  if (!json_.is_object()) json_ = Json::object();
  Json& meta = json_["metadata"];
  if (!meta.is_object()) meta = Json::object();
  return meta;
}

Object& Object::set_api_version(absl::string_view v) {
  json_["apiVersion"] = v;
  return *this;
}
Object& Object::set_kind(absl::string_view v) {
  json_["kind"] = v;
  return *this;
}
Object& Object::set_name(absl::string_view v) {
  metadata()["name"] = v;
  return *this;
}
Object& Object::set_namespace(absl::string_view v) {
  metadata()["namespace"] = v;
  return *this;
}
Object& Object::set_resource_version(absl::string_view v) {
  metadata()["resourceVersion"] = v;
  return *this;
}
Object& Object::set_label(absl::string_view key, absl::string_view value) {
  metadata()["labels"][std::string(key)] = value;
  return *this;
}
Object& Object::set_annotation(absl::string_view key, absl::string_view value) {
  metadata()["annotations"][std::string(key)] = value;
  return *this;
}
Object& Object::add_owner_reference(const OwnerReference& ref) {
  Json& refs = metadata()["ownerReferences"];
  if (!refs.is_array()) refs = Json::array();
  refs.push_back({{"apiVersion", ref.api_version},
                  {"kind", ref.kind},
                  {"name", ref.name},
                  {"uid", ref.uid},
                  {"controller", ref.controller},
                  {"blockOwnerDeletion", ref.controller}});
  return *this;
}

namespace {
void RedactValues(Json& map) {
  if (!map.is_object()) return;
  for (auto& [k, v] : map.items()) v = "<redacted>";
}
}  // namespace

Json RedactedForLog(const Json& json) {
  Json copy = json;
  if (!copy.is_object()) return copy;
  if (StringField(copy, "kind") == "Secret") {
    if (copy.contains("data")) RedactValues(copy["data"]);
    if (copy.contains("stringData")) RedactValues(copy["stringData"]);
  }
  if (copy.contains("items") && copy["items"].is_array()) {
    for (Json& item : copy["items"]) item = RedactedForLog(item);
  }
  if (copy.contains("object") && copy["object"].is_object()) {
    copy["object"] = RedactedForLog(copy["object"]);
  }
  const Json::json_pointer annotations("/metadata/annotations");
  if (copy.contains(annotations) && copy.at(annotations).is_object()) {
    Json& a = copy.at(annotations);
    if (a.contains("kubectl.kubernetes.io/last-applied-configuration")) {
      a["kubectl.kubernetes.io/last-applied-configuration"] = "<redacted>";
    }
  }
  const Json::json_pointer managed("/metadata/managedFields");
  if (copy.contains(managed)) copy.at(managed) = "<omitted>";
  return copy;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::optional<absl::Time> ParseRfc3339(absl::string_view text) {
  absl::Time t;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, nullptr)) return std::nullopt;
  return t;
}

}  // namespace kube
