// A data center added to a running cluster joins (data_center_join.h says why this way):
// JoinDataCenter notices it and records the join in status.dataCenterJoin before any of its
// members exists (they then start at once, auto_bootstrap false, on tokens clear of the ring's);
// RebuildDataCenter waits for them to be UN and for the system keyspaces to replicate there,
// alters the user keyspaces (replicateUserKeyspaces) or waits for the user to, and has each
// member rebuild from the source data center, one at a time. Every step is recorded before it
// is taken, so a new leader carries on where the last one stopped.
#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/fields.h"
#include "base/status_macros.h"
#include "operator/data_center_join.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/tokens.h"

namespace ringkeeper {
namespace {

using kube::Json;
using Flow = ClusterReconciler::Flow;
namespace api = agent::api;

bool HasJoinedMember(const ClusterReconciler::Pass& p, const std::string& dc) {
  return std::any_of(p.members.begin(), p.members.end(),
                     [&](const Member& m) { return m.dc == dc && m.bootstrapped; });
}

// The spec's data centers that a running cluster never started: no member of theirs joined or
// has a pod, and no StatefulSet of theirs has a replica.
std::vector<const DataCenterSpec*> NewDataCenters(const ClusterReconciler::Pass& p) {
  std::vector<const DataCenterSpec*> out;
  if (p.brand_new || !p.old_status.value("bootstrapped", false)) return out;
  for (const DataCenterSpec& dc : p.spec.dcs) {
    bool started = HasJoinedMember(p, dc.name);
    for (const Member& m : p.members) started |= m.dc == dc.name && m.pod_object != nullptr;
    for (const RackSpec& rack : dc.racks) {
      auto it = p.statefulsets.find(StatefulSetName(p.spec, dc.name, rack.name));
      started |=
          it != p.statefulsets.end() && kube::IntField(it->second->json()["spec"], "replicas") > 0;
    }
    if (!started) out.push_back(&dc);
  }
  return out;
}

// Where `dc`'s members stream from: rebuildFrom, else the first other data center with a
// member that joined; "" when there is none.
std::string SourceOf(const ClusterReconciler::Pass& p, const DataCenterSpec& dc) {
  if (!dc.rebuild_from.empty()) return dc.rebuild_from;
  for (const DataCenterSpec& other : p.spec.dcs) {
    if (other.name != dc.name && HasJoinedMember(p, other.name)) return other.name;
  }
  return "";
}

// Every token of the ring, as the members' agents report their own.
std::set<int64_t> RingTokens(const ClusterReconciler::Pass& p) {
  std::set<int64_t> out;
  for (const Member& m : p.members) {
    if (!m.info) continue;
    for (const std::string& t : m.info->tokens) {
      int64_t token = 0;
      if (absl::SimpleAtoi(t, &token)) out.insert(token);
    }
  }
  return out;
}

std::string Since(const Json& join, absl::Time now) {
  auto started = kube::ParseRfc3339(kube::StringField(join, "startedAt"));
  return started ? absl::FormatDuration(absl::Trunc(now - *started, absl::Seconds(1))) : "?";
}

}  // namespace

absl::Status ClusterReconciler::RecordJoin(Pass& p, const Json& join) {
  RETURN_IF_ERROR(WriteStatusField(p, "dataCenterJoin", join));
  p.dc_join = join;
  return absl::OkStatus();
}

absl::StatusOr<Flow> ClusterReconciler::JoinDataCenter(Pass& p) {
  if (p.dc_join.is_object()) {
    if (!p.spec.FindDc(p.JoiningDc())) {  // taken out of the spec while it joined
      Event(p, true, reason::kDataCenterJoining,
            absl::StrCat("data center ", p.JoiningDc(),
                         " is no longer in the spec: its join is abandoned"));
      RETURN_IF_ERROR(RecordJoin(p, nullptr));
    }
    return Flow::kContinue;
  }
  const std::vector<const DataCenterSpec*> fresh = NewDataCenters(p);
  if (fresh.empty()) return Flow::kContinue;
  for (const DataCenterSpec* dc : fresh) p.new_dcs.insert(dc->name);
  const DataCenterSpec& dc = *fresh.front();  // one at a time, in the spec's order
  p.progress_reason = reason::kDataCenterJoining;
  auto wait = [&](const std::string& why) {
    p.progress_message = absl::StrCat("data center ", dc.name, " waits to join: ", why);
    p.requeue = options_.short_wait;
    return Flow::kContinue;  // the rest of the pass goes on; the new data center waits
  };
  if (!p.operation.is_null()) return wait("an operation runs");
  if (p.Upgrading()) return wait("the upgrade runs (a new node cannot join a mixed-version ring)");
  if (p.cleanup.is_object()) return wait("the cleanup after the last scale-up runs");
  // The new data centers' members have no StatefulSet replica yet: AllUp does not expect them.
  if (!AllUp(p)) return wait("not every member is UN");
  for (const DataCenterSpec& other : p.spec.dcs) {
    if (p.new_dcs.count(other.name)) continue;
    for (const RackSpec& rack : other.racks) {
      if (p.ReplicasOf(other.name, rack.name) != rack.members) {
        return wait(absl::StrCat("data center ", other.name, " is being scaled"));
      }
    }
  }
  const std::string source = SourceOf(p, dc);
  if (source.empty() || !HasJoinedMember(p, source)) {
    return wait(absl::StrCat("its source data center ", source.empty() ? "(none)" : source,
                             " has no member that joined"));
  }
  auto session = AdminSession(p);
  if (!session.ok()) return wait(std::string(session.status().message()));
  auto replication = ReadReplication(**session);
  if (!replication.ok()) return wait(std::string(replication.status().message()));
  if (auto blind = DataCenterBlindKeyspaces(*replication); !blind.empty()) {
    p.progress_reason.clear();
    return Refuse(
        p, condition::kDataCenterChangeRefused, reason::kSimpleStrategyKeyspace,
        absl::StrCat("data center ", dc.name, " cannot join: keyspace",
                     blind.size() > 1 ? "s " : " ", absl::StrJoin(blind, ", "),
                     " use SimpleStrategy, whose replicas ignore data centers: the new members "
                     "would own their ranges without their data. ALTER KEYSPACE <name> WITH "
                     "replication = {'class': 'NetworkTopologyStrategy', '",
                     source, "': <factor>} first"));
  }
  const int index = static_cast<int>(&dc - p.spec.dcs.data());
  const int64_t offset = FreeTokenOffset(dc.members(), kNumTokens, RingTokens(p), index);
  RETURN_IF_ERROR(RecordJoin(p, Json{{"dataCenter", dc.name},
                                     {"source", source},
                                     {"phase", join_phase::kStarting},
                                     {"tokenOffset", offset},
                                     {"startedAt", kube::FormatRfc3339(seams_.clock->Now())}}));
  p.new_dcs.erase(dc.name);
  p.progress_message = absl::StrCat("data center ", dc.name, " joining: its members start");
  Event(p, false, reason::kDataCenterJoining,
        absl::StrCat("data center ", dc.name, " joins the running cluster: its ", dc.members(),
                     dc.members() == 1 ? " member starts" : " members start at once",
                     " on precomputed tokens, streaming nothing (auto_bootstrap false); once "
                     "keyspaces replicate to it, each rebuilds from ",
                     source, ", one at a time"));
  return Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::RebuildDataCenter(Pass& p) {
  if (!p.dc_join.is_object()) return Flow::kContinue;
  Json join = p.dc_join;
  const std::string name = p.JoiningDc();
  const std::string source = kube::StringField(join, "source");
  const DataCenterSpec* dc = p.spec.FindDc(name);
  if (!dc) return Flow::kContinue;  // JoinDataCenter clears it
  std::vector<const Member*> members;
  int up = 0;
  for (const Member& m : p.members) {
    if (m.dc != name || !m.wanted) continue;
    members.push_back(&m);
    up += m.up_everywhere;
  }
  const int total = static_cast<int>(members.size());
  p.progress_reason = reason::kDataCenterJoining;
  p.requeue = options_.short_wait;

  if (p.JoinPhase() == join_phase::kStarting) {
    if (up < total) {
      p.progress_message =
          absl::StrCat("data center ", name, " joining: ", up, " of ", total, " members UN");
      return Flow::kContinue;
    }
    join["phase"] = join_phase::kReplicating;
    RETURN_IF_ERROR(RecordJoin(p, join));
  }

  if (p.JoinPhase() == join_phase::kReplicating) {
    // The system keyspaces first (system-keyspaces step): logins and repair history there.
    if (!p.operation.is_null() || !SystemKeyspacesReplicated(p)) {
      p.progress_message =
          absl::StrCat("data center ", name, " joined; the system keyspaces replicate to it first");
      return Flow::kContinue;
    }
    ASSIGN_OR_RETURN(auto session, AdminSession(p));
    ASSIGN_OR_RETURN(auto replication, ReadReplication(*session));
    if (dc->replicate_user_keyspaces > 0) {
      const int factor = std::min(dc->replicate_user_keyspaces, dc->members());
      const std::vector<ReplicationChange> changes = PlanUserReplication(replication, name, factor);
      if (!changes.empty()) {
        ASSIGN_OR_RETURN(const std::vector<std::string> steps,
                         ApplyReplicationChanges(*session, changes));
        Event(p, false, reason::kReplicateUserKeyspaces,
              absl::StrCat("replication of ", absl::StrJoin(steps, ", "),
                           " (replicateUserKeyspaces); the members of ", name, " rebuild from ",
                           source, " next"));
        ASSIGN_OR_RETURN(replication, ReadReplication(*session));
      }
    }
    const std::vector<std::string> replicated = KeyspacesReplicatedIn(replication, name);
    if (replicated.empty()) {
      bool any_user_keyspace = false;
      for (const auto& [keyspace, r] : replication) any_user_keyspace |= IsUserKeyspace(keyspace);
      if (!any_user_keyspace) {  // nothing to stream: a keyspace created later starts there
        RETURN_IF_ERROR(RecordJoin(p, nullptr));
        Event(p, false, reason::kDataCenterJoined,
              absl::StrCat("data center ", name, " joined in ", Since(join, seams_.clock->Now()),
                           "; no user keyspace to rebuild"));
        p.progress_reason.clear();
        return Flow::kContinue;
      }
      p.progress_message = absl::StrCat(
          "data center ", name, " joined; its members rebuild from ", source,
          " once keyspaces replicate to it: ALTER KEYSPACE <name> WITH replication = {'class': "
          "'NetworkTopologyStrategy', ...existing..., '",
          name, "': <factor>}, or set replicateUserKeyspaces on the data center");
      p.requeue = options_.resync;
      return Flow::kContinue;
    }
    join["phase"] = join_phase::kRebuilding;
    join["keyspaces"] = replicated;
    join["rebuilt"] = Json::array();
    RETURN_IF_ERROR(RecordJoin(p, join));
    Event(p, false, reason::kRebuilding,
          absl::StrCat(absl::StrJoin(replicated, ", "),
                       replicated.size() == 1 ? " replicates" : " replicate", " to ", name,
                       ": its members rebuild from ", source, ", one at a time"));
  }

  // Rebuilding: one member at a time; the one under way is recorded with its agent operation.
  std::vector<std::string> rebuilt = fields::Strings(join, "rebuilt");
  const std::string running = kube::StringField(join, "running");
  if (!running.empty()) {
    const Member* m = p.Find(running);
    if (!m || m->pod_ip.empty()) {
      p.progress_message = absl::StrCat("the rebuild of ", running, " waits for its pod");
      return Flow::kContinue;
    }
    auto op = Agent(p, *m)->Operation(kube::StringField(join, "operationId"));
    if (op.ok() && op->state == api::kStateRunning) {
      p.progress_message = absl::StrCat("data center ", name, ": ", running, " rebuilds from ",
                                        source, " (", rebuilt.size(), " of ", total, " done)");
      return Flow::kWait;
    }
    if (!op.ok() && !absl::IsNotFound(op.status())) return op.status();
    join.erase("running");
    join.erase("operationId");
    const bool succeeded = op.ok() && op->state == api::kStateSucceeded;
    if (succeeded) {
      rebuilt.push_back(running);
      join["rebuilt"] = rebuilt;
      join.erase("failures");
      Event(p, false, reason::kRebuilding,
            absl::StrCat(running, " rebuilt from ", source, " (", rebuilt.size(), " of ", total,
                         ")"));
    } else if (op.ok()) {  // failed: again after a while (NotFound: its agent restarted)
      join["failures"] = kube::IntField(join, "failures") + 1;
      Event(
          p, true, reason::kRebuilding,
          absl::StrCat("rebuild of ", running, " from ", source, " ", op->state, ": ", op->message,
                       "; retrying (the ranges it already received are not streamed again)"));
    }
    RETURN_IF_ERROR(RecordJoin(p, join));
    if (op.ok() && !succeeded) {
      p.requeue = options_.resync;
      return Flow::kWait;
    }
  }
  const Member* next = nullptr;
  for (const Member* m : members) {
    if (std::find(rebuilt.begin(), rebuilt.end(), m->pod) == rebuilt.end()) {
      next = m;
      break;
    }
  }
  if (!next) {
    RETURN_IF_ERROR(RecordJoin(p, nullptr));
    Event(
        p, false, reason::kDataCenterJoined,
        absl::StrCat("data center ", name, " joined in ", Since(join, seams_.clock->Now()), ": ",
                     total, total == 1 ? " member" : " members", " rebuilt from ", source, " (",
                     absl::StrJoin(fields::Strings(join, "keyspaces"), ", "),
                     "); a keyspace altered to replicate to it from now on needs a repair there"));
    p.progress_reason.clear();
    return Flow::kContinue;
  }
  // Streams read from every replica of the source: all of them up first.
  if (!AllUp(p)) {
    p.progress_message =
        absl::StrCat("the rebuild of ", next->pod, " waits: not every member is UN");
    return Flow::kContinue;
  }
  api::OperationRequest rebuild;
  rebuild.kind = api::kOpRebuild;
  rebuild.source_dc = source;
  auto started = Agent(p, *next)->Start(rebuild);
  if (absl::IsAlreadyExists(started.status())) return Flow::kWait;  // a rebuild runs there
  if (!started.ok()) return base::Annotate(started.status(), "start rebuild");
  join["running"] = next->pod;
  join["operationId"] = started->id;
  RETURN_IF_ERROR(RecordJoin(p, join));
  p.progress_message = absl::StrCat("data center ", name, ": ", next->pod, " rebuilds from ",
                                    source, " (", rebuilt.size(), " of ", total, " done)");
  Event(p, false, reason::kRebuilding,
        absl::StrCat(next->pod, " rebuilds from ", source, ": streams its ranges of ",
                     absl::StrJoin(fields::Strings(join, "keyspaces"), ", ")));
  return Flow::kWait;
}

}  // namespace ringkeeper
