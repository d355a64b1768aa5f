// The disruptive operations of a Cluster and their safety rules (DESIGN.md, "Operations"):
// scale up one member at a time then cleanup, scale down by decommission (refused below the
// replication factor, with a node not UN, or without disk room), replacement of a member on
// request, rolling restart one pod at a time. Each records itself in status.operation before it
// acts, and each phase is idempotent, so a pass interrupted anywhere is finished by the next.
#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "cql/client.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "operator/desired.h"
#include "operator/pass.h"
#include "operator/reconciler.h"

namespace ringkeeper {
namespace {

using kube::Json;
using Flow = ClusterReconciler::Flow;
namespace res = kube::resources;
namespace api = agent::api;

// Every member that has a pod is UN as every node sees it, and every such node answered.
bool AllUp(const ClusterReconciler::Pass& p, const std::string& except = "") {
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

const RackSpec* FindRack(const ClusterSpec& c, const std::string& dc, const std::string& rack) {
  const DataCenterSpec* d = c.FindDc(dc);
  if (!d) return nullptr;
  for (const auto& r : d->racks) {
    if (r.name == rack) return &r;
  }
  return nullptr;
}

// The largest replication factor any keyspace has in `dc`, and that keyspace.
struct LargestRf {
  std::string keyspace;
  int rf = 0;
};
absl::StatusOr<LargestRf> LargestReplicationFactor(cql::Client& client, const std::string& dc) {
  ASSIGN_OR_RETURN(auto rows, client.Query("SELECT keyspace_name, replication FROM "
                                           "system_schema.keyspaces",
                                           cql::Consistency::kOne));
  LargestRf out;
  for (const auto& row : rows.rows) {
    const std::string ks = row.columns.at("keyspace_name");
    Json replication;
    try {
      replication = Json::parse(row.columns.at("replication"));
    } catch (const std::exception&) {
      continue;
    }
    const std::string cls = kube::StringField(replication, "class");
    int rf = 0;
    if (absl::EndsWith(cls, "NetworkTopologyStrategy")) {
      rf = std::atoi(kube::StringField(replication, dc.c_str()).c_str());
    } else if (absl::EndsWith(cls, "SimpleStrategy")) {
      rf = std::atoi(kube::StringField(replication, "replication_factor").c_str());
    }  // LocalStrategy, EverywhereStrategy: node-local or everywhere, nothing to keep
    // Ties go to a user keyspace: the one the user knows about.
    const bool user = !absl::StartsWith(ks, "system");
    if (rf > out.rf ||
        (rf == out.rf && rf > 0 && user && absl::StartsWith(out.keyspace, "system"))) {
      out = {ks, rf};
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Flow> ClusterReconciler::ContinueOperation(Pass& p) {
  if (p.operation.is_null()) return Flow::kContinue;
  p.requeue = options_.short_wait;
  const std::string kind = kube::StringField(p.operation, "kind");
  if (kind == "Decommission") return ContinueDecommission(p);
  if (kind == "Replace") return ContinueReplace(p);
  if (kind == "Restart") return ContinueRestart(p);
  spdlog::warn("cluster {}: unknown operation {} dropped", p.cluster.key().ToString(), kind);
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
      p.progress_reason = "Cleanup";
      p.progress_message = "scale-down waits for the cleanup of the last scale-up";
      return Flow::kWait;
    }
    const int replicas = p.replicas[StatefulSetName(p.spec, dc.name, shrink->name)];
    Member* leaving = p.Find(PodName(p.spec, dc.name, shrink->name, replicas - 1));
    auto refuse = [&](const char* reason, const std::string& message) {
      p.scale_down_refusal_reason = reason;
      p.scale_down_refusal = message;
      // One event per new refusal, not one per pass.
      bool already = false;
      for (const auto& c : p.old_status["conditions"]) {
        already |= kube::StringField(c, "type") == "ScaleDownRefused" &&
                   kube::StringField(c, "status") == "True" &&
                   kube::StringField(c, "message") == message;
      }
      if (!already) Event(p, true, "ScaleDownRefused", message);
      return Flow::kContinue;
    };
    // 1. Every node UN: decommissioning streams from and to all of them.
    if (!AllUp(p)) {
      std::vector<std::string> down;
      for (const Member& m : p.members) {
        if (!m.up_everywhere) down.push_back(m.pod);
      }
      return refuse("NodesNotUp",
                    absl::StrCat("scale-down of data center ", dc.name,
                                 " waits: not UN everywhere: ", absl::StrJoin(down, ", ")));
    }
    // 2. Not below the largest replication factor of any keyspace in the DC.
    ASSIGN_OR_RETURN(auto creds, SuperuserCredentials(p));
    auto client =
        cql::Client::Connect(leaving->address, options_.cql_port, creds.first, creds.second);
    if (!client.ok()) return base::Annotate(client.status(), "read replication factors");
    ASSIGN_OR_RETURN(LargestRf largest, LargestReplicationFactor(**client, dc.name));
    if (dc.members() < largest.rf) {
      return refuse("ReplicationFactor",
                    absl::StrCat("refusing to scale data center ", dc.name, " to ", dc.members(),
                                 " members: keyspace ", largest.keyspace,
                                 " has replication factor ", largest.rf, " there"));
    }
    // 3. Disk: the remaining nodes must hold the leaving node's data with 10% to spare.
    if (leaving->info) {
      const int remaining = static_cast<int>(p.members.size()) - 1;
      for (const Member& m : p.members) {
        if (m.pod == leaving->pod || !m.info || m.info->data_volume_total_bytes <= 0) continue;
        const double after =
            static_cast<double>(m.info->data_volume_used_bytes) +
            static_cast<double>(leaving->info->load_bytes) / std::max(1, remaining);
        if (after > 0.9 * static_cast<double>(m.info->data_volume_total_bytes)) {
          return refuse("DiskSpace",
                        absl::StrCat("refusing to scale data center ", dc.name, ": ", m.pod,
                                     " would be over 90% full after taking its share of ",
                                     leaving->pod, "'s data"));
        }
      }
    }
    // Safe: record, then decommission.
    RETURN_IF_ERROR(RecordOperation(p, Json{{"kind", "Decommission"},
                                            {"pod", leaving->pod},
                                            {"dataCenter", dc.name},
                                            {"rack", shrink->name},
                                            {"phase", "Decommissioning"},
                                            {"startedAt", kube::FormatRfc3339(absl::Now())}}));
    Event(p, false, "Decommissioning",
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
  if (kube::StringField(p.operation, "phase") == "Decommissioning") {
    // Left the ring: no other node lists it any more (and some other node was asked).
    int other_views = 0;
    for (const auto& [viewer, ring] : p.ring_views) other_views += viewer != pod;
    const bool left = other_views > 0 && (!m || !m->in_ring);
    if (!left) {
      if (m && m->info && m->info->operation_mode == "NORMAL") {
        auto started =
            Agent(p, m->pod_ip).Start(api::OperationRequest{.kind = api::kOpDecommission});
        if (!started.ok() && !absl::IsAlreadyExists(started.status())) {
          return base::Annotate(started.status(), "start decommission");
        }
      }
      return Flow::kWait;
    }
    Json op = p.operation;
    op["phase"] = "Removing";
    RETURN_IF_ERROR(RecordOperation(p, op));
  }
  // Removing: shrink the StatefulSet to the leaving ordinal, drop the member's Service. The
  // PVC follows spec.pvcDeletionPolicy (the StatefulSet's whenScaled policy).
  const RackSpec* r = FindRack(p.spec, dc, rack);
  const std::string sts = StatefulSetName(p.spec, dc, rack);
  const int ordinal = OrdinalOf(pod);
  if (r && p.replicas[sts] > ordinal) {
    auto it = p.statefulsets.find(sts);
    RETURN_IF_ERROR(Apply(p, res::kStatefulSets,
                          RackStatefulSet(p.spec, dc, *r, ordinal,
                                          p.config_hash[ConfigConfigMapName(p.spec, dc, rack)]),
                          it == p.statefulsets.end() ? nullptr : it->second));
    p.replicas[sts] = ordinal;
  }
  if (p.services.count(pod)) {
    auto deleted = client_.Delete(res::kServices, p.spec.ns, pod, {});
    if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
    ++p.writes;
  }
  RETURN_IF_ERROR(RecordOperation(p, nullptr));
  Event(p, false, "Decommissioned",
        absl::StrCat(pod, " left the ring; its StatefulSet now has ", ordinal, " members"));
  return Flow::kWait;
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
    p.progress_reason = "ScalingUp";
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
        kube::DeleteOptions opts;
        opts.precondition_uid = it->second->uid();
        auto deleted = client_.Delete(res::kPersistentVolumeClaims, p.spec.ns, pvc, opts);
        if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
        ++p.writes;
        Event(p, false, "StaleVolumeDeleted",
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
    auto it = p.statefulsets.find(sts);
    RETURN_IF_ERROR(
        Apply(p, res::kStatefulSets,
              RackStatefulSet(p.spec, dc.name, *grow, ordinal + 1,
                              p.config_hash[ConfigConfigMapName(p.spec, dc.name, grow->name)]),
              it == p.statefulsets.end() ? nullptr : it->second));
    p.replicas[sts] = ordinal + 1;
    p.progress_message = absl::StrCat("adding ", pod);
    Event(p, false, "ScalingUp",
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
      auto op = Agent(p, m->pod_ip).Operation(kube::StringField(cleanup, "operationId"));
      if (op.ok() && op->state == api::kStateRunning) return Flow::kContinue;
      if (op.ok() && op->state != api::kStateSucceeded) {
        Event(p, true, "Cleanup",
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
      auto op = Agent(p, m->pod_ip).Start(api::OperationRequest{.kind = api::kOpCleanup});
      if (absl::IsAlreadyExists(op.status())) return Flow::kContinue;
      if (!op.ok()) return base::Annotate(op.status(), "start cleanup");
      running = m->pod;
      cleanup["operationId"] = op->id;
      Event(p, false, "Cleanup",
            absl::StrCat("cleanup on ", m->pod, ": dropping the ranges it gave to new members"));
    }
  }
  cleanup["pending"] = pending;
  cleanup["running"] = running;
  if (pending.empty() && running.empty()) {
    p.cleanup = nullptr;
    Event(p, false, "Cleanup", "cleanup finished on every member");
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
      Event(p, true, "Replacing",
            absl::StrCat("refusing to replace ", m.pod, ": it has never joined the ring"));
      continue;
    }
    // Its data comes back only from the other replicas: they must all be up.
    if (!AllUp(p, m.pod)) {
      p.progress_reason = "Replacing";
      p.progress_message =
          absl::StrCat("replacement of ", m.pod, " waits for every other node to be UN");
      p.requeue = options_.short_wait;
      return Flow::kWait;
    }
    const RackSpec* rack = FindRack(p.spec, m.dc, m.rack);
    std::string pvc_uid;
    if (auto it = p.pvcs.find(PvcName(*rack, m.pod)); it != p.pvcs.end())
      pvc_uid = it->second->uid();
    RETURN_IF_ERROR(RecordOperation(p, Json{{"kind", "Replace"},
                                            {"pod", m.pod},
                                            {"dataCenter", m.dc},
                                            {"rack", m.rack},
                                            {"phase", "DeletingVolume"},
                                            {"podUid", m.pod_uid},
                                            {"pvcUid", pvc_uid},
                                            {"startedAt", kube::FormatRfc3339(absl::Now())}}));
    Event(p, false, "Replacing",
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
  const RackSpec* rack = FindRack(p.spec, kube::StringField(p.operation, "dataCenter"),
                                  kube::StringField(p.operation, "rack"));
  Member* m = p.Find(pod);
  if (!rack || !m) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    return Flow::kWait;
  }
  if (kube::StringField(p.operation, "phase") == "DeletingVolume") {
    // The old volume first (it stays until its pod is gone), then the old pod. Both deletes are
    // bound to the recorded UIDs, so a later pass can never delete the new ones.
    const std::string pvc = PvcName(*rack, pod);
    if (auto it = p.pvcs.find(pvc);
        it != p.pvcs.end() && it->second->uid() == pvc_uid && !it->second->being_deleted()) {
      kube::DeleteOptions opts;
      opts.precondition_uid = pvc_uid;
      auto deleted = client_.Delete(res::kPersistentVolumeClaims, p.spec.ns, pvc, opts);
      if (!deleted.ok() && !absl::IsNotFound(deleted) && !kube::IsConflict(deleted)) return deleted;
      ++p.writes;
    }
    if (auto it = p.pods.find(pod); it != p.pods.end() && it->second->uid() == pod_uid) {
      kube::DeleteOptions opts;
      opts.precondition_uid = pod_uid;
      auto deleted = client_.Delete(res::kPods, p.spec.ns, pod, opts);
      if (!deleted.ok() && !absl::IsNotFound(deleted) && !kube::IsConflict(deleted)) return deleted;
      ++p.writes;
    }
    Json op = p.operation;
    op["phase"] = "Replacing";
    RETURN_IF_ERROR(RecordOperation(p, op));
    return Flow::kWait;
  }
  // Replacing: the new pod streams the member's ranges; done when it is UN everywhere.
  if (m->pod_object && m->pod_uid != pod_uid && m->up_everywhere) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    Event(p, false, "Replaced",
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
        p.progress_reason = "RollingRestart";
        if (!AllUp(p)) {
          p.progress_message = absl::StrCat(m->pod, " waits for every node to be UN");
          p.requeue = options_.short_wait;
          return Flow::kWait;
        }
        RETURN_IF_ERROR(RecordOperation(p, Json{{"kind", "Restart"},
                                                {"pod", m->pod},
                                                {"dataCenter", dc.name},
                                                {"rack", rack.name},
                                                {"phase", "Draining"},
                                                {"podUid", m->pod_uid},
                                                {"startedAt", kube::FormatRfc3339(absl::Now())}}));
        Event(p, false, "RestartingPod",
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
  if (kube::StringField(p.operation, "phase") == "Draining") {
    if (m->pod_object && m->pod_uid == pod_uid) {
      // Drain first (clients are told, memtables flushed), then delete; an unreachable agent
      // leaves the drain to the pod's preStop hook.
      if (m->info && m->info->operation_mode != "DRAINED") {
        auto started = Agent(p, m->pod_ip).Start(api::OperationRequest{.kind = api::kOpDrain});
        if (!started.ok() && !absl::IsAlreadyExists(started.status())) {
          spdlog::warn("cluster {}: drain {}: {}", p.cluster.key().ToString(), pod,
                       started.status().message());
        } else {
          return Flow::kWait;
        }
      }
      kube::DeleteOptions opts;
      opts.precondition_uid = pod_uid;
      auto deleted = client_.Delete(res::kPods, p.spec.ns, pod, opts);
      if (!deleted.ok() && !absl::IsNotFound(deleted) && !kube::IsConflict(deleted)) return deleted;
      ++p.writes;
    }
    Json op = p.operation;
    op["phase"] = "Restarting";
    RETURN_IF_ERROR(RecordOperation(p, op));
    return Flow::kWait;
  }
  if (m->pod_object && m->pod_uid != pod_uid && m->up_everywhere) {
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    return Flow::kContinue;  // the next pod, if any, in this same pass
  }
  return Flow::kWait;
}

}  // namespace ringkeeper
