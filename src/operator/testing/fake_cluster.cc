// The fake cluster's API side: the object stores and the writes the reconciler makes through the
// seams (apply, create, delete with its variants, status), as the API server would answer them;
// what users do (delete, label, create); the Cluster. Controllers: fake_controllers.cc; the
// Cassandra nodes, agents and CQL: fake_cassandra.cc.
#include "operator/testing/fake_cluster.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/v1alpha1/repair.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "operator/cache_transforms.h"
#include "operator/desired.h"
#include "operator/testing/crd_schema.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;
namespace api = agent::api;

absl::Status ApiError(int code, const std::string& reason, const std::string& message) {
  return kube::StatusFromResponse(
      code, Json{{"kind", "Status"}, {"reason", reason}, {"message", message}}.dump());
}

std::string KeyOf(const std::string& ns, const std::string& name) {
  return kube::ObjectKey{ns, name}.ToString();  // "name" for cluster-scoped objects
}

}  // namespace

FakeCluster::FakeCluster() {
  for (kube::Store* store :
       {&statefulsets_, &services_, &pods_, &configmaps_, &pvcs_, &pdbs_, &networkpolicies_}) {
    AddClusterIndex(*store);  // as the operator's informers
  }
  SetStorageClass(kDefaultStorageClass, /*allow_expansion=*/true);
  for (const char* node : {"node-1", "node-2", "node-3"}) SetKubeNodeReady(node, true);
  // Cassandra 5.0's defaults.
  keyspaces["system_auth"] = {{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                              {"replication_factor", "1"}};
  keyspaces["system_distributed"] = {{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                                     {"replication_factor", "3"}};
  keyspaces["system_traces"] = {{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                                {"replication_factor", "2"}};
}

Caches FakeCluster::caches() const {
  // The fake keeps every ConfigMap in one store: the owned ones and the users'.
  return Caches{&clusters_,        &statefulsets_, &services_,       &pods_,
                &configmaps_,      &pvcs_,         &pdbs_,           &restores_,
                &serviceaccounts_, &configmaps_,   &networkpolicies_};
}

RepairCaches FakeCluster::repair_caches() const {
  return RepairCaches{&repairs_, &clusters_, &pods_, &services_};
}

RepairScheduleCaches FakeCluster::repair_schedule_caches() const {
  return RepairScheduleCaches{&clusters_, &repairs_, &services_};
}

Seams FakeCluster::seams() { return Seams{this, this, this, this, this, this, this}; }

kube::Store* FakeCluster::StoreFor(const kube::Resource& r) {
  return const_cast<kube::Store*>(static_cast<const FakeCluster*>(this)->StoreFor(r));
}

const kube::Store* FakeCluster::StoreFor(const kube::Resource& r) const {
  if (r.resource == "clusters") return &clusters_;
  if (r.resource == "statefulsets") return &statefulsets_;
  if (r.resource == "services") return &services_;
  if (r.resource == "pods") return &pods_;
  if (r.resource == "configmaps") return &configmaps_;
  if (r.resource == "persistentvolumeclaims") return &pvcs_;
  if (r.resource == "poddisruptionbudgets") return &pdbs_;
  if (r.resource == "networkpolicies") return &networkpolicies_;
  if (r.resource == "secrets") return &secrets_;
  if (r.resource == "serviceaccounts") return &serviceaccounts_;
  if (r.resource == "restores") return &restores_;
  if (r.resource == "repairs") return &repairs_;
  return &others_;  // StorageClasses
}

kube::Object FakeCluster::Stamp(Json object, const kube::ObjectPtr& old, const kube::Resource& r) {
  Json& meta = object["metadata"];
  if (!meta.contains("namespace")) meta["namespace"] = cluster_key_.ns;
  object["apiVersion"] = r.api_version();
  object["kind"] = r.kind;
  if (old) {
    const Json& o = old->json();
    meta["uid"] = o["metadata"]["uid"];
    meta["creationTimestamp"] = o["metadata"]["creationTimestamp"];
    int64_t generation = old->generation();
    if (object.contains("spec") && object["spec"] != o["spec"]) ++generation;
    meta["generation"] = generation;
    if (o.contains("status") && !object.contains("status")) object["status"] = o["status"];
    if (o["metadata"].contains("deletionTimestamp")) {
      meta["deletionTimestamp"] = o["metadata"]["deletionTimestamp"];
    }
  } else {
    meta["uid"] = absl::StrCat("uid-", ++uid_counter_);
    meta["creationTimestamp"] = kube::FormatRfc3339(now_);
    meta["generation"] = 1;
  }
  meta["resourceVersion"] = std::to_string(++resource_version_);
  // A Service without a clusterIP gets one (headless ones say "None").
  if (r.resource == "services" && kube::StringField(object["spec"], "clusterIP").empty()) {
    std::string ip = old ? kube::StringField(old->json()["spec"], "clusterIP") : "";
    if (ip.empty()) ip = absl::StrCat("10.96.0.", ++service_ip_counter_);
    object["spec"]["clusterIP"] = ip;
  }
  if (r.resource == "secrets" && object.contains("stringData")) {
    for (const auto& [k, v] : object["stringData"].items()) {
      object["data"][k] = absl::Base64Escape(v.get<std::string>());
    }
    object.erase("stringData");
  }
  return kube::Object(std::move(object));
}

void FakeCluster::Put(const kube::Resource& r, kube::Object object) {
  StoreFor(r)->Upsert(std::make_shared<const kube::Object>(std::move(object)));
}

kube::ObjectPtr FakeCluster::Find(const kube::Resource& r, const std::string& name) const {
  return StoreFor(r)->Get(KeyOf(cluster_key_.ns, name));
}

std::vector<kube::ObjectPtr> FakeCluster::List(const kube::Resource& r) const {
  return StoreFor(r)->List();
}

absl::StatusOr<kube::Object> FakeCluster::Get(const kube::Resource& r, const std::string& ns,
                                              const std::string& name) {
  read_log.push_back(absl::StrCat("GET ", r.kind, "/", name));
  kube::ObjectPtr o = StoreFor(r)->Get(KeyOf(ns, name));
  if (!o) return ApiError(404, "NotFound", absl::StrCat(r.resource, " \"", name, "\" not found"));
  return *o;
}

absl::StatusOr<kube::Object> FakeCluster::Apply(const kube::Resource& r, const Json& object) {
  ++writes_;
  const std::string name = kube::StringField(object["metadata"], "name");
  write_log.push_back(absl::StrCat("APPLY ", r.kind, "/", name));
  if (fail_apply_once.erase(absl::StrCat(r.kind, "/", name))) {
    return absl::UnavailableError("injected: apply " + name + " failed");
  }
  kube::ObjectPtr old = Find(r, name);
  if (old && r.resource == "statefulsets") {
    // volumeClaimTemplates are immutable (the real API server answers 422).
    if (old->json()["spec"]["volumeClaimTemplates"] != object["spec"]["volumeClaimTemplates"]) {
      return ApiError(422, "Invalid",
                      "StatefulSet.apps \"" + name +
                          "\" is invalid: spec: Forbidden: updates to statefulset spec for fields "
                          "other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                          "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                          "forbidden");
    }
  }
  if (old && r.resource == "persistentvolumeclaims") return ApplyPart(old, r, object);
  kube::Object stamped = Stamp(object, old, r);
  Put(r, stamped);
  return stamped;
}

absl::StatusOr<kube::Object> FakeCluster::ApplyPart(const kube::ObjectPtr& old,
                                                    const kube::Resource& r, const Json& object) {
  // Server-side apply of some fields of an object someone else created (a claim's request):
  // the applied fields change, the rest stays.
  Json merged = old->json();
  merged.merge_patch(object);
  if (r.resource == "persistentvolumeclaims" &&
      merged["spec"]["resources"] != old->json()["spec"]["resources"]) {
    kube::ObjectPtr sc = others_.Get(kube::StringField(merged["spec"], "storageClassName"));
    if (!sc || !sc->json().value("allowVolumeExpansion", false)) {
      return ApiError(403, "Forbidden",
                      "persistentvolumeclaims \"" + old->name() +
                          "\" is forbidden: only dynamically provisioned pvc can be resized and "
                          "the storageclass that provisions the pvc must support resize");
    }
  }
  kube::Object stamped = Stamp(merged, old, r);
  Put(r, stamped);
  return stamped;
}

absl::StatusOr<kube::Object> FakeCluster::Create(const kube::Resource& r, const Json& object) {
  const std::string name = kube::StringField(object["metadata"], "name");
  if (Find(r, name)) return ApiError(409, "AlreadyExists", name + " already exists");
  ++writes_;
  write_log.push_back(absl::StrCat("CREATE ", r.kind, "/", name));
  kube::Object stamped = Stamp(object, nullptr, r);
  Put(r, stamped);
  return stamped;
}

absl::Status FakeCluster::Delete(const kube::Resource& r, const std::string& ns,
                                 const std::string& name, const std::string& uid, Deletion how) {
  ++writes_;
  static constexpr const char* kVerb[] = {"DELETE", "DELETE-NOW", "ORPHAN"};
  write_log.push_back(absl::StrCat(kVerb[static_cast<int>(how)], " ", r.kind, "/", name));
  if (fail_delete_once.erase(absl::StrCat(r.kind, "/", name))) {
    return ApiError(500, "InternalError", "injected: the API server failed this delete");
  }
  kube::ObjectPtr o = StoreFor(r)->Get(KeyOf(ns, name));
  if (!o) return ApiError(404, "NotFound", name + " not found");
  if (!uid.empty() && o->uid() != uid) {
    return ApiError(409, "Conflict", "Precondition failed: UID in precondition: " + uid);
  }
  if (how == Deletion::kOrphanDependents) {
    // The orphan finalizer holds it until the garbage collector has released its dependents
    // (the next Tick); its pods and claims stay.
    Json j = o->json();
    j["metadata"]["deletionTimestamp"] = kube::FormatRfc3339(now_);
    j["metadata"]["finalizers"] = {"orphan"};
    j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    StoreFor(r)->Upsert(std::make_shared<const kube::Object>(std::move(j)));
    return absl::OkStatus();
  }
  UserDelete(r, name, how == Deletion::kWithoutGrace);
  if (r.resource == "statefulsets") {
    // Background propagation: the garbage collector deletes its pods.
    for (const auto& pod : pods_.List()) {
      if (absl::StartsWith(pod->name(), name + "-")) UserDelete(res::kPods, pod->name());
    }
  }
  return absl::OkStatus();
}

void FakeCluster::SetStorageClass(const std::string& name, bool allow_expansion) {
  Json sc = {{"metadata", {{"name", name}, {"namespace", ""}}},
             {"provisioner", "fake.local/volumes"},
             {"allowVolumeExpansion", allow_expansion}};
  Put(res::kStorageClasses, Stamp(sc, others_.Get(name), res::kStorageClasses));
}

void FakeCluster::UserDelete(const kube::Resource& r, const std::string& name, bool without_grace) {
  kube::ObjectPtr o = Find(r, name);
  if (!o) return;
  if (r.resource == "pods" && !without_grace) {
    // A graceful deletion completes when the pod's kubelet confirms it: never on a lost node.
    const std::string node = kube::StringField(o->json()["spec"], "nodeName");
    if (!node.empty() && !KubeNodeReady(node)) {
      Json j = o->json();
      j["metadata"]["deletionTimestamp"] = kube::FormatRfc3339(now_);
      j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
      pods_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
      return;
    }
  }
  if (r.resource == "persistentvolumeclaims") {
    // kubernetes.io/pvc-protection: a claim in use by a pod stays until the pod is gone.
    for (const auto& pod : pods_.List()) {
      for (const auto& v : pod->json()["spec"]["volumes"]) {
        if (kube::StringField(v["persistentVolumeClaim"], "claimName") == name) {
          Json j = o->json();
          j["metadata"]["deletionTimestamp"] = kube::FormatRfc3339(now_);
          j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
          pvcs_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
          return;
        }
      }
    }
  }
  StoreFor(r)->Remove(KeyOf(cluster_key_.ns, name));
  if (r.resource == "pods") {
    // The pod's claims that waited for it go now.
    for (const auto& pvc : pvcs_.List()) {
      if (pvc->being_deleted() && pvc->name() == PvcOf(name)) pvcs_.Remove(pvc->key().ToString());
    }
    if (auto it = nodes_.find(name); it != nodes_.end()) it->second.up = false;
  }
}

void FakeCluster::UserLabelPod(const std::string& pod, const std::string& key,
                               const std::string& value) {
  kube::ObjectPtr o = Find(res::kPods, pod);
  if (!o) return;
  Json j = o->json();
  j["metadata"]["labels"][key] = value;
  j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  pods_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
}

void FakeCluster::UserCreate(const kube::Resource& r, Json object) {
  Put(r, Stamp(std::move(object), nullptr, r));
}

absl::StatusOr<kube::Object> FakeCluster::Update(const kube::Resource& r, const Json& object) {
  if (r.kind != kClusters.kind) {
    return ApiError(404, "NotFound", "this fake updates the spec of Clusters only");
  }
  ++writes_;
  write_log.push_back(
      absl::StrCat("UPDATE ", r.kind, "/", kube::StringField(object["metadata"], "name")));
  kube::ObjectPtr current = Cluster();
  if (kube::StringField(object["metadata"], "name") != current->name()) {
    return ApiError(404, "NotFound", "object not found");
  }
  if (current->resource_version() != kube::StringField(object["metadata"], "resourceVersion")) {
    return ApiError(409, "Conflict", "the object has been modified");
  }
  // The main resource's PUT changes the spec (the status subresource keeps the status).
  Json j = current->json();
  j["spec"] = object["spec"];
  if (j["spec"] != current->json()["spec"]) j["metadata"]["generation"] = current->generation() + 1;
  j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  auto written = std::make_shared<const kube::Object>(std::move(j));
  clusters_.Upsert(written);
  return *written;
}

absl::StatusOr<kube::Object> FakeCluster::UpdateStatus(const kube::Resource& r,
                                                       const kube::Object& cluster) {
  if (r.kind != kClusters.kind && r.kind != kRepairs.kind) {
    return ApiError(404, "NotFound", "this fake holds the status of Clusters and Repairs only");
  }
  const bool is_repair = r.kind == kRepairs.kind;
  if (fail_status_write && fail_status_write(cluster.json()["status"])) {
    fail_status_write = nullptr;
    return ApiError(503, "ServiceUnavailable", "injected: the operator stopped here");
  }
  ++writes_;
  write_log.push_back(absl::StrCat("STATUS ", r.kind, "/", cluster.name()));
  kube::Store& store = is_repair ? repairs_ : clusters_;
  kube::ObjectPtr current = store.Get(cluster.key().ToString());
  if (!current) return ApiError(404, "NotFound", "object not found");
  if (current->resource_version() != cluster.resource_version()) {
    return ApiError(409, "Conflict", "the object has been modified");
  }
  Json j = current->json();
  j["status"] = cluster.json()["status"];
  // The CRD's status schema, as the API server applies it: unknown fields pruned, a value
  // outside an enum refused.
  if (absl::Status valid = ApplySchema(
          j["status"], is_repair ? RepairStatusSchema() : ClusterStatusSchema(), "status");
      !valid.ok()) {
    return ApiError(422, "Invalid",
                    absl::StrCat(r.kind, ".cassandra.rook.io \"", cluster.name(),
                                 "\" is invalid: ", valid.message()));
  }
  j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  auto written = std::make_shared<const kube::Object>(j);
  store.Upsert(written);
  return *written;
}

void FakeCluster::Event(const kube::Object&, bool warning, const std::string& reason,
                        const std::string& message) {
  events.push_back({warning, reason, message});
}

bool FakeCluster::HasEvent(const std::string& reason) const {
  return std::any_of(events.begin(), events.end(),
                     [&](const RecordedEvent& e) { return e.reason == reason; });
}

// ---- the Cluster ------------------------------------------------------------------------

kube::ObjectKey FakeCluster::CreateCluster(Json cluster) {
  cluster_key_ = {kube::StringField(cluster["metadata"], "namespace"),
                  kube::StringField(cluster["metadata"], "name")};
  Put(kClusters, Stamp(std::move(cluster), nullptr, kClusters));
  return cluster_key_;
}

void FakeCluster::PatchCluster(const Json& patch) {
  kube::ObjectPtr old = Cluster();
  Json j = old->json();
  j.merge_patch(patch);
  if (j["spec"] != old->json()["spec"]) j["metadata"]["generation"] = old->generation() + 1;
  j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  clusters_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
}

kube::ObjectPtr FakeCluster::Cluster() const { return clusters_.Get(cluster_key_.ToString()); }

Json FakeCluster::Status() const { return Cluster()->json().value("status", Json()); }

Json FakeCluster::StatusField(const std::string& field) const {
  const Json& status = Status();
  return status.is_object() && status.contains(field) ? status[field] : Json(nullptr);
}

Json FakeCluster::Condition(const std::string& type) const {
  const Json status = Status();  // a range-for over a temporary's member would dangle
  for (const auto& c : kube::FieldAt(status, {"conditions"})) {
    if (c.value("type", "") == type) return c;
  }
  return nullptr;
}

bool FakeCluster::ConditionTrue(const std::string& type) const {
  Json c = Condition(type);
  return c.is_object() && c.value("status", "") == "True";
}

int FakeCluster::StatefulSetReplicas(const std::string& name) const {
  kube::ObjectPtr sts = Find(res::kStatefulSets, name);
  return sts ? static_cast<int>(kube::IntField(sts->json()["spec"], "replicas")) : -1;
}

}  // namespace ringkeeper::testing
