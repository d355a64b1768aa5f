#include "operator/testing/crd_schema.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "kube/yaml.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;

bool TypeMatches(const Json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  return true;
}

}  // namespace

absl::Status ApplySchema(Json& value, const Json& schema, const std::string& path) {
  if (value.is_null()) return absl::OkStatus();
  const std::string type = schema.value("type", "");
  if (!type.empty() && !TypeMatches(value, type)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": Invalid value: must be ", type));
  }
  if (schema.contains("enum")) {
    bool listed = false;
    for (const Json& e : schema["enum"]) listed |= e == value;
    if (!listed) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": Unsupported value: ", value.dump(),
                       ": supported values: ", schema["enum"].dump()));
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (auto s = ApplySchema(value[i], schema["items"], absl::StrCat(path, "[", i, "]"));
          !s.ok()) {
        return s;
      }
    }
  }
  if (!value.is_object() || schema.value("x-kubernetes-preserve-unknown-fields", false)) {
    return absl::OkStatus();
  }
  const Json& properties = schema.contains("properties") ? schema["properties"] : Json::object();
  const bool additional = schema.contains("additionalProperties");
  for (auto it = value.begin(); it != value.end();) {
    const std::string key = it.key();
    const Json* sub = properties.contains(key) ? &properties[key]
                      : additional             ? &schema["additionalProperties"]
                                               : nullptr;
    if (!sub) {
      it = value.erase(it);  // pruned, as the API server does
      continue;
    }
    if (auto s = ApplySchema(it.value(), *sub, absl::StrCat(path, ".", key)); !s.ok()) return s;
    ++it;
  }
  return absl::OkStatus();
}

namespace {

Json StatusSchemaIn(const std::string& crd_file) {
  std::ifstream in(crd_file);
  std::stringstream text;
  text << in.rdbuf();
  auto docs = kube::ObjectsFromYaml(text.str());
  if (!docs.ok() || docs->empty()) return Json::object();
  const Json& crd = docs->front().json();
  return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
}

}  // namespace

const Json& ClusterStatusSchema() {
  static const Json schema = StatusSchemaIn(RK_CRD_FILE);
  return schema;
}

const Json& RepairStatusSchema() {
  static const Json schema = StatusSchemaIn(RK_REPAIR_CRD_FILE);
  return schema;
}

}  // namespace ringkeeper::testing
