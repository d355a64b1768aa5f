#include "kube/yaml.h"

#include <cstdlib>
#include <regex>

#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace kube {
namespace {

// YAML 1.2 core-schema resolution of plain scalars, which is what Kubernetes' YAML decoder
// does; yaml-cpp leaves every scalar a string.
Json PlainScalar(const std::string& s) {
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, kInt)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0) return static_cast<int64_t>(v);
    return s;  // out of range: keep the text
  }
  if (std::regex_match(s, kFloat)) return std::strtod(s.c_str(), nullptr);
  return s;
}

Json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // A quoted scalar's tag is "!"; a plain one's is "?".
      return node.Tag() == "!" ? Json(node.Scalar()) : PlainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(ToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = ToJson(kv.second);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::vector<Object>> ObjectsFromYaml(absl::string_view text) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed YAML: ", e.what()));
  }
  std::vector<Object> objects;
  for (const auto& doc : docs) {
    if (doc.IsNull()) continue;
    if (!doc.IsMap()) return absl::InvalidArgumentError("a YAML document is not a mapping");
    objects.emplace_back(ToJson(doc));
  }
  return objects;
}

absl::StatusOr<Object> ObjectFromYaml(absl::string_view text) {
  auto objects = ObjectsFromYaml(text);
  if (!objects.ok()) return objects.status();
  if (objects->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one YAML document, found ", objects->size()));
  }
  return std::move(objects->front());
}

}  // namespace kube
