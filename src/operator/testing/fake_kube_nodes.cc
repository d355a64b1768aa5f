// The fake cluster's Kubernetes nodes and local volumes: Node objects with a Ready condition,
// a scheduler that puts a pod where its data claim's volume is (or provisions the volume on the
// Ready node with the fewest pods), and the pod garbage collector that removes the pods of
// deleted nodes. With these, a node lost with a member's local volume wedges that member as it
// would on a real cluster: its recreated pod cannot schedule anywhere.
#include "absl/strings/str_cat.h"
#include "kube/resource.h"
#include "operator/node_loss.h"
#include "operator/testing/fake_cluster.h"

namespace ringkeeper::testing {

using kube::Json;
namespace res = kube::resources;

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
