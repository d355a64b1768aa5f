// The disruptive operations of a Cluster and their safety rules (DESIGN.md, "Operations"):
// scale up one member at a time then cleanup, scale down by decommission (refused below the
// replication factor, with a node not UN, or without disk room), replacement of a member on
// request, rolling restart one pod at a time. Each records itself in status.operation before it
// acts, and each phase is idempotent, so a pass interrupted anywhere is finished by the next.
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

// The phase status.operation records (nullopt for an unknown one).
std::optional<Phase> PhaseOf(const Json& operation) {
  return ParsePhase(kube::StringField(operation, "phase"));
}

// Every keyspace's replication map, from system_schema.keyspaces.
absl::StatusOr<std::map<std::string, Json>> ReadReplication(CqlSession& client) {
  ASSIGN_OR_RETURN(auto rows, client.Query("SELECT keyspace_name, replication FROM "
                                           "system_schema.keyspaces",
                                           cql::Consistency::kOne));
  std::map<std::string, Json> out;
  for (const auto& row : rows.rows) {
    Json replication = Json::parse(row.columns.at("replication"), nullptr, false);
    out[row.columns.at("keyspace_name")] = replication.is_object() ? replication : Json::object();
  }
  return out;
}

// The largest replication factor any keyspace has in `dc`, and that keyspace.
// ALTER KEYSPACE to NetworkTopologyStrategy with `factors` ({dc: factor}).
absl::Status AlterReplication(CqlSession& session, const std::string& keyspace,
                              const Json& factors) {
  std::vector<std::string> entries = {"'class': 'NetworkTopologyStrategy'"};
  for (const auto& [dc, factor] : factors.items()) {
    entries.push_back(absl::StrCat("'", dc, "': ", factor.get<int>()));
  }
  auto altered = session.Query(absl::StrCat("ALTER KEYSPACE ", keyspace, " WITH replication = {",
                                            absl::StrJoin(entries, ", "), "}"),
                               cql::Consistency::kQuorum);
  return base::Annotate(altered.status(), absl::StrCat("alter ", keyspace));
}

}  // namespace

// Every member that has a pod is UN as every node sees it, and every such node answered.
bool AllUp(const ClusterReconciler::Pass& p, const std::string& except) {
  int running = 0;
  for (const Member& m : p.members) {
    if (m.pod == except) continue;
    // A member its StatefulSet does not have yet (a scale-up to come) is not expected up.
    auto replicas = p.replicas.find(StatefulSetName(p.spec, m.dc, m.rack));
    if (!m.pod_object && replicas != p.replicas.end() && m.ordinal >= replicas->second) continue;
    if (!m.pod_object || !m.up_everywhere) return false;
    ++running;
  }
  return static_cast<int>(p.ring_views.size()) >= running;
}

// The record of an operation on one member, written to status.operation before it acts.
Json NewOperation(OperationKind kind, const Member& m, Phase phase, absl::Time now) {
  return Json{{"kind", ToString(kind)},   {"pod", m.pod},
              {"dataCenter", m.dc},       {"rack", m.rack},
              {"phase", ToString(phase)}, {"startedAt", kube::FormatRfc3339(now)}};
}

absl::StatusOr<Flow> ClusterReconciler::ContinueOperation(Pass& p) {
  if (p.operation.is_null()) return Flow::kContinue;
  p.requeue = options_.short_wait;
  const std::string kind = kube::StringField(p.operation, "kind");
  if (auto k = ParseOperationKind(kind); k && PhaseOf(p.operation)) {
    switch (*k) {
      case OperationKind::kDecommission:
        return ContinueDecommission(p);
      case OperationKind::kReplace:
        return ContinueReplace(p);
      case OperationKind::kRestart:
        return ContinueRestart(p);
      case OperationKind::kReplicateSystemKeyspaces:
        return ContinueSystemReplication(p);
      case OperationKind::kRecreateStatefulSet:
        return ContinueRecreateStatefulSet(p);
    }
  }
  spdlog::warn("cluster {}: unknown operation {} (phase {}) dropped", p.cluster.key().ToString(),
               kind, kube::StringField(p.operation, "phase"));
  RETURN_IF_ERROR(RecordOperation(p, nullptr));
  return Flow::kWait;
}

