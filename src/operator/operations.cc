// The disruptive operations of a Cluster and their safety rules (DESIGN.md, "Operations"):
// continuing the recorded one (ContinueOperation), replacement of a member on request, rolling
// restart one pod at a time; scaling.cc has scale up/down, system_replication.cc the system
// keyspaces, lost_nodes.cc members lost with their node, volume_growth.cc storage growth. Each
// records itself in status.operation before it acts, and each phase is idempotent, so a pass
// interrupted anywhere is finished by the next.
#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

}  // namespace

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

absl::StatusOr<std::vector<repair::TableCoverage>> ReadTables(CqlSession& client) {
  ASSIGN_OR_RETURN(auto rows, client.Query("SELECT keyspace_name, table_name, gc_grace_seconds, "
                                           "id FROM system_schema.tables",
                                           cql::Consistency::kOne));
  std::vector<repair::TableCoverage> out;
  for (const cql::Row& row : rows.rows) {
    repair::TableCoverage t;
    t.keyspace = row.columns.at("keyspace_name");
    t.table = row.columns.at("table_name");
    if (auto id = row.columns.find("id"); id != row.columns.end()) t.id = id->second;
    if (!absl::SimpleAtoi(row.columns.at("gc_grace_seconds"), &t.gc_grace_seconds)) {
      return absl::InternalError(absl::StrCat("gc_grace_seconds of ", t.Key(), " is \"",
                                              row.columns.at("gc_grace_seconds"), "\""));
    }
    out.push_back(std::move(t));
  }
  return out;
}

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

absl::StatusOr<std::vector<std::string>> ApplyReplicationChanges(
    CqlSession& session, const std::vector<ReplicationChange>& changes) {
  std::vector<std::string> steps;
  for (const ReplicationChange& change : changes) {
    RETURN_IF_ERROR(AlterReplication(session, change.keyspace, change.factors));
    steps.insert(steps.end(), change.steps.begin(), change.steps.end());
  }
  if (!steps.empty()) RETURN_IF_ERROR(session.WaitForSchemaAgreement(absl::Seconds(30)));
  return steps;
}

