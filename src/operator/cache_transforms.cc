#include "operator/cache_transforms.h"

#include <initializer_list>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/naming.h"
#include "kube/informer.h"

namespace ringkeeper {

kube::Store::IndexFunc IndexByCluster() {
  return [](const kube::Object& o) {
    std::vector<std::string> values;
    if (auto cluster = o.label(kLabelCluster))
      values.push_back(absl::StrCat(o.ns(), "/", *cluster));
    return values;
  };
}

void AddClusterIndex(kube::Store& store) {
  store.AddIndex(std::string(kIndexCluster), IndexByCluster());
}

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
  if (!members) {
    KeepTop(object, {});
    return;
  }
  KeepTop(object, {"data"});
  auto data = object.find("data");
  if (data == object.end() || !data->is_object()) return;
  for (auto& [key, value] : data->items()) {
    if (!value.is_string()) continue;
    Json settings = Json::parse(value.get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (!settings.is_object()) continue;  // kept as written: its reader skips what it cannot read
    KeepOnly(settings, {"seeds", "initial_tokens", "auto_bootstrap"});
    value = settings.dump();
  }
}

}  // namespace ringkeeper