// ---- scale down ---------------------------------------------------------------------------

absl::StatusOr<Flow> ClusterReconciler::ScaleDown(Pass& p) {
  if (!p.bootstrapped) return Flow::kContinue;
  for (const auto& dc : p.spec.dcs) {
    // The rack with the most members above its target gives up its highest ordinal.
    const RackSpec* shrink = nullptr;
    int excess = 0;
    for (const auto& rack : dc.racks) {
      const int replicas = p.replicas[StatefulSetName(p.spec, dc.name, rack.name)];
      if (replicas - rack.members > excess) {
        excess = replicas - rack.members;
        shrink = &rack;
      }
    }
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
    auto refuse = [&](const char* reason, const std::string& message) {
      p.scale_down_refusal_reason = reason;
      p.scale_down_refusal = message;
      // One event per new refusal, not one per pass.
      bool already = false;
      for (const auto& c : p.old_status["conditions"]) {
        already |= kube::StringField(c, "type") == condition::kScaleDownRefused &&
                   kube::StringField(c, "status") == "True" &&
                   kube::StringField(c, "message") == message;
      }
      if (!already) Event(p, true, reason::kScaleDownRefused, message);
      return Flow::kContinue;
    };
    // 1. Every node UN: decommissioning streams from and to all of them.
    if (!AllUp(p)) {
      std::vector<std::string> down;
      for (const Member& m : p.members) {
        if (!m.up_everywhere) down.push_back(m.pod);
      }
      return refuse(reason::kNodesNotUp,
                    absl::StrCat("scale-down of data center ", dc.name,
                                 " waits: not UN everywhere: ", absl::StrJoin(down, ", ")));
    }
    // 2. No user keyspace needs more nodes than are left (scale_down.h).
    ASSIGN_OR_RETURN(auto creds, SuperuserCredentials(p));
    auto client = seams_.cql->Connect(leaving->address, {creds.first, creds.second});
    if (!client.ok()) return base::Annotate(client.status(), "read replication factors");
    ASSIGN_OR_RETURN(auto replication, ReadReplication(**client));
    int cluster_after = 0;
    for (const auto& d : p.spec.dcs) cluster_after += d.members();
    if (auto refusal = ReplicationRefusal(replication, dc.name, dc.members(), cluster_after)) {
      return refuse(refusal->reason, absl::StrCat("refusing to scale data center ", dc.name, " to ",
                                                  dc.members(), " members: ", refusal->message));
    }
    // 3. Disk: the members that take the leaving node's data have room for it.
    if (auto refusal = DiskRefusal(p.members, *leaving)) {
      return refuse(refusal->reason, absl::StrCat("refusing to scale data center ", dc.name, ": ",
                                                  refusal->message));
    }
    // 4. The system keyspaces' factor in the DC comes down to its new size first (Cassandra
    // refuses to decommission below a keyspace's factor); no repair needed to hold fewer copies.
    RETURN_IF_ERROR(LowerSystemKeyspaces(p, **client, replication, dc));
    // Safe: record, then decommission.
    RETURN_IF_ERROR(RecordOperation(p, NewOperation(OperationKind::kDecommission, *leaving,
                                                    Phase::kDecommissioning, seams_.clock->Now())));
    Event(p, false, reason::kDecommissioning,
          absl::StrCat("decommissioning ", leaving->pod, " (", leaving->address,
                       "): its ranges stream to the remaining nodes"));
    p.requeue = options_.short_wait;
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
        auto started =
            Agent(p, m->pod_ip)->Start(api::OperationRequest{.kind = api::kOpDecommission});
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
        absl::StrCat(pod, " left the ring; its StatefulSet now has ", ordinal, " members"));
  return Flow::kWait;
}

