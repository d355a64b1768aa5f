// The system keyspaces brought to min(3, DC size) per data center and repaired
// (system_keyspaces.h says why one step at a time once serving).
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

}  // namespace

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
  auto client = seams_.cql->Connect(target->address, creds);
  // Before the superuser exists (and only then) the default account still logs in.
  if (!p.auth_ready && absl::IsUnauthenticated(client.status())) {
    client = seams_.cql->Connect(target->address, {"cassandra", "cassandra", creds.tls});
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

namespace {

// The repairs owed after the system keyspaces' replication changed to `replication`, one
// "pod keyspace" item each, in the order they run.
Json PlannedRepairs(const ClusterReconciler::Pass& p, const Json& replication) {
  Json pending = Json::array();
  for (const auto& [ks, factors] : replication.items()) {
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
  return pending;
}

}  // namespace

absl::Status ClusterReconciler::AlterSystemKeyspaces(Pass& p, Json& op) {
  ASSIGN_OR_RETURN(auto session, AdminSession(p));
  for (const auto& [ks, factors] : op["replication"].items()) {
    RETURN_IF_ERROR(AlterReplication(*session, ks, factors));
  }
  // Every node must compute the new replicas before it repairs for them.
  absl::Status agreed = session->WaitForSchemaAgreement(absl::Seconds(30));
  if (!agreed.ok()) return base::Annotate(agreed, "schema agreement");
  Json pending = PlannedRepairs(p, op["replication"]);
  op["phase"] = ToString(Phase::kRepairing);
  op["repairs"] = Json{{"pending", pending}, {"total", pending.size()}};
  return RecordOperation(p, op);
}

absl::StatusOr<Flow> ClusterReconciler::FollowRepair(Pass& p, Json& op, const Member& m,
                                                     const std::string& keyspace) {
  Json& repairs = op["repairs"];
  auto repair = Agent(p, m)->Operation(kube::StringField(repairs, "operationId"));
  if (repair.ok() && repair->state == api::kStateRunning) return Flow::kWait;
  if (!repair.ok() && !absl::IsNotFound(repair.status())) return repair.status();
  repairs.erase("operationId");
  if (repair.ok() && repair->state == api::kStateSucceeded) {
    repairs["pending"].erase(0);
    repairs.erase("failures");
  } else if (repair.ok()) {  // failed: again, a few times (NotFound: the agent restarted)
    const int failures = static_cast<int>(kube::IntField(repairs, "failures")) + 1;
    const bool give_up = failures >= 5;
    Event(p, true, reason::kReplicateSystemKeyspaces,
          absl::StrCat("repair of ", keyspace, " on ", m.pod, " ", repair->state, ": ",
                       repair->message,
                       give_up ? "; giving up after 5 attempts: run it by hand" : "; retrying"));
    repairs["failures"] = failures;
    if (give_up) {
      repairs["pending"].erase(0);
      repairs.erase("failures");
    }
    p.requeue = options_.short_wait;
  }
  RETURN_IF_ERROR(RecordOperation(p, op));
  return repair.ok() && repair->state != api::kStateSucceeded ? Flow::kWait : Flow::kContinue;
}

absl::StatusOr<Flow> ClusterReconciler::ContinueSystemReplication(Pass& p) {
  // Repairs of a few kilobytes take a second or two: look again soon.
  p.requeue = absl::Seconds(1);
  Json op = p.operation;
  if (PhaseOf(op) == Phase::kAltering) RETURN_IF_ERROR(AlterSystemKeyspaces(p, op));
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
    if (!kube::StringField(repairs, "operationId").empty()) {
      ASSIGN_OR_RETURN(Flow flow, FollowRepair(p, op, *m, item[1]));
      if (flow == Flow::kWait) return Flow::kWait;
      continue;
    }
    auto started =
        Agent(p, *m)->Start(api::OperationRequest{.kind = api::kOpRepair, .keyspace = item[1]});
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
