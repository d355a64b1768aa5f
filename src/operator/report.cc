// Report: the status a pass leaves (members per DC, counts, the operation record, conditions),
// written once and only when it changed.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/volumes.h"

namespace ringkeeper {
namespace {

using kube::Json;

using Pass = ClusterReconciler::Pass;

// status.conditions, each set once per pass; lastTransitionTime moves only when status does.
class Conditions {
 public:
  Conditions(Json& status, int64_t generation, absl::Time now)
      : list_(status["conditions"]), generation_(generation), now_(kube::FormatRfc3339(now)) {
    if (!list_.is_array()) list_ = Json::array();
  }
  void Set(const char* type, bool value, const std::string& reason, const std::string& message) {
    const std::string s = value ? "True" : "False";
    for (auto& c : list_) {
      if (kube::StringField(c, "type") != type) continue;
      if (kube::StringField(c, "status") != s) c["lastTransitionTime"] = now_;
      c["status"] = s;
      c["reason"] = reason;
      c["message"] = message;
      c["observedGeneration"] = generation_;
      return;
    }
    list_.push_back({{"type", type},
                     {"status", s},
                     {"reason", reason},
                     {"message", message},
                     {"observedGeneration", generation_},
                     {"lastTransitionTime", now_}});
  }

 private:
  Json& list_;
  const int64_t generation_;
  const std::string now_;
};

// Members counted for membersSummary, Ready and the metrics.
struct Tally {
  int desired = 0, ready = 0;
  std::map<std::string, int> by_state;
};

// The ring entry of the member's address in the first agent's view that has it: what its
// peers know of it (ownership always; host id, tokens and load when its own agent is silent).
const agent::api::RingEndpoint* RingEntry(const Pass& p, const Member& m) {
  if (m.address.empty()) return nullptr;
  for (const auto& [viewer, ring] : p.ring_views) {
    for (const auto& e : ring.endpoints) {
      if (e.address == m.address) return &e;
    }
  }
  return nullptr;
}

Json MemberStatus(const Pass& p, const Member& m) {
  Json member = {{"name", m.pod},
                 {"pod", m.pod},
                 {"rack", m.rack},
                 {"address", m.address},
                 {"state", m.state.empty() ? std::string(m.pod_object ? "?" : "Absent") : m.state},
                 {"bootstrapped", m.bootstrapped}};
  const agent::api::RingEndpoint* ring = RingEntry(p, m);
  if (m.info) {
    member["hostId"] = m.info->host_id;
    member["tokens"] = m.info->tokens.size();
    member["load"] = HumanBytes(m.info->load_bytes);
  } else if (ring && !ring->host_id.empty()) {  // a down node, as `nodetool status` shows it
    member["hostId"] = ring->host_id;
    member["tokens"] = ring->tokens;
    member["load"] = HumanBytes(ring->load_bytes);
  }
  // "33.3%": nodetool's Owns (effective ownership when it can be computed).
  if (ring) member["owns"] = absl::StrFormat("%.1f%%", 100 * ring->ownership);
  if (m.pod_object) member["node"] = kube::StringField(m.pod_object->json()["spec"], "nodeName");
  return member;
}

// status.dataCenters: per DC its racks' counts and its members as observed.
Json DataCentersStatus(const Pass& p, Tally& tally) {
  Json dcs = Json::array();
  for (const auto& dc : p.spec.dcs) {
    Json racks = Json::array();
    Json members = Json::array();
    for (const auto& rack : dc.racks) {
      int rack_ready = 0;
      for (const Member& m : p.members) {
        if (m.dc != dc.name || m.rack != rack.name) continue;
        if (m.ordinal < rack.members && m.up_everywhere) ++rack_ready;
        Json member = MemberStatus(p, m);
        ++tally.by_state[kube::StringField(member, "state")];
        members.push_back(std::move(member));
      }
      tally.desired += rack.members;
      tally.ready += rack_ready;
      racks.push_back(
          {{"name", rack.name}, {"members", rack.members}, {"readyMembers", rack_ready}});
    }
    dcs.push_back({{"name", dc.name}, {"racks", racks}, {"members", members}});
  }
  return dcs;
}

// The operation, cleanup and system replication records, as the pass leaves them.
void SetRecords(const Pass& p, Json& status) {
  // Sticky: a pass that ended before the bootstrap step (an API error early on) has not
  // computed it, and must not report a running cluster as never created.
  status["bootstrapped"] = p.bootstrapped || p.old_status.value("bootstrapped", false);
  status["authReady"] = p.auth_ready;
  SetOrErase(status, "operation", p.operation);
  SetOrErase(status, "cleanup", p.cleanup);
  SetOrErase(status, "dataCenterJoin", p.dc_join);
  SetOrErase(status, "upgrade", p.upgrade);
  // Sticky like bootstrapped: a pass that ended before the tls step has not read it.
  SetOrErase(status, "tls", p.tls.is_null() ? kube::FieldAt(p.old_status, {"tls"}) : p.tls);
  SetOrErase(status, "autoscaling", p.spec.autoscaling.enabled ? p.autoscaling : Json());
  if (!p.version.empty()) status["version"] = p.version;
  if (!p.system_replication.empty()) status["systemReplication"] = p.system_replication;
  if (!p.restore_from.is_null()) status["restoreFrom"] = p.restore_from;
}

struct Progress {
  std::string reason = reason::kIdle, message = "nothing to do";
  bool on() const { return reason != reason::kIdle; }
};

Progress ProgressOf(const Pass& p, const Tally& t, bool replicas_match) {
  Progress out;
  if (p.Upgrading() && !p.progress_reason.empty()) {
    out = {p.progress_reason, p.progress_message};
    if (!p.operation.is_null()) {
      absl::StrAppend(&out.message, "; ", kube::StringField(p.operation, "kind"), " of ",
                      kube::StringField(p.operation, "pod"), ": ",
                      kube::StringField(p.operation, "phase"));
    }
  } else if (!p.operation.is_null()) {
    out.reason = kube::StringField(p.operation, "kind");
    const std::string pod = kube::StringField(p.operation, "pod");
    out.message = absl::StrCat(out.reason, pod.empty() ? "" : " of ", pod, ": ",
                               kube::StringField(p.operation, "phase"));
  } else if (!p.bootstrapped) {
    out = {reason::kCreating, absl::StrCat(t.ready, " of ", t.desired, " members up")};
  } else if (!p.progress_reason.empty()) {
    out = {p.progress_reason, p.progress_message};
  } else if (!p.cleanup.is_null()) {
    out = {reason::kCleanup, "cleanup of the members that gave ranges away"};
  } else if (p.refusals.count(condition::kScaleDownRefused)) {
    // Nothing moves while the request is refused: not progressing, and the condition says why.
  } else if (!replicas_match) {
    out = {reason::kScaling, "racks are being resized"};
  }
  return out;
}

// Down outside an operation, or (operation or not) a pod that cannot start or a node lost: a
// roll stuck on a bad image or setting says so here, and fixing the spec rolls that pod first.
void SetDegraded(const Pass& p, Conditions& conditions) {
  std::vector<std::string> down, stuck;
  bool node_lost = false;
  for (const Member& m : p.members) {
    if (!m.node_lost.empty()) {
      stuck.push_back(absl::StrCat(m.pod, ": ", m.node_lost));
      node_lost = true;
    } else if (!m.trouble.empty()) {
      stuck.push_back(absl::StrCat(m.pod, ": ", m.trouble));
    } else if (m.bootstrapped && !m.up_everywhere &&
               kube::StringField(p.operation, "pod") != m.pod) {
      down.push_back(absl::StrCat(m.pod, " (", m.state.empty() ? "?" : m.state, ")"));
    }
  }
  if (!stuck.empty()) {
    down.insert(down.begin(), stuck.begin(), stuck.end());
    conditions.Set(condition::kDegraded, true,
                   node_lost ? reason::kNodeLost : reason::kPodNotStarting,
                   absl::StrJoin(down, "; "));
    return;
  }
  conditions.Set(condition::kDegraded, !down.empty(),
                 down.empty() ? reason::kAllMembersUp : reason::kMembersDown,
                 down.empty() ? "every joined member is up" : absl::StrJoin(down, ", "));
}

// The conditions that only say what the pass found: refusals, volumes, pause.
void SetVerdicts(const Pass& p, Conditions& conditions) {
  for (const auto& [type, none] :
       {std::pair{condition::kScaleDownRefused, "no scale-down is refused"},
        std::pair{condition::kDataCenterChangeRefused, "no data center change is refused"},
        std::pair{condition::kVersionChangeRefused, "spec.version is the version accepted"},
        std::pair{condition::kTlsRefused, "spec.tls is what the nodes run"},
        std::pair{condition::kAutoscalingRefused, "spec.autoscaling is followed (or not set)"}}) {
    auto it = p.refusals.find(type);
    if (it == p.refusals.end()) {
      conditions.Set(type, false, reason::kNotRefused, none);
    } else {
      conditions.Set(type, true, it->second.reason, it->second.message);
    }
  }
  const VolumesVerdict volumes = JudgeVolumes(p.volumes, p.volumes_blocked);
  conditions.Set(condition::kVolumesResized, volumes.resized, volumes.reason, volumes.message);
  if (p.config_refusal.empty()) {
    conditions.Set(condition::kConfigRefused, false, reason::kConfigAccepted,
                   "every configured key is known to this Cassandra version");
  } else {
    conditions.Set(condition::kConfigRefused, true, reason::kUnknownConfigKeys, p.config_refusal);
  }
  if (p.spec.restore_from.set()) {
    const std::string phase = kube::StringField(p.restore_from, "phase");
    const std::string why = kube::StringField(p.restore_from, "reason");
    conditions.Set(condition::kRestored, phase == restore_from_phase::kComplete,
                   why.empty() ? std::string(reason::kRestorePlanned) : why,
                   p.restore_from.is_object()
                       ? kube::StringField(p.restore_from, "message")
                       : std::string("the backup is read before any member starts"));
  }
  conditions.Set(condition::kPaused, p.spec.paused,
                 p.spec.paused ? reason::kPaused : reason::kNotPaused,
                 p.spec.paused ? "spec.paused: observing and reporting only" : "reconciling");
}

// What /metrics shows of this Cluster after the pass: members, conditions, the operation.
ClusterGauges Gauges(const Pass& p, const Json& status, const Tally& tally, bool ready) {
  ClusterGauges g{.members_by_state = tally.by_state, .ready = ready};
  const Json& conditions = kube::FieldAt(status, {"conditions"});
  if (conditions.is_array()) {
    for (const Json& c : conditions) {
      const std::string type = kube::StringField(c, "type");
      g.conditions[type] = kube::StringField(c, "status");
      if (type == condition::kReady) g.phase = kube::StringField(c, "reason");
    }
  }
  if (!p.operation.is_null()) {
    const auto started = kube::ParseRfc3339(kube::StringField(p.operation, "startedAt"));
    g.operation = ClusterGauges::Operation{
        .kind = kube::StringField(p.operation, "kind"),
        .phase = kube::StringField(p.operation, "phase"),
        .pod = kube::StringField(p.operation, "pod"),
        .started = started ? static_cast<double>(absl::ToUnixSeconds(*started)) : 0};
  }
  return g;
}

}  // namespace

absl::Status ClusterReconciler::Report(Pass& p, const absl::Status& step_error) {
  Json status = p.old_status.is_object() ? p.old_status : Json::object();
  Tally tally;
  status["dataCenters"] = DataCentersStatus(p, tally);
  status["membersSummary"] = absl::StrCat(tally.ready, "/", tally.desired);
  SetRecords(p, status);

  const bool replicas_match = p.RacksAtSize();
  const bool all_up = tally.ready == tally.desired;
  // Replicating the system keyspaces disturbs no one (Progressing says it runs): Ready does not
  // flap to False for it after a scale-up. Nor does re-creating a StatefulSet with its pods
  // orphaned (they keep running).
  const std::string operation_kind = kube::StringField(p.operation, "kind");
  const bool disruptive_operation =
      !p.operation.is_null() &&
      operation_kind != ToString(OperationKind::kReplicateSystemKeyspaces) &&
      operation_kind != ToString(OperationKind::kRecreateStatefulSet);
  const bool pods_updated = PodsAtCurrentRevision(p);
  const bool settled =
      all_up && replicas_match && p.auth_ready && !disruptive_operation && !p.Upgrading();
  const bool is_ready = settled && pods_updated;
  const Progress progress = ProgressOf(p, tally, replicas_match);
  const std::string up =
      absl::StrCat(tally.ready, " of ", tally.desired, " members are UN as every node sees them");

  Conditions conditions(status, p.spec.generation, seams_.clock->Now());
  if (!step_error.ok()) {
    conditions.Set(condition::kReady, false, reason::kReconcileError,
                   std::string(step_error.message()));
  } else if (!p.config_refusal.empty()) {
    // Healthy, but the spec is not what runs: not Ready for this generation.
    conditions.Set(condition::kReady, false, reason::kUnknownConfigKeys, p.config_refusal);
  } else if (auto refused = p.refusals.find(condition::kVersionChangeRefused);
             refused != p.refusals.end()) {
    conditions.Set(condition::kReady, false, refused->second.reason, refused->second.message);
  } else if (auto tls = p.refusals.find(condition::kTlsRefused); tls != p.refusals.end()) {
    conditions.Set(condition::kReady, false, tls->second.reason, tls->second.message);
  } else if (settled && !pods_updated) {
    conditions.Set(condition::kReady, false, reason::kPodsNotUpdated,
                   "a new pod template (config, version, JVM, restart request) is not rolled out "
                   "to every pod yet");
  } else if (is_ready) {
    conditions.Set(condition::kReady, true, reason::kAllMembersUp, up);
  } else {
    conditions.Set(
        condition::kReady, false, progress.on() ? progress.reason : reason::kMembersNotUp,
        absl::StrCat(up, p.waiting_in.empty() ? "" : "; waiting in step " + p.waiting_in));
  }
  conditions.Set(condition::kProgressing, progress.on(), progress.reason, progress.message);
  SetDegraded(p, conditions);
  SetVerdicts(p, conditions);
  status["observedGeneration"] = p.spec.generation;

  if (options_.metrics) options_.metrics->Set(p.cluster.key(), Gauges(p, status, tally, is_ready));
  if (status == p.old_status) return absl::OkStatus();
  spdlog::debug("cluster {}: status changes: {}", p.cluster.key().ToString(),
                Json::diff(p.old_status, status).dump());
  return base::Annotate(WriteStatus(p, status), "status");
}

}  // namespace ringkeeper