absl::Status ClusterReconciler::LowerSystemKeyspaces(Pass& p, CqlSession& session,
                                                     const std::map<std::string, Json>& replication,
                                                     const DataCenterSpec& dc) {
  const std::vector<ReplicationChange> changes =
      LowerSystemReplication(replication, dc.name, dc.members());
  if (changes.empty()) return absl::OkStatus();
  std::vector<std::string> steps;
  for (const ReplicationChange& change : changes) {
    RETURN_IF_ERROR(AlterReplication(session, change.keyspace, change.factors));
    steps.insert(steps.end(), change.steps.begin(), change.steps.end());
  }
  RETURN_IF_ERROR(session.WaitForSchemaAgreement(absl::Seconds(30)));
  p.system_replication[dc.name] = SystemReplicationFactor(dc);
  Event(p, false, reason::kReplicateSystemKeyspaces,
        absl::StrCat("before the scale-down: ", absl::StrJoin(steps, ", ")));
  return absl::OkStatus();
}

// ---- scale up and cleanup -----------------------------------------------------------------

absl::StatusOr<Flow> ClusterReconciler::ScaleUp(Pass& p) {
  if (!p.bootstrapped) return Flow::kContinue;
  for (const auto& dc : p.spec.dcs) {
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
      Json status = p.old_status;
      status["cleanup"] = cleanup;
      RETURN_IF_ERROR(WriteStatus(p, status));
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
      auto op = Agent(p, m->pod_ip)->Operation(kube::StringField(cleanup, "operationId"));
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
      auto op = Agent(p, m->pod_ip)->Start(api::OperationRequest{.kind = api::kOpCleanup});
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

// ---- replacement --------------------------------------------------------------------------

absl::StatusOr<Flow> ClusterReconciler::StartRequestedReplacement(Pass& p) {
  for (Member& m : p.members) {
    if (!m.pod_object || m.pod_object->label(kLabelReplace) != "true") continue;
    if (!m.bootstrapped) {
      Event(p, true, reason::kReplacing,
            absl::StrCat("refusing to replace ", m.pod, ": it has never joined the ring"));
      continue;
    }
    // Its data comes back only from the other replicas: they must all be up.
    if (!AllUp(p, m.pod)) {
      p.progress_reason = reason::kReplacing;
      p.progress_message =
          absl::StrCat("replacement of ", m.pod, " waits for every other node to be UN");
      p.requeue = options_.short_wait;
      return Flow::kWait;
    }
    const RackSpec* rack = p.spec.FindRack(m.dc, m.rack);
    std::string pvc_uid;
    if (auto it = p.pvcs.find(PvcName(*rack, m.pod)); it != p.pvcs.end())
      pvc_uid = it->second->uid();
    Json operation =
        NewOperation(OperationKind::kReplace, m, Phase::kDeletingVolume, seams_.clock->Now());
    operation["podUid"] = m.pod_uid;
    operation["pvcUid"] = pvc_uid;
    RETURN_IF_ERROR(RecordOperation(p, operation));
    Event(p, false, reason::kReplacing,
          absl::StrCat("replacing ", m.pod, " (", m.address,
                       ") on request: new empty volume, same address, data streamed back"));
    p.requeue = options_.short_wait;
    return ContinueReplace(p);
  }
  return Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::ContinueReplace(Pass& p) {
  const std::string pod = kube::StringField(p.operation, "pod");
  const std::string pod_uid = kube::StringField(p.operation, "podUid");
  const std::string pvc_uid = kube::StringField(p.operation, "pvcUid");
  const RackSpec* rack = p.spec.FindRack(kube::StringField(p.operation, "dataCenter"),
                                         kube::StringField(p.operation, "rack"));
  Member* m = p.Find(pod);
  if (!rack || !m) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    return Flow::kWait;
  }
  if (PhaseOf(p.operation) == Phase::kDeletingVolume) {
    // The old volume first (it stays until its pod is gone), then the old pod. Both deletes are
    // bound to the recorded UIDs, so a later pass can never delete the new ones.
    const std::string pvc = PvcName(*rack, pod);
    if (auto it = p.pvcs.find(pvc);
        it != p.pvcs.end() && it->second->uid() == pvc_uid && !it->second->being_deleted()) {
      RETURN_IF_ERROR(DeleteIfSame(p, res::kPersistentVolumeClaims, pvc, pvc_uid));
    }
    if (auto it = p.pods.find(pod); it != p.pods.end() && it->second->uid() == pod_uid) {
      RETURN_IF_ERROR(
          DeleteIfSame(p, res::kPods, pod, pod_uid, p.operation.value("withoutGrace", false)));
    }
    RETURN_IF_ERROR(AdvanceOperation(p, Phase::kReplacing));
    return Flow::kWait;
  }
  // Replacing: the new pod streams the member's ranges; done when it is UN everywhere.
  if (m->pod_object && m->pod_uid != pod_uid && m->up_everywhere) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    Event(p, false, reason::kReplaced,
          absl::StrCat(pod, " replaced: UN again at ", m->address, " with a new volume"));
    return Flow::kContinue;
  }
  return Flow::kWait;
}

// ---- rolling restart ----------------------------------------------------------------------

absl::StatusOr<Flow> ClusterReconciler::RollPods(Pass& p) {
  if (!p.bootstrapped) return Flow::kContinue;
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      const std::string name = StatefulSetName(p.spec, dc.name, rack.name);
      auto it = p.statefulsets.find(name);
      if (it == p.statefulsets.end()) continue;
      const Json& sts = it->second->json();
      // The StatefulSet controller has not caught up with our last apply yet.
      if (p.applied.count("StatefulSet/" + name) ||
          kube::IntField(sts["status"], "observedGeneration") < it->second->generation()) {
        p.requeue = options_.short_wait;
        return Flow::kWait;
      }
      const std::string update = kube::StringField(sts["status"], "updateRevision");
      // Highest ordinal first, as the StatefulSet controller would.
      for (auto m = p.members.rbegin(); m != p.members.rend(); ++m) {
        if (m->dc != dc.name || m->rack != rack.name || !m->pod_object) continue;
        if (m->revision.empty() || m->revision == update) continue;
        p.progress_reason = reason::kRollingRestart;
        if (!AllUp(p)) {
          p.progress_message = absl::StrCat(m->pod, " waits for every node to be UN");
          p.requeue = options_.short_wait;
          return Flow::kWait;
        }
        Json operation =
            NewOperation(OperationKind::kRestart, *m, Phase::kDraining, seams_.clock->Now());
        operation["podUid"] = m->pod_uid;
        RETURN_IF_ERROR(RecordOperation(p, operation));
        Event(p, false, reason::kRestartingPod,
              absl::StrCat("restarting ", m->pod, " for a new configuration (revision ", update,
                           "): drain, then recreate"));
        p.requeue = options_.short_wait;
        return ContinueRestart(p);
      }
    }
  }
  return Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::ContinueRestart(Pass& p) {
  const std::string pod = kube::StringField(p.operation, "pod");
  const std::string pod_uid = kube::StringField(p.operation, "podUid");
  Member* m = p.Find(pod);
  if (!m) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    return Flow::kWait;
  }
  if (PhaseOf(p.operation) == Phase::kDraining) {
    if (m->pod_object && m->pod_uid == pod_uid) {
      // Drain first (clients are told, memtables flushed), then delete; an unreachable agent
      // leaves the drain to the pod's preStop hook.
      if (m->info && m->info->operation_mode != "DRAINED") {
        auto started = Agent(p, m->pod_ip)->Start(api::OperationRequest{.kind = api::kOpDrain});
        if (!started.ok() && !absl::IsAlreadyExists(started.status())) {
          spdlog::warn("cluster {}: drain {}: {}", p.cluster.key().ToString(), pod,
                       started.status().message());
        } else {
          return Flow::kWait;
        }
      }
      RETURN_IF_ERROR(DeleteIfSame(p, res::kPods, pod, pod_uid));
    }
    RETURN_IF_ERROR(AdvanceOperation(p, Phase::kRestarting));
    return Flow::kWait;
  }
  if (m->pod_object && m->pod_uid != pod_uid && m->up_everywhere) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    return Flow::kContinue;  // the next pod, if any, in this same pass
  }
  // The restarted pod is not up and its template is no longer the current one (the spec was
  // fixed after a bad image or setting): it serves nothing, so it goes first, straight to the
  // new template, instead of waiting forever on the old one.
  const std::string current = CurrentRevision(p, m->dc, m->rack);
  if (m->pod_object && m->pod_uid != pod_uid && !m->up_everywhere && !current.empty() &&
      !m->revision.empty() && m->revision != current) {
    Event(p, false, reason::kRestartingPod,
          absl::StrCat(pod, " never came up on the previous template (", m->trouble,
                       "); recreating it on revision ", current));
    RETURN_IF_ERROR(DeleteIfSame(p, res::kPods, pod, m->pod_uid));
  }
  return Flow::kWait;
}

