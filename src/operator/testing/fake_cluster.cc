#include "operator/testing/fake_cluster.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "operator/desired.h"

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

bool PodReadyIn(const Json& pod) {
  for (const auto& c : pod["status"]["conditions"]) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

class FakeAgent : public NodeAgent {
 public:
  FakeAgent(FakeCluster& world, std::string pod_ip, bool token_ok)
      : world_(world), pod_ip_(std::move(pod_ip)), token_ok_(token_ok) {}

  absl::StatusOr<api::NodeInfo> NodeInfo() override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(true));
    return world_.InfoOf(*n);
  }
  absl::StatusOr<api::Ring> Ring() override {
    RETURN_IF_ERROR(Reach(true).status());
    return world_.RingView();
  }
  absl::StatusOr<api::Operation> Start(const api::OperationRequest& request) override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(false));
    return world_.StartOperation(n->pod, request);
  }
  absl::StatusOr<api::Operation> Operation(const std::string& id) override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(false));
    return world_.GetOperation(n->pod, id);
  }
  absl::StatusOr<api::ConfigKeys> ConfigKeys() override {
    RETURN_IF_ERROR(Reach(false).status());
    ++world_.config_key_reads;
    return api::ConfigKeys{{world_.config_keys.begin(), world_.config_keys.end()}};
  }

 private:
  // The agent answers when its pod runs; node figures need Cassandra up behind it.
  absl::StatusOr<FakeNode*> Reach(bool need_cassandra) {
    if (!token_ok_) return absl::UnauthenticatedError("agent: bad token");
    FakeNode* n = world_.NodeAt(pod_ip_);
    if (!n || world_.agent_down.count(n->pod) || !world_.KubeNodeReady(world_.KubeNodeOf(n->pod))) {
      return absl::UnavailableError(absl::StrCat("agent at ", pod_ip_, " unreachable"));
    }
    if (need_cassandra && !n->up) return absl::UnavailableError("Cassandra is not up");
    return n;
  }

  FakeCluster& world_;
  const std::string pod_ip_;
  const bool token_ok_;
};

class FakeSession : public CqlSession {
 public:
  explicit FakeSession(FakeCluster& world) : world_(world) {}
  absl::StatusOr<cql::ResultSet> Query(const std::string& statement, cql::Consistency) override {
    cql::ResultSet out;
    if (absl::StartsWith(statement, "SELECT keyspace_name, replication FROM")) {
      for (const auto& [ks, replication] : world_.keyspaces) {
        out.rows.push_back({{{"keyspace_name", ks}, {"replication", replication.dump()}}});
      }
      return out;
    }
    if (absl::StartsWith(statement, "ALTER KEYSPACE ")) {
      const std::string rest = statement.substr(15);
      const std::string ks = rest.substr(0, rest.find(' '));
      const size_t open = rest.find('{');
      Json replication =
          Json::parse(absl::StrReplaceAll(rest.substr(open), {{"'", "\""}}), nullptr, false);
      if (!world_.keyspaces.count(ks) || !replication.is_object()) {
        return absl::FailedPreconditionError("fake CQL: bad ALTER " + statement);
      }
      for (auto& [k, v] : replication.items()) {
        if (v.is_number()) v = std::to_string(v.get<int>());
      }
      world_.keyspaces[ks] = replication;
      return out;
    }
    return absl::UnimplementedError("fake CQL does not know: " + statement);
  }
  absl::Status WaitForSchemaAgreement(absl::Duration) override { return absl::OkStatus(); }

 private:
  FakeCluster& world_;
};

}  // namespace

FakeCluster::FakeCluster() {
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
  return Caches{&clusters_, &statefulsets_, &services_, &pods_, &configmaps_, &pvcs_, &pdbs_};
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
  if (r.resource == "secrets") return &secrets_;
  return &others_;  // ServiceAccounts, StorageClasses
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
                                 const std::string& name, const std::string& uid) {
  ++writes_;
  write_log.push_back(absl::StrCat("DELETE ", r.kind, "/", name));
  kube::ObjectPtr o = StoreFor(r)->Get(KeyOf(ns, name));
  if (!o) return ApiError(404, "NotFound", name + " not found");
  if (!uid.empty() && o->uid() != uid) {
    return ApiError(409, "Conflict", "Precondition failed: UID in precondition: " + uid);
  }
  UserDelete(r, name);
  if (r.resource == "statefulsets") {
    // Background propagation: the garbage collector deletes its pods.
    for (const auto& pod : pods_.List()) {
      if (absl::StartsWith(pod->name(), name + "-")) UserDelete(res::kPods, pod->name());
    }
  }
  return absl::OkStatus();
}

