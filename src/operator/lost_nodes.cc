// Members lost with their Kubernetes node (node_loss.h says when a node counts as lost). By
// spec.nodeLoss (default ReplaceLocalVolumes): a member whose volume was local to that node is
// replaced on another node, with the same IP and its data streamed back from the other replicas
// (the Replace operation, its old pod deleted without grace: no kubelet will ever confirm); a
// member whose volume can follow its pod gets the stuck pod deleted without grace and comes back
// elsewhere with its data. One member at a time, only while every other member is UN.
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "kube/resource.h"
#include "operator/node_loss.h"
#include "operator/pass.h"
#include "operator/reconciler.h"

namespace ringkeeper {
namespace {

using kube::Json;
using Flow = ClusterReconciler::Flow;
namespace res = kube::resources;

}  // namespace

absl::StatusOr<std::optional<ClusterReconciler::LostMember>> ClusterReconciler::LostWithItsNode(
    Pass& p, const Member& m) {
  LostMember lost;
  auto pod = p.pods.find(m.pod);
  if (pod != p.pods.end()) {
    lost.pod_uid = pod->second->uid();
    lost.node = kube::StringField(pod->second->json()["spec"], "nodeName");
  }
  const RackSpec* rack = p.spec.FindRack(m.dc, m.rack);
  std::string volume_node;
  if (auto claim = rack ? p.pvcs.find(PvcName(*rack, m.pod)) : p.pvcs.end();
      claim != p.pvcs.end()) {
    lost.pvc_uid = claim->second->uid();
    const std::string volume = kube::StringField(claim->second->json()["spec"], "volumeName");
    if (!volume.empty()) {
      auto pv = seams_.reader->Get(res::kPersistentVolumes, "", volume);
      if (!pv.ok() && !absl::IsNotFound(pv.status())) return pv.status();
      if (pv.ok()) volume_node = VolumeNode(*pv);
    }
  }
  // A pod recreated after its node was deleted waits unscheduled: its volume says where it was.
  if (lost.node.empty()) lost.node = volume_node;
  if (lost.node.empty()) return std::nullopt;
  auto node = seams_.reader->Get(res::kNodes, "", lost.node);
  if (!node.ok() && !absl::IsNotFound(node.status())) return node.status();
  lost.why = NodeLostBecause(node.ok() ? &*node : nullptr, seams_.clock->Now(),
                             p.spec.node_not_ready_timeout);
  if (lost.why.empty()) return std::nullopt;
  lost.local_volume = volume_node == lost.node;
  return lost;
}

absl::StatusOr<Flow> ClusterReconciler::ReplaceOnLostNodes(Pass& p) {
  if (!p.bootstrapped || !p.operation.is_null()) return Flow::kContinue;
  for (Member& m : p.members) {
    if (!m.bootstrapped || !m.wanted || m.up_everywhere) continue;
    ASSIGN_OR_RETURN(const std::optional<LostMember> lost, LostWithItsNode(p, m));
    if (!lost) continue;
    m.node_lost = absl::StrCat("node ", lost->node, " ", lost->why,
                               lost->local_volume ? ", its local volume with it" : "");
    if (!p.spec.replace_on_node_loss) continue;  // reported in Degraded only
    // Its data comes back only from the other replicas: they must all be up.
    if (!AllUp(p, m.pod)) continue;
    if (!lost->local_volume) {
      // The volume follows the pod: only the stuck pod goes, its successor keeps the data.
      if (lost->pod_uid.empty()) continue;
      RETURN_IF_ERROR(DeleteIfSame(p, res::kPods, m.pod, lost->pod_uid, Deletion::kWithoutGrace));
      Event(p, true, reason::kNodeLost,
            absl::StrCat(m.pod, ": ", m.node_lost,
                         "; its pod deleted to start elsewhere with "
                         "its volume"));
      p.requeue = options_.short_wait;
      return Flow::kWait;
    }
    Json operation =
        NewOperation(OperationKind::kReplace, m, Phase::kDeletingVolume, seams_.clock->Now());
    operation["podUid"] = lost->pod_uid;
    operation["pvcUid"] = lost->pvc_uid;
    operation["withoutGrace"] = true;
    operation["cause"] = m.node_lost;
    RETURN_IF_ERROR(
        BeginOperation(p, operation, true, reason::kNodeLost,
                       absl::StrCat(m.pod, ": ", m.node_lost, "; replacing it on another node (",
                                    m.address, " kept, data streamed from the other replicas)")));
    return ContinueReplace(p);
  }
  return Flow::kContinue;
}

}  // namespace ringkeeper
