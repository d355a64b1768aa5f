#include "operator/node_loss.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"

namespace ringkeeper {
namespace {

using kube::Json;

}  // namespace

std::string NodeLostBecause(const kube::Object* node, absl::Time now, absl::Duration timeout) {
  if (!node) return "deleted";
  const Json& conditions = kube::FieldAt(node->json(), {"status", "conditions"});
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
  const Json& terms =
      kube::FieldAt(volume.json(), {"spec", "nodeAffinity", "required", "nodeSelectorTerms"});
  if (!terms.is_array()) return "";
  for (const Json& term : terms) {
    const Json& expressions = kube::FieldAt(term, {"matchExpressions"});
    if (!expressions.is_array()) continue;
    for (const Json& e : expressions) {
      if (kube::StringField(e, "key") == "kubernetes.io/hostname" &&
          kube::StringField(e, "operator") == "In" && kube::FieldAt(e, {"values"}).is_array() &&
          kube::FieldAt(e, {"values"}).size() == 1 && kube::FieldAt(e, {"values"})[0].is_string()) {
        return kube::FieldAt(e, {"values"})[0].get<std::string>();
      }
    }
  }
  return "";
}

}  // namespace ringkeeper
