// Scaling a rack: up one member at a time once every node is UN, then cleanup of the members
// that gave ranges away; down by decommission of the highest ordinal, after the checks of
// scale_down.h (replication, disk, the system keyspaces lowered first).
#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "cql/client.h"
#include "cql/schema.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "operator/desired.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/scale_down.h"
#include "operator/system_keyspaces.h"

namespace ringkeeper {
namespace {

using kube::Json;
using Flow = ClusterReconciler::Flow;
namespace res = kube::resources;
namespace api = agent::api;

// The rack of `dc` with the most members above its target (it gives up its highest ordinal);
// null when every rack is at or below it.
const RackSpec* RackToShrink(const ClusterReconciler::Pass& p, const DataCenterSpec& dc) {
  const RackSpec* shrink = nullptr;
  int excess = 0;
  for (const auto& rack : dc.racks) {
    auto it = p.replicas.find(StatefulSetName(p.spec, dc.name, rack.name));
    const int replicas = it == p.replicas.end() ? 0 : it->second;
    if (replicas - rack.members > excess) {
      excess = replicas - rack.members;
      shrink = &rack;
    }
  }
  return shrink;
}

}  // namespace

// ---- scale down ---------------------------------------------------------------------------

// A scale-down refused: the ScaleDownRefused condition, and one ScaleDownRefused event.
Flow ClusterReconciler::RefuseScaleDown(Pass& p, const char* reason, const std::string& message) {
  return Refuse(p, condition::kScaleDownRefused, reason, message, reason::kScaleDownRefused);
}

absl::StatusOr<Flow> ClusterReconciler::ScaleDown(Pass& p) {
  if (!p.bootstrapped) return Flow::kContinue;
  if (p.Upgrading()) return Flow::kContinue;  // after the upgrade (upgrade.cc)
  for (const auto& dc : p.spec.dcs) {
    if (p.JoiningDc() == dc.name) continue;  // its members rebuild first (joining.cc)
    const RackSpec* shrink = RackToShrink(p, dc);
    if (!shrink) continue;
    // Not while members clean up: Cassandra refuses cleanup during range movements, and the
    // cleanup owed by the last scale-up must finish first.
    if (p.cleanup.is_object()) {
      p.progress_reason = reason::kCleanup;
      p.progress_message = "scale-down waits for the cleanup of the last scale-up";
      return Flow::kWait;
    }
    const int replicas = p.replicas[StatefulSetName(p.spec, dc.name, shrink->name)];
    Member* leaving = p.Find(PodName(p.spec, dc.name, shrink->name, replicas - 1));
    if (!leaving) continue;  // Observe lists every ordinal below replicas; defensive
    // 1. Every node UN: decommissioning streams from and to all of them.
    if (!AllUp(p)) {
      std::vector<std::string> down;
      for (const Member& m : p.members) {
        if (!m.up_everywhere) down.push_back(m.pod);
      }
      return RefuseScaleDown(
          p, reason::kNodesNotUp,
          absl::StrCat("scale-down of data center ", dc.name,
                       " waits: not UN everywhere: ", absl::StrJoin(down, ", ")));
    }
    // 2. No user keyspace needs more nodes than are left (scale_down.h).
    ASSIGN_OR_RETURN(auto creds, SuperuserCredentials(p));
    auto client = seams_.cql->Connect(leaving->address, creds);
    if (!client.ok()) return base::Annotate(client.status(), "read replication factors");
    ASSIGN_OR_RETURN(auto replication, ReadReplication(**client));
    int cluster_after = 0;
    for (const auto& d : p.spec.dcs) cluster_after += d.members();
    if (auto refusal = ReplicationRefusal(replication, dc.name, dc.members(), cluster_after)) {
      return RefuseScaleDown(p, refusal->reason,
                             absl::StrCat("refusing to scale data center ", dc.name, " to ",
                                          dc.members(), " members: ", refusal->message));
    }
    // 3. Disk: the members that take the leaving node's data have room for it.
    if (auto refusal = DiskRefusal(p.members, *leaving)) {
      return RefuseScaleDown(
          p, refusal->reason,
          absl::StrCat("refusing to scale data center ", dc.name, ": ", refusal->message));
    }
    // 4. The system keyspaces' factor in the DC comes down to its new size first (Cassandra
    // refuses to decommission below a keyspace's factor); no repair needed to hold fewer copies.
    RETURN_IF_ERROR(LowerSystemKeyspaces(p, **client, replication, dc));
    // Safe: record, then decommission.
    RETURN_IF_ERROR(
        BeginOperation(p,
                       NewOperation(OperationKind::kDecommission, *leaving, Phase::kDecommissioning,
                                    seams_.clock->Now()),
                       false, reason::kDecommissioning,
                       absl::StrCat("decommissioning ", leaving->pod, " (", leaving->address,
                                    "): its ranges stream to the remaining nodes")));
    return ContinueDecommission(p);
  }
  return Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::ContinueDecommission(Pass& p) {
  const std::string pod = kube::StringField(p.operation, "pod");
  const std::string dc = kube::StringField(p.operation, "dataCenter");
  const std::string rack = kube::StringField(p.operation, "rack");
  Member* m = p.Find(pod);
  if (PhaseOf(p.operation) == Phase::kDecommissioning) {
    // Left the ring: no other node lists it any more (and some other node was asked).
    int other_views = 0;
    for (const auto& [viewer, ring] : p.ring_views) other_views += viewer != pod;
    const bool left = other_views > 0 && (!m || !m->in_ring);
    if (!left) {
      if (m && m->info && m->info->operation_mode == "NORMAL") {
        // A whole data center leaving goes past Cassandra's check that the data center keeps a
        // keyspace's factor there (data_center_removal.cc says why that is safe).
        auto started = Agent(p, *m)->Start(api::OperationRequest{
            .kind = api::kOpDecommission, .force = p.leaving_dcs.count(dc) > 0});
        if (!started.ok() && !absl::IsAlreadyExists(started.status())) {
          return base::Annotate(started.status(), "start decommission");
        }
      }
      return Flow::kWait;
    }
    RETURN_IF_ERROR(AdvanceOperation(p, Phase::kRemoving));
  }
  // Removing: shrink the StatefulSet to the leaving ordinal, drop the member's Service. The
  // PVC follows spec.pvcDeletionPolicy (the StatefulSet's whenScaled policy).
  const RackSpec* r = p.spec.FindRack(dc, rack);
  const std::string sts = StatefulSetName(p.spec, dc, rack);
  const int ordinal = OrdinalOf(pod);
  if (r && p.replicas[sts] > ordinal) {
    RETURN_IF_ERROR(ApplyStatefulSet(p, dc, *r, ordinal));
  }
  if (auto it = p.services.find(pod); it != p.services.end()) {
    RETURN_IF_ERROR(DeleteIfSame(p, res::kServices, pod, it->second->uid()));
  }
  // It left the ring: should the member come back (the scale-down cancelled, members raised
  // again), it joins as a new node on a new volume, never on the data of the one that left.
  if (m) m->bootstrapped = false;
  RETURN_IF_ERROR(RecordOperation(p, nullptr));
  Event(p, false, reason::kDecommissioned,
        r ? absl::StrCat(pod, " left the ring; its StatefulSet now has ", ordinal, " members")
          : absl::StrCat(pod, " left the ring with its data center ", dc));
  return Flow::kWait;
}

absl::Status ClusterReconciler::LowerSystemKeyspaces(Pass& p, CqlSession& session,
                                                     const std::map<std::string, Json>& replication,
                                                     const DataCenterSpec& dc) {
  const std::vector<ReplicationChange> changes =
      LowerSystemReplication(replication, dc.name, dc.members());
  if (changes.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::vector<std::string> steps, ApplyReplicationChanges(session, changes));
  p.system_replication[dc.name] = SystemReplicationFactor(dc);
  Event(p, false, reason::kReplicateSystemKeyspaces,
        absl::StrCat("before the scale-down: ", absl::StrJoin(steps, ", ")));
  return absl::OkStatus();
}

// ---- scale up and cleanup -----------------------------------------------------------------

absl::StatusOr<Flow> ClusterReconciler::ScaleUp(Pass& p) {
  if (!p.bootstrapped) return Flow::kContinue;
  if (p.Upgrading()) return Flow::kContinue;  // after the upgrade (upgrade.cc)
  for (const auto& dc : p.spec.dcs) {
    // A data center new to the running cluster joins all at once, then rebuilds (joining.cc).
    if (p.new_dcs.count(dc.name) || p.JoiningDc() == dc.name) continue;
    const RackSpec* grow = nullptr;
    int fewest = 0;
    for (const auto& rack : dc.racks) {
      const int replicas = p.replicas[StatefulSetName(p.spec, dc.name, rack.name)];
      if (replicas < rack.members && (!grow || replicas < fewest)) {
        grow = &rack;
        fewest = replicas;
      }
    }
    if (!grow) continue;
    p.progress_reason = reason::kScalingUp;
    // One at a time: the next only once every node (the last one added included) is UN.
    if (!AllUp(p)) {
      p.progress_message = "waiting for every member to be UN before adding the next";
      p.requeue = options_.short_wait;
      return Flow::kWait;
    }
    const std::string sts = StatefulSetName(p.spec, dc.name, grow->name);
    const int ordinal = p.replicas[sts];
    const std::string pod = PodName(p.spec, dc.name, grow->name, ordinal);
    // A volume left by an earlier member of that ordinal (decommissioned, PVCs retained) would
    // bring back a node that left the ring: the new member starts empty.
    const std::string pvc = PvcName(*grow, pod);
    if (auto it = p.pvcs.find(pvc); it != p.pvcs.end()) {
      const Member* m = p.Find(pod);
      if (!(m && m->bootstrapped) && !it->second->being_deleted()) {
        RETURN_IF_ERROR(DeleteIfSame(p, res::kPersistentVolumeClaims, pvc, it->second->uid()));
        Event(p, false, reason::kStaleVolumeDeleted,
              absl::StrCat("deleted PVC ", pvc, " of a member that left the ring, before adding ",
                           pod));
      }
      p.requeue = options_.short_wait;
      return Flow::kWait;
    }
    // Cleanup is owed by the members that will give ranges to the new one: recorded first.
    Json cleanup = p.cleanup.is_object() ? p.cleanup : Json{{"pending", Json::array()}};
    std::set<std::string> pending(cleanup["pending"].begin(), cleanup["pending"].end());
    for (const Member& m : p.members) {
      if (m.dc == dc.name && m.bootstrapped) pending.insert(m.pod);
    }
    cleanup["pending"] = pending;
    if (cleanup != p.old_status["cleanup"]) {
      RETURN_IF_ERROR(WriteStatusField(p, "cleanup", cleanup));
    }
    p.cleanup = cleanup;
    RETURN_IF_ERROR(ApplyStatefulSet(p, dc.name, *grow, ordinal + 1));
    p.progress_message = absl::StrCat("adding ", pod);
    Event(p, false, reason::kScalingUp,
          absl::StrCat("adding ", pod, " (bootstraps, streaming its ranges)"));
    p.requeue = options_.short_wait;
    return Flow::kWait;
  }
  return Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::Cleanup(Pass& p) {
  if (!p.cleanup.is_object()) return Flow::kContinue;
  if (!AllUp(p)) return Flow::kContinue;
  Json cleanup = p.cleanup;
  std::vector<std::string> pending;
  for (const auto& v : cleanup["pending"]) pending.push_back(v.get<std::string>());
  std::string running = kube::StringField(cleanup, "running");
  p.requeue = options_.short_wait;
  if (!running.empty()) {
    Member* m = p.Find(running);
    bool finished = !m || m->pod_ip.empty();
    if (m && !m->pod_ip.empty()) {
      auto op = Agent(p, *m)->Operation(kube::StringField(cleanup, "operationId"));
      if (op.ok() && op->state == api::kStateRunning) return Flow::kContinue;
      if (op.ok() && op->state != api::kStateSucceeded) {
        Event(p, true, reason::kCleanup,
              absl::StrCat("cleanup on ", running, " ", op->state, ": ", op->message));
      }
      finished = op.ok();
      if (absl::IsNotFound(op.status()))
        running.clear();  // the agent restarted: run it again
      else if (!op.ok())
        return op.status();
    }
    if (finished) {
      std::erase(pending, running);
      running.clear();
    }
  }
  if (running.empty() && !pending.empty()) {
    Member* m = p.Find(pending.front());
    if (!m || m->pod_ip.empty()) {
      pending.erase(pending.begin());
    } else {
      auto op = Agent(p, *m)->Start(api::OperationRequest{.kind = api::kOpCleanup});
      if (absl::IsAlreadyExists(op.status())) return Flow::kContinue;
      if (!op.ok()) return base::Annotate(op.status(), "start cleanup");
      running = m->pod;
      cleanup["operationId"] = op->id;
      Event(p, false, reason::kCleanup,
            absl::StrCat("cleanup on ", m->pod, ": dropping the ranges it gave to new members"));
    }
  }
  cleanup["pending"] = pending;
  cleanup["running"] = running;
  if (pending.empty() && running.empty()) {
    p.cleanup = nullptr;
    Event(p, false, reason::kCleanup, "cleanup finished on every member");
  } else {
    p.cleanup = cleanup;
  }
  return Flow::kContinue;
}

}  // namespace ringkeeper