// ---- system keyspaces ---------------------------------------------------------------------

bool ClusterReconciler::SystemKeyspacesReplicated(const Pass& p) {
  for (const auto& dc : p.spec.dcs) {
    if (kube::IntField(p.system_replication, dc.name.c_str()) < SystemReplicationFactor(dc)) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::unique_ptr<CqlSession>> ClusterReconciler::AdminSession(Pass& p) {
  const Member* target = p.FirstUp();
  if (!target) return absl::UnavailableError("no member is UN to take a CQL session");
  ASSIGN_OR_RETURN(auto creds, SuperuserCredentials(p));
  auto client = seams_.cql->Connect(target->address, {creds.first, creds.second});
  // Before the superuser exists (and only then) the default account still logs in.
  if (!p.auth_ready && absl::IsUnauthenticated(client.status())) {
    client = seams_.cql->Connect(target->address, {"cassandra", "cassandra"});
  }
  if (!client.ok()) return base::Annotate(client.status(), "CQL session");
  return client;
}

// Brings each DC's system keyspaces to min(3, DC size) once the DC has its members, a step at a
// time once serving, each step repaired on every member (system_keyspaces.h says why).
absl::StatusOr<Flow> ClusterReconciler::ReplicateSystemKeyspaces(Pass& p) {
  if (!p.bootstrapped || !p.operation.is_null() || p.cleanup.is_object()) return Flow::kContinue;
  // Scaling first: the factor follows the size the DC is going to have.
  if (SystemKeyspacesReplicated(p) || !p.RacksAtSize()) return Flow::kContinue;
  if (!AllUp(p)) {
    p.requeue = options_.short_wait;
    return Flow::kContinue;
  }
  ASSIGN_OR_RETURN(auto session, AdminSession(p));
  ASSIGN_OR_RETURN(auto current, ReadReplication(*session));
  const std::vector<ReplicationChange> changes =
      PlanSystemReplication(current, p.spec, p.auth_ready);
  if (changes.empty()) {  // there already (set by hand, or by an older operator)
    for (const auto& dc : p.spec.dcs) p.system_replication[dc.name] = SystemReplicationFactor(dc);
    return Flow::kContinue;
  }
  Json next = Json::object();
  std::vector<std::string> steps;
  for (const auto& change : changes) {
    next[change.keyspace] = change.factors;
    steps.insert(steps.end(), change.steps.begin(), change.steps.end());
  }
  RETURN_IF_ERROR(
      RecordOperation(p, Json{{"kind", ToString(OperationKind::kReplicateSystemKeyspaces)},
                              {"phase", ToString(Phase::kAltering)},
                              {"replication", next},
                              {"startedAt", kube::FormatRfc3339(seams_.clock->Now())}}));
  Event(p, false, reason::kReplicateSystemKeyspaces,
        absl::StrCat("replication of ", absl::StrJoin(steps, ", "),
                     "; then repairs where a keyspace has more than one replica"));
  return ContinueSystemReplication(p);
}

absl::StatusOr<Flow> ClusterReconciler::ContinueSystemReplication(Pass& p) {
  // Repairs of a few kilobytes take a second or two: look again soon.
  p.requeue = absl::Seconds(1);
  Json op = p.operation;
  if (PhaseOf(op) == Phase::kAltering) {
    ASSIGN_OR_RETURN(auto session, AdminSession(p));
    Json pending = Json::array();
    for (const auto& [ks, factors] : op["replication"].items()) {
      RETURN_IF_ERROR(AlterReplication(*session, ks, factors));
    }
    // Every node must compute the new replicas before it repairs for them.
    absl::Status agreed = session->WaitForSchemaAgreement(absl::Seconds(30));
    if (!agreed.ok()) return base::Annotate(agreed, "schema agreement");
    for (const auto& [ks, factors] : op["replication"].items()) {
      if (!RepairAfterChange(ks, factors, p.auth_ready)) continue;
      // A full repair on a node syncs every range it holds on all their replicas. In a DC whose
      // factor is its size each node holds the whole ring: one repair covers the keyspace.
      const Member* whole_ring = nullptr;
      for (const auto& dc : p.spec.dcs) {
        if (whole_ring || kube::IntField(factors, dc.name.c_str()) < dc.members()) continue;
        for (const Member& m : p.members) {
          if (m.dc == dc.name && m.wanted && m.pod_object) {
            whole_ring = &m;
            break;
          }
        }
      }
      for (const Member& m : p.members) {
        if (whole_ring && &m != whole_ring) continue;
        if (m.wanted && m.pod_object) pending.push_back(absl::StrCat(m.pod, " ", ks));
      }
    }
    op["phase"] = ToString(Phase::kRepairing);
    op["repairs"] = Json{{"pending", pending}, {"total", pending.size()}};
    RETURN_IF_ERROR(RecordOperation(p, op));
  }
  // Repairing: one member and keyspace at a time ("pod keyspace"); the one under way is
  // recorded with its agent operation id, so a new leader polls it instead of starting another.
  Json& repairs = op["repairs"];
  Json& pending = repairs["pending"];
  while (pending.is_array() && !pending.empty()) {
    const std::vector<std::string> item = absl::StrSplit(pending[0].get<std::string>(), ' ');
    const Member* m = item.size() == 2 ? p.Find(item[0]) : nullptr;
    if (!m || !m->wanted) {  // malformed, or removed since: nothing of it to repair
      pending.erase(0);
      continue;
    }
    if (m->pod_ip.empty()) return Flow::kWait;  // its pod comes back; repair it then
    const std::string id = kube::StringField(repairs, "operationId");
    if (!id.empty()) {
      auto repair = Agent(p, m->pod_ip)->Operation(id);
      if (repair.ok() && repair->state == api::kStateRunning) return Flow::kWait;
      if (!repair.ok() && !absl::IsNotFound(repair.status())) return repair.status();
      repairs.erase("operationId");
      if (repair.ok() && repair->state == api::kStateSucceeded) {
        pending.erase(0);
        repairs.erase("failures");
      } else if (repair.ok()) {  // failed: again, a few times (NotFound: the agent restarted)
        const int failures = static_cast<int>(kube::IntField(repairs, "failures")) + 1;
        const bool give_up = failures >= 5;
        Event(p, true, reason::kReplicateSystemKeyspaces,
              absl::StrCat(
                  "repair of ", item[1], " on ", item[0], " ", repair->state, ": ", repair->message,
                  give_up ? "; giving up after 5 attempts: run it by hand" : "; retrying"));
        repairs["failures"] = failures;
        if (give_up) {
          pending.erase(0);
          repairs.erase("failures");
        }
        p.requeue = options_.short_wait;
      }
      RETURN_IF_ERROR(RecordOperation(p, op));
      if (repair.ok() && repair->state != api::kStateSucceeded) return Flow::kWait;
      continue;
    }
    auto started = Agent(p, m->pod_ip)
                       ->Start(api::OperationRequest{.kind = api::kOpRepair, .keyspace = item[1]});
    if (absl::IsAlreadyExists(started.status())) return Flow::kWait;  // another repair runs
    if (!started.ok()) return base::Annotate(started.status(), "start repair");
    repairs["operationId"] = started->id;
    RETURN_IF_ERROR(RecordOperation(p, op));
    return Flow::kWait;
  }
  const int64_t total = kube::IntField(repairs, "total");
  RETURN_IF_ERROR(RecordOperation(p, nullptr));
  Event(p, false, reason::kReplicateSystemKeyspaces,
        absl::StrCat("system keyspaces replicated; ", total, total == 1 ? " repair" : " repairs",
                     " ran"));
  // The next pass reads the factors again: another step, or status.systemReplication.
  return Flow::kWait;
}

}  // namespace ringkeeper
