#include "operator/cache_transforms.h"

#include <initializer_list>

#include "absl/strings/match.h"
#include "kube/informer.h"

namespace ringkeeper {
namespace {

using kube::Json;

// object[key] as a map: made one when absent or of another type, so readers can index it.
Json& MapAt(Json& object, const char* key) {
  Json& child = object[key];
  if (!child.is_object()) child = Json::object();
  return child;
}

// Drops every key of `map` but those of `keep` and of `also`.
void KeepOnly(Json& map, std::initializer_list<const char*> keep,
              std::initializer_list<const char*> also = {}) {
  auto kept = [&](const std::string& key) {
    for (const char* k : keep) {
      if (key == k) return true;
    }
    for (const char* k : also) {
      if (key == k) return true;
    }
    return false;
  };
  for (auto it = map.begin(); it != map.end();) it = kept(it.key()) ? std::next(it) : map.erase(it);
}

// The top level every kind keeps: apiVersion, kind, metadata without managedFields, and the
// given maps (made maps when absent).
void KeepTop(Json& object, std::initializer_list<const char*> maps) {
  if (!object.is_object()) return;
  kube::StripManagedFields(object);
  KeepOnly(object, {"apiVersion", "kind", "metadata"}, maps);
  for (const char* m : maps) MapAt(object, m);
}

}  // namespace

void KeepOfStatefulSet(Json& object) {
  KeepTop(object, {"spec", "status"});
  if (!object.is_object()) return;
  Json& spec = object["spec"];
  KeepOnly(spec, {"replicas", "volumeClaimTemplates", "template"});
  if (spec.contains("template")) KeepOnly(MapAt(spec, "template"), {"metadata"});
}

void KeepOfPod(Json& object) {
  KeepTop(object, {"spec", "status"});
  if (object.is_object()) KeepOnly(object["spec"], {"nodeName"});
}

void KeepOfService(Json& object) {
  KeepTop(object, {"spec"});
  if (object.is_object()) KeepOnly(object["spec"], {"clusterIP"});
}

void KeepOfPersistentVolumeClaim(Json& object) {
  KeepTop(object, {"spec", "status"});
  if (object.is_object()) {
    KeepOnly(object["spec"], {"volumeName", "storageClassName", "resources"});
  }
}

void KeepOfConfigMap(Json& object) {
  const bool members =
      object.is_object() &&
      absl::EndsWith(kube::StringField(kube::FieldAt(object, {"metadata"}), "name"), "-members");
  if (members) {
    KeepTop(object, {"data"});
  } else {
    KeepTop(object, {});
  }
}

}  // namespace ringkeeper
