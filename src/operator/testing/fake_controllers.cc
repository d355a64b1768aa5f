// The fake cluster's Kubernetes controllers, moved by Tick(): the StatefulSet controller (pods
// per replica at the template's revision, claims per template, the orphan finalizer), a volume
// resizer, the scheduler (a pod goes where its data claim's volume is, or the volume is
// provisioned on the Ready node with the fewest pods), the pod garbage collector (the pods of
// deleted nodes), and the Node objects with their Ready condition. With these, a node lost with
// a member's local volume wedges that member as it would on a real cluster: its recreated pod
// cannot schedule anywhere.
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kube/resource.h"
#include "operator/desired.h"
#include "operator/node_loss.h"
#include "operator/testing/fake_cluster.h"

namespace ringkeeper::testing {

using kube::Json;
namespace res = kube::resources;

void FakeCluster::Tick() {
  now_ += kTick;
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
    for (int i = 0; i < replicas; ++i) {
      const std::string pod = absl::StrCat(sts->name(), "-", i);
      if (!Find(res::kPods, pod)) CreatePod(spec, pod, revision);
    }
    RemovePodsAbove(*sts, replicas);
  }
}

void FakeCluster::CreatePod(const Json& sts_spec, const std::string& pod,
                            const std::string& revision) {
  const Json& templates = sts_spec["volumeClaimTemplates"];
  Json volumes = Json::array();
  for (const auto& t : templates) {
    const std::string claim = kube::StringField(t["metadata"], "name") + "-" + pod;
    kube::ObjectPtr pvc = Find(res::kPersistentVolumeClaims, claim);
    if (pvc && pvc->being_deleted()) return;  // the pod waits for its old claim to go
    if (!pvc) {
      Json c = {{"metadata", {{"name", claim}, {"labels", t["metadata"]["labels"]}}},
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
  Json labels = sts_spec["template"]["metadata"]["labels"];
  labels["controller-revision-hash"] = revision;
  labels["statefulset.kubernetes.io/pod-name"] = pod;
  // The scheduler: where the data claim's volume lives, else the emptiest Ready node (the
  // volume is then provisioned there).
  const std::string node =
      ScheduleOnto(kube::StringField(templates[0]["metadata"], "name") + "-" + pod);
  // Its containers' names and images, as the template had them (what its node runs).
  Json containers = Json::array();
  for (const auto& c : sts_spec["template"]["spec"]["containers"]) {
    containers.push_back({{"name", c.value("name", "")}, {"image", c.value("image", "")}});
  }
  Json p = {
      {"metadata",
       {{"name", pod},
        {"labels", labels},
        {"annotations", sts_spec["template"]["metadata"].value("annotations", Json::object())}}},
      {"spec", {{"volumes", volumes}, {"containers", containers}}},
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

void FakeCluster::RemovePodsAbove(const kube::Object& sts, int replicas) {
  // Parallel pod management: pods above the count go at once; claims by the policy.
  const bool delete_claims =
      kube::StringField(sts.json()["spec"]["persistentVolumeClaimRetentionPolicy"], "whenScaled") ==
      "Delete";
  const std::string prefix = sts.name() + "-";
  for (const auto& pod : pods_.List()) {
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

void FakeCluster::SetKubeNodeReady(const std::string& name, bool ready) {
  kube::ObjectPtr old = others_.Get(name);
  if (old && KubeNodeReady(name) == ready) return;
  Json node = {{"metadata", {{"name", name}, {"namespace", ""}}},
               {"status",
                {{"conditions",
                  {{{"type", "Ready"},
                    {"status", ready ? "True" : "Unknown"},
                    {"reason", ready ? "KubeletReady" : "NodeStatusUnknown"},
                    {"lastTransitionTime", kube::FormatRfc3339(now_)}}}}}}};
  Put(res::kNodes, Stamp(node, old, res::kNodes));
}

void FakeCluster::DeleteKubeNode(const std::string& name) { others_.Remove(name); }

bool FakeCluster::KubeNodeReady(const std::string& name) const {
  kube::ObjectPtr node = others_.Get(name);
  if (!node) return false;
  for (const Json& c : node->json()["status"]["conditions"]) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::string FakeCluster::KubeNodeOf(const std::string& pod) const {
  kube::ObjectPtr p = Find(res::kPods, pod);
  return p ? kube::StringField(p->json()["spec"], "nodeName") : "";
}

std::string FakeCluster::ScheduleOnto(const std::string& claim) {
  kube::ObjectPtr pvc = Find(res::kPersistentVolumeClaims, claim);
  if (!pvc) return "";
  const std::string volume = kube::StringField(pvc->json()["spec"], "volumeName");
  if (kube::ObjectPtr pv = volume.empty() ? nullptr : others_.Get(volume)) {
    const std::string node = VolumeNode(*pv);
    return KubeNodeReady(node) ? node : "";  // pinned there: nowhere else will do
  }
  std::string best;
  size_t fewest = SIZE_MAX;
  for (const char* candidate : {"node-1", "node-2", "node-3"}) {
    if (!KubeNodeReady(candidate)) continue;
    size_t pods = 0;
    for (const auto& p : pods_.List()) {
      pods += kube::StringField(p->json()["spec"], "nodeName") == candidate;
    }
    if (pods < fewest) {
      fewest = pods;
      best = candidate;
    }
  }
  if (best.empty()) return "";
  // WaitForFirstConsumer: the volume is provisioned where the pod goes, and pinned there.
  const std::string pv_name = "pv-" + pvc->uid();
  Json hostname = {{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", {best}}};
  Json term = {{"matchExpressions", Json::array({hostname})}};
  Json pv = {{"metadata", {{"name", pv_name}, {"namespace", ""}}}};
  pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"] = Json::array({term});
  Put(res::kPersistentVolumes, Stamp(pv, nullptr, res::kPersistentVolumes));
  Json bound = pvc->json();
  bound["spec"]["volumeName"] = pv_name;
  bound["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  pvcs_.Upsert(std::make_shared<const kube::Object>(std::move(bound)));
  return best;
}

void FakeCluster::RunPodGarbageCollector() {
  // Pods bound to a node that no longer exists are deleted (without grace).
  for (const auto& pod : pods_.List()) {
    const std::string node = kube::StringField(pod->json()["spec"], "nodeName");
    if (!node.empty() && !others_.Get(node)) UserDelete(res::kPods, pod->name(), true);
  }
}

}  // namespace ringkeeper::testing
