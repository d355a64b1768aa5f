#include "operator/node_loss.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"

namespace ringkeeper {
namespace {

using kube::Json;

// obj[k1][k2]..., or null where a key is missing (the const operator[] must not see one).
const Json& At(const Json& obj, std::initializer_list<const char*> path) {
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

}  // namespace

std::string NodeLostBecause(const kube::Object* node, absl::Time now, absl::Duration timeout) {
  if (!node) return "deleted";
  const Json& conditions = At(node->json(), {"status", "conditions"});
  if (!conditions.is_array()) return "";
  for (const Json& c : conditions) {
    if (kube::StringField(c, "type") != "Ready") continue;
    if (kube::StringField(c, "status") == "True") return "";
    absl::Time since;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, kube::StringField(c, "lastTransitionTime"), &since,
                         &err)) {
      return "";  // no reliable age: not lost (yet)
    }
    if (now - since < timeout) return "";
    return absl::StrCat("NotReady for ",
                        absl::FormatDuration(absl::Floor(now - since, absl::Minutes(1))));
  }
  return "";
}

std::string VolumeNode(const kube::Object& volume) {
  const Json& terms = At(volume.json(), {"spec", "nodeAffinity", "required", "nodeSelectorTerms"});
  if (!terms.is_array()) return "";
  for (const Json& term : terms) {
    const Json& expressions = At(term, {"matchExpressions"});
    if (!expressions.is_array()) continue;
    for (const Json& e : expressions) {
      if (kube::StringField(e, "key") == "kubernetes.io/hostname" &&
          kube::StringField(e, "operator") == "In" && At(e, {"values"}).is_array() &&
          At(e, {"values"}).size() == 1 && At(e, {"values"})[0].is_string()) {
        return At(e, {"values"})[0].get<std::string>();
      }
    }
  }
  return "";
}

}  // namespace ringkeeper