// Every member that has a pod is UN as every node sees it, and every such node answered.
bool AllUp(const ClusterReconciler::Pass& p, const std::string& except) {
  int running = 0;
  for (const Member& m : p.members) {
    if (m.pod == except) continue;
    // A member its StatefulSet does not have yet (a scale-up to come, a data center not started)
    // is not expected up.
    if (!m.pod_object && m.ordinal >= p.ReplicasOf(m.dc, m.rack)) continue;
    // A leaving data center's member that left the ring (its Service removed) is not expected up.
    if (p.leaving_dcs.count(m.dc) && m.address.empty()) continue;
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

// ---- replacement --------------------------------------------------------------------------

absl::StatusOr<Flow> ClusterReconciler::StartRequestedReplacement(Pass& p) {
  if (p.Upgrading()) return Flow::kContinue;  // after the upgrade (upgrade.cc)
  for (Member& m : p.members) {
    if (!m.pod_object || m.pod_object->label(kLabelReplace) != "true") continue;
    if (p.leaving_dcs.count(m.dc)) continue;  // it leaves the cluster: nothing to replace
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
    RETURN_IF_ERROR(BeginOperation(
        p, operation, false, reason::kReplacing,
        absl::StrCat("replacing ", m.pod, " (", m.address,
                     ") on request: new empty volume, same address, data streamed back")));
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
      const Deletion how =
          p.operation.value("withoutGrace", false) ? Deletion::kWithoutGrace : Deletion::kGraceful;
      RETURN_IF_ERROR(DeleteIfSame(p, res::kPods, pod, pod_uid, how));
    }
    RETURN_IF_ERROR(AdvanceOperation(p, Phase::kReplacing));
    return Flow::kWait;
  }
  // Replacing: the new pod streams the member's ranges; done when it is UN everywhere.
  const bool new_pod = m->pod_object && m->pod_uid != pod_uid;
  if (new_pod && m->up_everywhere) {
    UnseedReplacement(p);
    RETURN_IF_ERROR(RecordOperation(p, nullptr));
    Event(p, false, reason::kReplaced,
          absl::StrCat(pod, " replaced: UN again at ", m->address, " with a new volume"));
    return Flow::kContinue;
  }
  if (new_pod) RETURN_IF_ERROR(SeedReplacement(p, *m));
  return Flow::kWait;
}

// A same-address replacement announces itself hibernating, a state its peers never gossip to
// unless they list it as a seed; without their gossip it never learns the ring and exits
// ("Unable to contact any seeds"), and once its peers have seen it hibernate, again at every
// restart (CASSANDRA-19580; only the first start may get lucky). So every up peer whose settings
// do not list it is told to, on every pass while it replaces (idempotent; a peer whose pod
// restarted meanwhile has its settings' seeds again). The peers are recorded in the operation
// before they are told ("seededOn"): a successor gives their seeds back even if this pass dies.
absl::Status ClusterReconciler::SeedReplacement(Pass& p, const Member& m) {
  if (m.address.empty()) return absl::OkStatus();
  const auto settings = WrittenSettings(p);
  Json seeded = p.operation.value("seededOn", Json::array());
  std::vector<std::pair<const Member*, std::vector<std::string>>> tell;
  for (const Member& peer : p.members) {
    if (peer.pod == m.pod || !peer.up_everywhere || peer.pod_ip.empty()) continue;
    auto own = settings.find(peer.pod);
    if (own == settings.end()) continue;
    std::vector<std::string> seeds = own->second.seeds;
    if (std::find(seeds.begin(), seeds.end(), m.address) != seeds.end()) continue;
    if (std::find(seeded.begin(), seeded.end(), peer.pod) == seeded.end())
      seeded.push_back(peer.pod);
    seeds.push_back(m.address);
    tell.emplace_back(&peer, std::move(seeds));
  }
  if (seeded != p.operation.value("seededOn", Json::array())) {
    Json operation = p.operation;
    operation["seededOn"] = seeded;
    RETURN_IF_ERROR(RecordOperation(p, operation));
  }
  for (const auto& [peer, seeds] : tell) {
    if (auto now = Agent(p, *peer)->SetSeeds(seeds); !now.ok()) {
      spdlog::warn("cluster {}: {} could not list {} (replacing {}) as a seed: {}",
                   p.cluster.key().ToString(), peer->pod, m.address, m.pod, now.status().message());
    }
  }
  return absl::OkStatus();
}

void ClusterReconciler::UnseedReplacement(Pass& p) {
  const auto settings = WrittenSettings(p);
  for (const Json& pod : p.operation.value("seededOn", Json::array())) {
    const Member* peer = p.Find(pod.get<std::string>());
    auto own = settings.find(pod.get<std::string>());
    if (!peer || peer->pod_ip.empty() || own == settings.end()) continue;
    // A peer that does not answer keeps one seed more until its pod restarts: harmless.
    if (auto now = Agent(p, *peer)->SetSeeds(own->second.seeds); !now.ok()) {
      spdlog::warn("cluster {}: {} keeps its replacement seed: {}", p.cluster.key().ToString(),
                   peer->pod, now.status().message());
    }
  }
}

// ---- rolling restart ----------------------------------------------------------------------

namespace {

// How long until every pod has been Ready for `settle` (at most `settle`: a kubelet clock ahead
// of ours does not stall a roll); a Ready condition without a transition time counts as settled.
absl::Duration SettleLeft(const ClusterReconciler::Pass& p, absl::Time now, absl::Duration settle) {
  absl::Duration left = absl::ZeroDuration();
  for (const Member& m : p.members) {
    if (!m.pod_object) continue;
    const Json& conditions = kube::FieldAt(m.pod_object->json(), {"status", "conditions"});
    if (!conditions.is_array()) continue;
    for (const Json& c : conditions) {
      if (kube::StringField(c, "type") != "Ready" || kube::StringField(c, "status") != "True") {
        continue;
      }
      if (auto since = kube::ParseRfc3339(kube::StringField(c, "lastTransitionTime"))) {
        left = std::max(left, std::min(settle, *since + settle - now));
      }
    }
  }
  return left;
}

}  // namespace

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
        const absl::Duration settle = SettleLeft(p, seams_.clock->Now(), options_.roll_settle);
        if (settle > absl::ZeroDuration()) {
          p.progress_message =
              absl::StrCat(m->pod, " waits until every pod has been Ready for ",
                           absl::FormatDuration(options_.roll_settle), " (clients reconnect)");
          p.requeue = settle;
          return Flow::kWait;
        }
        Json operation =
            NewOperation(OperationKind::kRestart, *m, Phase::kDraining, seams_.clock->Now());
        operation["podUid"] = m->pod_uid;
        RETURN_IF_ERROR(BeginOperation(
            p, operation, false, reason::kRestartingPod,
            absl::StrCat("restarting ", m->pod, " for a new configuration (revision ", update,
                         "): drain, then recreate")));
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
        auto started = Agent(p, *m)->Start(api::OperationRequest{.kind = api::kOpDrain});
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

}  // namespace ringkeeper