absl::Status FakeCluster::DeleteWithoutGrace(const kube::Resource& r, const std::string& ns,
                                             const std::string& name, const std::string& uid) {
  ++writes_;
  write_log.push_back(absl::StrCat("DELETE-NOW ", r.kind, "/", name));
  kube::ObjectPtr o = StoreFor(r)->Get(KeyOf(ns, name));
  if (!o) return ApiError(404, "NotFound", name + " not found");
  if (!uid.empty() && o->uid() != uid) {
    return ApiError(409, "Conflict", "Precondition failed: UID in precondition: " + uid);
  }
  UserDelete(r, name, /*without_grace=*/true);
  return absl::OkStatus();
}

absl::Status FakeCluster::DeleteOrphaningDependents(const kube::Resource& r, const std::string& ns,
                                                    const std::string& name,
                                                    const std::string& uid) {
  ++writes_;
  write_log.push_back(absl::StrCat("ORPHAN ", r.kind, "/", name));
  kube::ObjectPtr o = StoreFor(r)->Get(KeyOf(ns, name));
  if (!o) return ApiError(404, "NotFound", name + " not found");
  if (!uid.empty() && o->uid() != uid) {
    return ApiError(409, "Conflict", "Precondition failed: UID in precondition: " + uid);
  }
  // The orphan finalizer holds it until the garbage collector has released its dependents (the
  // next Tick); its pods and claims stay.
  Json j = o->json();
  j["metadata"]["deletionTimestamp"] = kube::FormatRfc3339(now_);
  j["metadata"]["finalizers"] = {"orphan"};
  j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  StoreFor(r)->Upsert(std::make_shared<const kube::Object>(std::move(j)));
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

absl::StatusOr<kube::Object> FakeCluster::UpdateStatus(const kube::Object& cluster) {
  ++writes_;
  write_log.push_back("STATUS Cluster/" + cluster.name());
  kube::ObjectPtr current = clusters_.Get(cluster.key().ToString());
  if (!current) return ApiError(404, "NotFound", "cluster not found");
  if (current->resource_version() != cluster.resource_version()) {
    return ApiError(409, "Conflict", "the object has been modified");
  }
  Json j = current->json();
  j["status"] = cluster.json()["status"];
  j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  auto written = std::make_shared<const kube::Object>(j);
  clusters_.Upsert(written);
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

const Json& FakeCluster::Status() const { return Cluster()->json()["status"]; }

Json FakeCluster::StatusField(const std::string& field) const {
  const Json& status = Status();
  return status.is_object() && status.contains(field) ? status[field] : Json(nullptr);
}

Json FakeCluster::Condition(const std::string& type) const {
  for (const auto& c : Status()["conditions"]) {
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

// ---- the world --------------------------------------------------------------------------

void FakeCluster::Tick() {
  now_ += absl::Seconds(5);
  RunPodGarbageCollector();
  RunStatefulSetController();
  RunVolumeResizer();
  RunNodes();
}

void FakeCluster::RunVolumeResizer() {
  // A CSI resizer: a claim whose request went above its capacity is resized online (when its
  // class allows expansion; else the API server would have refused the new request).
  for (const auto& pvc : pvcs_.List()) {
    const Json& j = pvc->json();
    const std::string request = kube::StringField(j["spec"]["resources"]["requests"], "storage");
    if (request.empty() || kube::StringField(j["status"]["capacity"], "storage") == request) {
      continue;
    }
    Json resized = j;
    resized["status"]["capacity"]["storage"] = request;
    resized["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    pvcs_.Upsert(std::make_shared<const kube::Object>(std::move(resized)));
  }
}

std::string FakeCluster::PvcOf(const std::string& pod) const {
  // The data claim of the pod's StatefulSet (the rack's first volumeClaimTemplate).
  for (const auto& sts : statefulsets_.List()) {
    if (!absl::StartsWith(pod, sts->name() + "-")) continue;
    const Json& templates = sts->json()["spec"]["volumeClaimTemplates"];
    if (templates.is_array() && !templates.empty()) {
      return kube::StringField(templates[0]["metadata"], "name") + "-" + pod;
    }
  }
  return "";
}

void FakeCluster::RunStatefulSetController() {
  for (const auto& sts : statefulsets_.List()) {
    if (sts->being_deleted()) {
      statefulsets_.Remove(sts->key().ToString());  // the orphan finalizer's work is done
      continue;
    }
    const Json& spec = sts->json()["spec"];
    const std::string revision = sts->name() + "-" + HashOf(spec["template"]).substr(0, 8);
    const int replicas = static_cast<int>(kube::IntField(spec, "replicas"));
    Json j = sts->json();
    j["status"] = {{"observedGeneration", sts->generation()},
                   {"replicas", replicas},
                   {"updateRevision", revision},
                   {"currentRevision", revision}};
    statefulsets_.Upsert(std::make_shared<const kube::Object>(j));
    const Json& templates = spec["volumeClaimTemplates"];
    for (int i = 0; i < replicas; ++i) {
      const std::string pod = absl::StrCat(sts->name(), "-", i);
      if (Find(res::kPods, pod)) continue;
      bool waiting = false;
      Json volumes = Json::array();
      for (const auto& t : templates) {
        const std::string claim = kube::StringField(t["metadata"], "name") + "-" + pod;
        kube::ObjectPtr pvc = Find(res::kPersistentVolumeClaims, claim);
        if (pvc && pvc->being_deleted()) waiting = true;
        if (!pvc) {
          Json c = {
              {"metadata", {{"name", claim}, {"labels", t["metadata"]["labels"]}}},
              {"spec", t["spec"]},
              {"status", {{"phase", "Bound"}, {"capacity", t["spec"]["resources"]["requests"]}}}};
          // The DefaultStorageClass admission plugin.
          if (!c["spec"].contains("storageClassName")) {
            c["spec"]["storageClassName"] = kDefaultStorageClass;
          }
          Put(res::kPersistentVolumeClaims, Stamp(c, nullptr, res::kPersistentVolumeClaims));
        }
        volumes.push_back(
            {{"name", t["metadata"]["name"]}, {"persistentVolumeClaim", {{"claimName", claim}}}});
      }
      if (waiting) continue;
      Json labels = spec["template"]["metadata"]["labels"];
      labels["controller-revision-hash"] = revision;
      labels["statefulset.kubernetes.io/pod-name"] = pod;
      // The scheduler: where the data claim's volume lives, else the emptiest Ready node (the
      // volume is then provisioned there).
      const std::string node =
          ScheduleOnto(kube::StringField(templates[0]["metadata"], "name") + "-" + pod);
      Json p = {{"metadata", {{"name", pod}, {"labels", labels}}},
                {"spec", {{"volumes", volumes}}},
                {"status", {{"conditions", {{{"type", "Ready"}, {"status", "False"}}}}}}};
      if (node.empty()) {
        p["status"]["conditions"].push_back(
            {{"type", "PodScheduled"},
             {"status", "False"},
             {"reason", "Unschedulable"},
             {"message", "0/3 nodes are available: 1 node(s) had volume node affinity conflict"}});
      } else {
        p["spec"]["nodeName"] = node;
        p["status"]["podIP"] = absl::StrCat("10.244.0.", ++pod_ip_counter_);
      }
      Put(res::kPods, Stamp(p, nullptr, res::kPods));
    }
    // Parallel pod management: pods above the count go at once; claims by the policy.
    const bool delete_claims =
        kube::StringField(spec["persistentVolumeClaimRetentionPolicy"], "whenScaled") == "Delete";
    for (const auto& pod : pods_.List()) {
      const std::string prefix = sts->name() + "-";
      if (!absl::StartsWith(pod->name(), prefix)) continue;
      int ordinal = -1;
      if (!absl::SimpleAtoi(pod->name().substr(prefix.size()), &ordinal) || ordinal < replicas) {
        continue;
      }
      const std::string claim = PvcOf(pod->name());
      UserDelete(res::kPods, pod->name());
      if (delete_claims) UserDelete(res::kPersistentVolumeClaims, claim);
    }
  }
}

agent::api::InitSettings FakeCluster::SettingsOf(const std::string& pod) const {
  for (const auto& cm : configmaps_.List()) {
    const Json& data = cm->json()["data"];
    if (data.is_object() && data.contains(pod + ".json")) {
      return Json::parse(data[pod + ".json"].get<std::string>()).get<api::InitSettings>();
    }
  }
  return {};
}

void FakeCluster::StartNode(const kube::Object& pod) {
  FakeNode& n = nodes_[pod.name()];
  n.pod = pod.name();
  const api::InitSettings settings = SettingsOf(pod.name());
  if (settings.broadcast_address.empty()) return;  // agent init fails: no settings yet
  n.address = settings.broadcast_address;
  n.dc = settings.dc;
  n.rack = settings.rack;
  kube::ObjectPtr pvc = Find(res::kPersistentVolumeClaims, PvcOf(pod.name()));
  if (!pvc) return;
  n.up = true;
  n.pod_uid = pod.uid();
  n.release_version = kube::StringField(Cluster()->json()["spec"], "version");
  n.mode = "STARTING";
  n.ticks_to_normal = 1;
  std::string& data = data_of_pvc_[pvc->uid()];
  if (!data.empty()) {
    n.host_id = data;  // restart on its own data
    return;
  }
  // An empty volume: a fresh node, a replacement of a member that had joined, or a bootstrap.
  const bool replacing = settings.member_joined_before && n.in_ring;
  if (!replacing) n.host_id = absl::StrCat("host-", ++uid_counter_);
  data = n.host_id;
  n.in_ring = true;
  if (replacing || settings.auto_bootstrap) {
    n.state = "J";
    n.mode = "JOINING";
    n.ticks_to_normal = 2;
  } else {
    n.state = "N";
  }
}

void FakeCluster::RunNodes() {
  for (auto& [name, n] : nodes_) {
    kube::ObjectPtr pod = Find(res::kPods, name);
    if (!pod) n.up = false;
    if (!n.up) continue;
    if (n.ticks_to_normal > 0 && --n.ticks_to_normal == 0) {
      n.state = "N";
      n.mode = "NORMAL";
    }
    if (n.ticks_to_leave > 0 && --n.ticks_to_leave == 0) {
      n.in_ring = false;
      n.mode = "DECOMMISSIONED";
    }
  }
  // Pods without a running node start one (the kubelet runs the containers) on a Ready node.
  for (const auto& pod : pods_.List()) {
    FakeNode* n = Node(pod->name());
    const std::string kube_node = kube::StringField(pod->json()["spec"], "nodeName");
    if (kube_node.empty() || !KubeNodeReady(kube_node)) {
      if (n && n->pod_uid == pod->uid()) n->up = false;  // its machine is gone or unreachable
      continue;
    }
    const bool crashes =
        never_up.count(pod->name()) ||
        (!crash_revision.empty() && pod->label("controller-revision-hash") == crash_revision);
    if (crashes) {
      if (n) n->up = false;  // crash-looping: never gossips
      Json j = pod->json();
      Json waiting = {{"reason", "CrashLoopBackOff"},
                      {"message", "back-off 5m0s restarting failed container=cassandra"}};
      if (j["status"]["containerStatuses"] !=
          Json::array({{{"name", "cassandra"}, {"state", {{"waiting", waiting}}}}})) {
        j["status"]["containerStatuses"] =
            Json::array({{{"name", "cassandra"}, {"state", {{"waiting", waiting}}}}});
        j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
        pods_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
      }
      continue;
    }
    if (!n || n->pod_uid != pod->uid() || !n->up) StartNode(*pod);
  }
  // Readiness: the agent's /readyz (UN as the peers see it, CQL open).
  for (const auto& pod : pods_.List()) {
    FakeNode* n = Node(pod->name());
    const bool ready = n && n->up && n->in_ring && n->state == "N" && n->mode == "NORMAL";
    Json j = pod->json();
    if (PodReadyIn(j) == ready) continue;
    j["status"]["conditions"] = {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}};
    j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    pods_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
  }
  for (auto& [id, op] : operations_) {
    if (op.op.state != api::kStateRunning) continue;
    FakeNode* n = Node(op.pod);
    if (op.op.kind == api::kOpDecommission) {
      if (n && !n->in_ring) op.op.state = api::kStateSucceeded;
      continue;
    }
    if (--op.ticks_left <= 0) op.op.state = api::kStateSucceeded;
  }
}

FakeNode* FakeCluster::Node(const std::string& pod) {
  auto it = nodes_.find(pod);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<const FakeNode*> FakeCluster::Ring() const {
  std::vector<const FakeNode*> out;
  for (const auto& [_, n] : nodes_) {
    if (n.in_ring) out.push_back(&n);
  }
  return out;
}

FakeNode* FakeCluster::NodeAt(const std::string& pod_ip) {
  for (const auto& pod : pods_.List()) {
    if (kube::StringField(pod->json()["status"], "podIP") == pod_ip) return Node(pod->name());
  }
  return nullptr;
}

api::NodeInfo FakeCluster::InfoOf(const FakeNode& n) const {
  api::NodeInfo info;
  info.host_id = n.host_id;
  info.release_version = n.release_version;
  info.address = n.address;
  info.operation_mode = n.mode;
  info.self_state = "U" + n.state;
  info.peers_state = "U" + n.state;
  info.native_transport_running = n.mode == "NORMAL";
  for (int i = 0; i < 16; ++i) info.tokens.push_back(std::to_string(i));
  info.load_bytes = n.load_bytes;
  info.data_volume_used_bytes = n.volume_used_bytes;
  info.data_volume_total_bytes = n.volume_total_bytes;
  return info;
}

api::Ring FakeCluster::RingView() const {
  api::Ring ring;
  for (const auto& [_, n] : nodes_) {
    if (!n.in_ring) continue;
    api::RingEndpoint e;
    e.address = n.address;
    e.dc = n.dc;
    e.rack = n.rack;
    e.status = n.up && n.mode != "DRAINED" ? "U" : "D";
    e.state = n.state;
    e.host_id = n.host_id;
    e.load_bytes = n.load_bytes;
    e.tokens = 16;
    ring.endpoints.push_back(e);
  }
  return ring;
}

bool FakeCluster::Serving(const std::string& address) const {
  for (const auto& [_, n] : nodes_) {
    if (n.address == address && n.up && n.mode == "NORMAL") return true;
  }
  return false;
}

absl::StatusOr<api::Operation> FakeCluster::StartOperation(const std::string& pod,
                                                           const api::OperationRequest& r) {
  FakeNode* n = Node(pod);
  for (const auto& [id, op] : operations_) {
    if (op.pod == pod && op.op.state == api::kStateRunning) {
      return absl::AlreadyExistsError(absl::StrCat(op.op.kind, " ", id, " runs"));
    }
  }
  agent_requests.push_back(absl::StrCat(pod, " ", r.kind));
  AgentOp op;
  op.pod = pod;
  op.op.id = absl::StrCat("op-", ++op_counter_);
  op.op.kind = r.kind;
  op.op.state = api::kStateRunning;
  if (r.kind == api::kOpDrain) {
    n->mode = "DRAINED";
    op.op.state = api::kStateSucceeded;
  } else if (r.kind == api::kOpDecommission) {
    if (n->mode != "NORMAL") return absl::FailedPreconditionError("not NORMAL: " + n->mode);
    n->state = "L";
    n->mode = "LEAVING";
    n->ticks_to_leave = 2;
  }
  operations_[op.op.id] = op;
  return op.op;
}

absl::StatusOr<api::Operation> FakeCluster::GetOperation(const std::string& pod,
                                                         const std::string& id) {
  auto it = operations_.find(id);
  if (it == operations_.end() || it->second.pod != pod) {
    return absl::NotFoundError("no operation " + id);
  }
  return it->second.op;
}

std::shared_ptr<NodeAgent> FakeCluster::For(const std::string& address, const std::string& token) {
  kube::ObjectPtr secret = secrets_.Get(KeyOf(cluster_key_.ns, cluster_key_.name + "-agent-token"));
  std::string expected;
  if (secret) absl::Base64Unescape(kube::StringField(secret->json()["data"], "token"), &expected);
  return std::make_shared<FakeAgent>(*this, address, !expected.empty() && expected == token);
}

absl::StatusOr<std::unique_ptr<CqlSession>> FakeCluster::Connect(const std::string& host,
                                                                 const CqlCredentials& login) {
  if (!Serving(host)) return absl::UnavailableError("CQL: no node serving at " + host);
  // The default role logs in until the superuser replaces it; then only the superuser does.
  const std::string allowed = superuser.empty() ? "cassandra" : superuser;
  if (login.user != allowed) {
    return absl::UnauthenticatedError("Provided username " + login.user +
                                      " and/or password are incorrect");
  }
  return std::make_unique<FakeSession>(*this);
}

absl::Status FakeCluster::SetupSuperuser(const std::string& host, const CqlCredentials& login) {
  if (!Serving(host)) return absl::UnavailableError("CQL: no node serving at " + host);
  superuser = login.user;
  return absl::OkStatus();
}

}  // namespace ringkeeper::testing
