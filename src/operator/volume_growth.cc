// The steps that grow a rack's data volumes (volumes.h has the plan and why it goes this way):
// `volumes` raises each claim's request where its StorageClass allows expansion (nothing
// disruptive: the provider resizes the volume under the running pod), `volume-templates`
// re-creates a StatefulSet whose claim template is smaller than the spec (its pods orphaned,
// then adopted by the new one: no pod restarts), recorded first as status.operation.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/volumes.h"

namespace ringkeeper {
namespace {

using kube::Json;
using Flow = ClusterReconciler::Flow;
namespace res = kube::resources;

}  // namespace

absl::StatusOr<Flow> ClusterReconciler::GrowVolumes(Pass& p) {
  // p.volumes: what Observe found (ObserveVolumes).
  for (const RackVolumes& v : p.volumes) {
    if (v.below_request.empty()) continue;
    ASSIGN_OR_RETURN(const std::string why_not, WhyNotExpandable(v));
    if (!why_not.empty()) {
      // Nothing of this rack is touched (its StatefulSet keeps its template); the rest goes on.
      p.volumes_blocked.push_back(absl::StrCat(v.dc, "/", v.rack, ": ", why_not));
      continue;
    }
    std::vector<std::string> names;
    for (const kube::ObjectPtr& claim : v.below_request) {
      auto applied =
          seams_.writer->Apply(res::kPersistentVolumeClaims, ClaimGrowth(*claim, v.wanted));
      if (!applied.ok()) {
        p.apply_errors.push_back(
            base::Annotate(applied.status(), absl::StrCat("grow claim ", claim->name())));
        continue;
      }
      names.push_back(claim->name());
    }
    if (!names.empty()) {
      Event(p, false, reason::kGrowingVolumes,
            absl::StrCat("requested ", v.wanted, " for ", absl::StrJoin(names, ", "), " (rack ",
                         v.dc, "/", v.rack, ")"));
    }
  }
  return Flow::kContinue;
}

absl::StatusOr<std::string> ClusterReconciler::WhyNotExpandable(const RackVolumes& v) {
  std::map<std::string, std::string> verdict;  // class -> why not ("" when it expands)
  for (const kube::ObjectPtr& claim : v.below_request) {
    const std::string cls = kube::StringField(claim->json()["spec"], "storageClassName");
    if (cls.empty()) {
      return absl::StrCat("claim ", claim->name(),
                          " has no StorageClass (a pre-provisioned volume cannot be expanded)");
    }
    if (!verdict.count(cls)) {
      auto sc = seams_.reader->Get(res::kStorageClasses, "", cls);
      if (absl::IsNotFound(sc.status())) {
        verdict[cls] =
            absl::StrCat("StorageClass ", cls, " of claim ", claim->name(), " does not exist");
      } else if (!sc.ok()) {
        return base::Annotate(sc.status(), absl::StrCat("read StorageClass ", cls));
      } else if (!sc->json().value("allowVolumeExpansion", false)) {
        verdict[cls] = absl::StrCat(
            "StorageClass ", cls,
            " does not allow volume expansion (allowVolumeExpansion is "
            "not true); the rack stays at ",
            kube::StringField(claim->json()["spec"]["resources"]["requests"], "storage"));
      } else {
        verdict[cls] = "";
      }
    }
    if (!verdict[cls].empty()) return verdict[cls];
  }
  return std::string();
}

absl::StatusOr<Flow> ClusterReconciler::RecreateStatefulSets(Pass& p) {
  for (const RackVolumes& v : p.volumes) {
    // Claims first: a template re-created while a class refuses to expand would give new
    // members bigger volumes than the rest of their rack.
    if (!v.TemplateBelow() || !v.below_request.empty()) continue;
    const kube::ObjectPtr& sts = p.statefulsets.at(v.statefulset);
    if (sts->being_deleted()) continue;
    const int replicas = static_cast<int>(kube::IntField(sts->json()["spec"], "replicas"));
    Json operation = {{"kind", ToString(OperationKind::kRecreateStatefulSet)},
                      {"dataCenter", v.dc},
                      {"rack", v.rack},
                      {"statefulSet", v.statefulset},
                      {"uid", sts->uid()},
                      {"replicas", replicas},
                      {"storage", v.wanted},
                      {"phase", ToString(Phase::kOrphaningPods)},
                      {"startedAt", kube::FormatRfc3339(seams_.clock->Now())}};
    RETURN_IF_ERROR(BeginOperation(
        p, operation, false, reason::kRecreatingStatefulSet,
        absl::StrCat("StatefulSet ", v.statefulset, " is re-created with ", v.wanted,
                     " claims; its ", replicas, " pods keep running (orphaned, then adopted)")));
    return ContinueRecreateStatefulSet(p);
  }
  return Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::ContinueRecreateStatefulSet(Pass& p) {
  const std::string name = kube::StringField(p.operation, "statefulSet");
  const std::string uid = kube::StringField(p.operation, "uid");
  auto it = p.statefulsets.find(name);
  if (it == p.statefulsets.end() || it->second->being_deleted()) {
    return Flow::kWait;  // the statefulsets step creates it again once it is gone
  }
  if (it->second->uid() == uid) {
    // Not deleted yet (recorded, then interrupted): delete it, its pods stay.
    RETURN_IF_ERROR(DeleteIfSame(p, res::kStatefulSets, name, uid, Deletion::kOrphanDependents));
    return Flow::kWait;
  }
  // A new StatefulSet stands in its place, with the new claim template.
  Event(p, false, reason::kStatefulSetRecreated,
        absl::StrCat("StatefulSet ", name, " re-created with ",
                     kube::StringField(p.operation, "storage"), " claims"));
  RETURN_IF_ERROR(RecordOperation(p, nullptr));
  return Flow::kContinue;
}

int ClusterReconciler::ReplicasOfMissing(const Pass& p, const std::string& dc,
                                         const std::string& rack) {
  const std::string name = StatefulSetName(p.spec, dc, rack);
  if (kube::StringField(p.operation, "kind") == ToString(OperationKind::kRecreateStatefulSet) &&
      kube::StringField(p.operation, "statefulSet") == name) {
    return static_cast<int>(kube::IntField(p.operation, "replicas"));
  }
  // Deleted by someone else with its pods orphaned (kubectl delete --cascade=orphan): back at
  // the size its pods say, never at 0 (that would delete them). A rack added later has none.
  int replicas = 0;
  for (const auto& [pod_name, pod] : p.pods) {
    if (pod->label(kLabelDataCenter) == dc && pod->label(kLabelRack) == rack) {
      replicas = std::max(replicas, OrdinalOf(pod_name) + 1);
    }
  }
  return replicas;
}

}  // namespace ringkeeper
