// A data center taken out of the spec leaves the cluster. Refused while a user keyspace still
// replicates to it (its data would go with it): the user alters those keyspaces first, and its
// members keep running until then. Once nothing of the user's lives there, the operator
// decommissions the members one at a time as a scale-down does (status.operation: a new leader
// finishes the one under way), forced: Cassandra refuses to leave a data center with fewer nodes
// than the system keyspaces' factor there, and those copies are not needed (every other data
// center holds its own). Once none is left in the ring, the system keyspaces stop replicating to
// it (not before: Cassandra 5.0 refuses a system_auth replication that leaves out a data center
// with nodes in the ring), then the data center's StatefulSets (their claims follow
// pvcDeletionPolicy), Services, ConfigMaps and PDB are deleted. Each step is idempotent and
// recorded (the operation; the objects' absence), so a crash anywhere is finished by the next
// pass.
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "base/status_macros.h"
#include "kube/resource.h"
#include "operator/data_center_join.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/system_keyspaces.h"

namespace ringkeeper {
namespace {

using Flow = ClusterReconciler::Flow;
namespace res = kube::resources;

}  // namespace

absl::StatusOr<Flow> ClusterReconciler::RemoveDataCenter(Pass& p) {
  if (p.leaving_dcs.empty() || !p.bootstrapped) return Flow::kContinue;
  if (p.Upgrading()) return Flow::kContinue;      // after the upgrade (upgrade.cc)
  const std::string dc = *p.leaving_dcs.begin();  // one at a time
  // Its members still in the ring: those whose member Service remains (decommission removes it).
  std::vector<const Member*> remaining;
  for (const Member& m : p.members) {
    if (m.dc == dc && !m.address.empty()) remaining.push_back(&m);
  }
  p.progress_reason = reason::kDecommissioning;
  p.requeue = options_.short_wait;
  if (remaining.empty()) {  // every member left the ring: the system keyspaces, then its objects
    ASSIGN_OR_RETURN(auto session, AdminSession(p));
    ASSIGN_OR_RETURN(auto replication, ReadReplication(*session));
    ASSIGN_OR_RETURN(const std::vector<std::string> steps,
                     ApplyReplicationChanges(*session, SystemReplicationWithout(replication, dc)));
    if (!steps.empty()) {
      Event(p, false, reason::kReplicateSystemKeyspaces,
            absl::StrCat("data center ", dc, " left the ring: ", absl::StrJoin(steps, ", ")));
    }
    auto drop = [&](const kube::Resource& r,
                    const std::map<std::string, kube::ObjectPtr>& objects) -> absl::Status {
      for (const auto& [name, o] : objects) {
        if (o->label(kLabelDataCenter) != dc || o->being_deleted()) continue;
        RETURN_IF_ERROR(DeleteIfSame(p, r, name, o->uid()));
      }
      return absl::OkStatus();
    };
    // Its StatefulSets last: they are what marks the data center as leaving (ListMembers), so
    // a pass that fails or crashes before them finds the rest to delete next time.
    RETURN_IF_ERROR(drop(res::kPodDisruptionBudgets, p.pdbs));
    RETURN_IF_ERROR(drop(res::kConfigMaps, p.configmaps));
    RETURN_IF_ERROR(drop(res::kServices, p.services));
    RETURN_IF_ERROR(drop(res::kStatefulSets, p.statefulsets));
    p.system_replication.erase(dc);
    Event(
        p, false, reason::kDataCenterRemoved,
        absl::StrCat("data center ", dc,
                     " left the cluster: its members decommissioned, its StatefulSets, Services, "
                     "ConfigMaps and PodDisruptionBudget deleted (its volumes ",
                     p.spec.delete_pvcs ? "deleted" : "retained", ", as pvcDeletionPolicy says)"));
    p.progress_reason.clear();
    return Flow::kWait;
  }
  auto wait = [&](const std::string& why) {
    p.progress_message = absl::StrCat("data center ", dc, " waits to leave: ", why);
    return Flow::kContinue;
  };
  if (!p.operation.is_null()) return wait("an operation runs");
  if (p.cleanup.is_object()) return wait("the cleanup after the last scale-up runs");
  if (p.dc_join.is_object()) return wait("a data center joins");
  ASSIGN_OR_RETURN(auto session, AdminSession(p));
  ASSIGN_OR_RETURN(auto replication, ReadReplication(*session));
  if (auto there = KeyspacesReplicatedIn(replication, dc); !there.empty()) {
    p.progress_reason.clear();
    return Refuse(
        p, condition::kDataCenterChangeRefused, reason::kKeyspacesInDataCenter,
        absl::StrCat("data center ", dc, " cannot be removed: keyspace",
                     there.size() > 1 ? "s " : " ", absl::StrJoin(there, ", "),
                     there.size() > 1 ? " replicate" : " replicates",
                     " to it and would lose its replicas there. ALTER KEYSPACE <name> WITH "
                     "replication = {...} without '",
                     dc, "' first; its members keep running until then"));
  }
  if (!AllUp(p)) {
    std::vector<std::string> down;
    for (const Member& m : p.members) {
      if (m.pod_object && !m.up_everywhere && !m.address.empty()) down.push_back(m.pod);
    }
    return wait(absl::StrCat("not every member is UN (", absl::StrJoin(down, ", "), ")"));
  }
  const Member& leaving = *remaining.back();  // the last rack's highest ordinal first
  RETURN_IF_ERROR(
      BeginOperation(p,
                     NewOperation(OperationKind::kDecommission, leaving, Phase::kDecommissioning,
                                  seams_.clock->Now()),
                     false, reason::kDecommissioning,
                     absl::StrCat("decommissioning ", leaving.pod, " (", leaving.address,
                                  "): data center ", dc, " leaves the cluster (", remaining.size(),
                                  " of its members left; no user keyspace replicates there, "
                                  "forced past the system keyspaces' factor there)")));
  return ContinueDecommission(p);
}

}  // namespace ringkeeper
