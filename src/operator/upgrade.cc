// A change of spec.version. Cassandra supports some version changes and not others
// (version_path.h); an unsupported one must change nothing: no template, no pod. Each pass judges
// spec.version against the version the cluster runs or goes to and against every version a member
// reports running: refused, the pass goes on as before — its objects stay as they are — with the
// VersionChangeRefused condition and one Warning event.
//
// An accepted change of a running cluster is an upgrade, recorded in status.upgrade before
// anything moves (a new leader finishes it) and started only once nothing else runs (no
// operation, scaling, cleanup or data center change, every member UN):
//   1. Snapshotting: every node snapshots every keyspace under `upgrade-<from>-to-<to>` on the
//      version it runs — the way back — before any restarts. A snapshot whose operation was lost
//      (the agent restarted, a failure) is cleared and taken again: Cassandra refuses a tag it has.
//   2. Rolling: one rack at a time. Only that rack's StatefulSet gets the new image (a pod of a
//      later rack that dies comes back on the old version); RollPods restarts its pods one at a
//      time, each drained first. The rack is done when each member runs the new version, UN as
//      every node sees it.
//   3. UpgradingSSTables (after a major version change): `upgradesstables` on one node at a time,
//      while every member is UN.
// Then status.version is the new version, status.lastUpgrade says what was done, and the snapshots
// stay (the user clears them). Going back to the old version before any node runs a new major
// abandons the upgrade; a third version meanwhile is refused (UpgradeInProgress).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/fields.h"
#include "base/status_macros.h"
#include "kube/object.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/version_path.h"

namespace ringkeeper {

using kube::Json;
namespace api = agent::api;

namespace {

std::string RackKey(const std::string& dc, const std::string& rack) {
  return absl::StrCat(dc, "/", rack);
}

bool Contains(const Json& list, const std::string& value) {
  if (!list.is_array()) return false;
  return std::find(list.begin(), list.end(), Json(value)) != list.end();
}

// A node reports its release ("5.0.9"); an image tag may carry a suffix ("5.0.9-custom").
bool RunsVersion(const Member& m, const std::string& version) {
  if (!m.info) return false;
  auto runs = ParseCassandraVersion(m.info->release_version);
  auto wanted = ParseCassandraVersion(version);
  return runs && wanted && runs->major == wanted->major && runs->minor == wanted->minor &&
         runs->patch == wanted->patch;
}

// Every rack in spec order, as "dc/rack".
std::vector<std::string> RacksInOrder(const ClusterSpec& spec) {
  std::vector<std::string> out;
  for (const auto& dc : spec.dcs) {
    for (const auto& rack : dc.racks) out.push_back(RackKey(dc.name, rack.name));
  }
  return out;
}

// The members the racks' StatefulSets run (a member the spec adds waits for the upgrade's end).
std::vector<const Member*> RunningMembers(const ClusterReconciler::Pass& p) {
  std::vector<const Member*> out;
  for (const Member& m : p.members) {
    if (m.ordinal < p.ReplicasOf(m.dc, m.rack)) out.push_back(&m);
  }
  return out;
}

// The pass goes on at `version`: every template as it runs.
void PinTo(ClusterReconciler::Pass& p, const std::string& version) {
  p.spec.version = version;
  p.spec.image = absl::StrCat(p.spec.repository, ":", version);
}

// The pass goes on with the upgrade's racks: the new version for the racks rolled and the one
// rolling, the old one for the others (all of them while the nodes snapshot).
void PinToUpgrade(ClusterReconciler::Pass& p) {
  const std::string from = kube::StringField(p.upgrade, "from");
  const std::string to = kube::StringField(p.upgrade, "to");
  const bool rolling = kube::StringField(p.upgrade, "phase") != upgrade_phase::kSnapshotting;
  PinTo(p, to);
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      const std::string key = RackKey(dc.name, rack.name);
      const bool on_new = rolling && (Contains(p.upgrade["racksDone"], key) ||
                                      kube::StringField(p.upgrade, "rack") == key);
      p.rack_image[StatefulSetName(p.spec, dc.name, rack.name)] =
          absl::StrCat(p.spec.repository, ":", on_new ? to : from);
    }
  }
}

}  // namespace

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::PlanVersion(Pass& p) {
  const std::string wanted = p.spec.version;
  std::set<std::string> running;  // the release versions members report
  for (const Member& m : p.members) {
    if (m.info && !m.info->release_version.empty()) running.insert(m.info->release_version);
  }
  if (p.version.empty()) {
    // A new cluster, or one from before status.version: what its members all run, else the spec.
    p.version = running.size() == 1 ? *running.begin() : wanted;
  }
  const std::string from = p.Upgrading() ? kube::StringField(p.upgrade, "from") : p.version;
  // Judged from where the cluster comes from and from each version a member runs: the worst
  // verdict wins (going back to the old major once a node runs the new one is refused).
  std::set<std::string> judged_from = running;
  judged_from.insert(from);
  for (const std::string& f : judged_from) {
    const VersionChange change = JudgeVersionChange(f, wanted);
    if (!Refused(change)) continue;
    if (p.Upgrading()) {
      PinToUpgrade(p);
    } else {
      PinTo(p, p.version);
    }
    return Refuse(p, condition::kVersionChangeRefused, RefusalReason(change),
                  RefusalMessage(change, f, wanted));
  }
  if (p.Upgrading()) {
    const std::string to = kube::StringField(p.upgrade, "to");
    if (wanted == to) {
      // The record is written before status.version: a pass that stopped between the two writes
      // left the old version there, which the report puts right.
      p.version = to;
      PinToUpgrade(p);
      return Flow::kContinue;
    }
    if (wanted != from) {
      PinToUpgrade(p);
      return Refuse(p, condition::kVersionChangeRefused, reason::kUpgradeInProgress,
                    absl::StrCat("spec.version ", wanted, " refused: the upgrade from ", from,
                                 " to ", to, " runs (", kube::StringField(p.upgrade, "phase"),
                                 "); set spec.version back to ", to, " to let it finish, or to ",
                                 from, " to abandon it"));
    }
    // Back to where it came from (and no node runs a new major, else refused above): the
    // upgrade is abandoned, the pods that run `to` are rolled back like any template change.
    Event(p, false, reason::kUpgradeAbandoned,
          absl::StrCat("spec.version is ", from, " again: the upgrade to ", to,
                       " is abandoned; members that run ", to, " restart on ", from,
                       " one at a time; snapshot ", kube::StringField(p.upgrade, "snapshot"),
                       " kept"));
    // status.version first: a pass that stops between the two writes finds the record and
    // abandons it again, where the other order would leave `to` accepted with no record.
    RETURN_IF_ERROR(WriteStatusField(p, "version", from));
    p.version = from;
    RETURN_IF_ERROR(WriteStatusField(p, "upgrade", nullptr));
    p.upgrade = nullptr;
    return Flow::kContinue;
  }
  if (p.version == wanted) return Flow::kContinue;
  if (!fields::Bool(p.old_status, "bootstrapped")) {
    // Not created yet: nothing runs that a snapshot would keep; the spec's version is taken.
    p.version = wanted;
    RETURN_IF_ERROR(WriteStatusField(p, "version", wanted));
    return Flow::kContinue;
  }
  // A running cluster: the upgrade step starts it once nothing else runs. Until then every
  // object stays at the running version.
  p.upgrade_wanted = wanted;
  PinTo(p, p.version);
  return Flow::kContinue;
}

// Why an upgrade cannot start now ("" when it can): it must be the only thing under way.
std::string ClusterReconciler::UpgradeBlocker(const Pass& p) const {
  if (!p.operation.is_null()) {
    return absl::StrCat("the ", kube::StringField(p.operation, "kind"), " operation under way");
  }
  if (p.cleanup.is_object()) return "the cleanup after a scale-up";
  if (p.dc_join.is_object() || !p.new_dcs.empty()) return "a data center joining";
  if (!p.leaving_dcs.empty()) return "a data center leaving";
  if (!p.RacksAtSize()) return "the racks being resized";
  if (!PodsAtCurrentRevision(p)) return "pods rolling to a new template";
  if (!AllUp(p)) return "every member UN";
  return "";
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::Upgrade(Pass& p) {
  if (!p.Upgrading()) {
    if (p.upgrade_wanted.empty()) return Flow::kContinue;
    const std::string from = p.version, to = p.upgrade_wanted;
    if (const std::string blocker = UpgradeBlocker(p); !blocker.empty()) {
      p.progress_reason = reason::kUpgrading;
      p.progress_message =
          absl::StrCat("the upgrade from ", from, " to ", to, " waits for ", blocker);
      return Flow::kContinue;
    }
    const bool major = JudgeVersionChange(from, to) == VersionChange::kMajorUpgrade;
    Json record = {{"from", from},
                   {"to", to},
                   {"major", major},
                   {"phase", upgrade_phase::kSnapshotting},
                   {"snapshot", UpgradeSnapshotTag(from, to)},
                   {"startedAt", kube::FormatRfc3339(seams_.clock->Now())},
                   {"snapshots", Json::object()},
                   {"snapshotted", Json::array()},
                   {"racksDone", Json::array()}};
    // The record first: a pass that stops after it finds the upgrade; before it, nothing moved.
    RETURN_IF_ERROR(WriteStatusField(p, "upgrade", record));
    p.upgrade = record;
    RETURN_IF_ERROR(WriteStatusField(p, "version", to));
    p.version = to;
    Event(
        p, false, reason::kVersionAccepted,
        absl::StrCat("Cassandra ", from, " → ", to, major ? " (a major upgrade)" : "",
                     ": every node snapshots ", kube::StringField(record, "snapshot"),
                     " first, then one rack at a time restarts on ", to, ", each pod drained first",
                     major ? "; then upgradesstables on each node" : ""));
    p.requeue = options_.short_wait;
    return Flow::kContinue;
  }
  p.requeue = options_.short_wait;
  const std::string phase = kube::StringField(p.upgrade, "phase");
  if (phase == upgrade_phase::kSnapshotting) return SnapshotForUpgrade(p);
  if (phase == upgrade_phase::kRolling) return RollUpgradeRack(p);
  return UpgradeSSTables(p);
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::SnapshotForUpgrade(Pass& p) {
  Json up = p.upgrade;
  const std::string tag = kube::StringField(up, "snapshot");
  const std::string from = kube::StringField(up, "from");
  p.progress_reason = reason::kUpgrading;
  const std::vector<const Member*> members = RunningMembers(p);
  p.progress_message =
      absl::StrCat("upgrade to ", kube::StringField(up, "to"), ": snapshot ", tag,
                   " on every node, ", up["snapshotted"].size(), " of ", members.size(), " taken");
  size_t taken = 0;
  for (const Member* member : members) {
    const Member& m = *member;
    if (Contains(up["snapshotted"], m.pod)) {
      ++taken;
      continue;
    }
    // Taken on a live node: a member down is waited for (its data is in no snapshot yet).
    if (m.pod_ip.empty() || !m.up_everywhere) continue;
    auto agent = Agent(p, m);
    Json& node = up["snapshots"][m.pod];  // {step: clear_snapshot | snapshot, operationId}
    // Cleared first: a snapshot of this tag left by an attempt whose answer was lost would make
    // Cassandra refuse the tag. No node has restarted yet, so nothing of the old version is lost.
    std::string next = api::kOpClearSnapshot;
    if (node.is_object()) {
      auto op = agent->Operation(kube::StringField(node, "operationId"));
      if (!op.ok() && !absl::IsNotFound(op.status())) return op.status();
      if (op.ok() && op->state == api::kStateRunning) continue;
      if (op.ok() && op->state == api::kStateSucceeded) {
        if (kube::StringField(node, "step") == api::kOpSnapshot) {
          up["snapshotted"].push_back(m.pod);
          up["snapshots"].erase(m.pod);
          ++taken;
          Event(p, false, reason::kUpgradeSnapshot,
                absl::StrCat(m.pod, ": snapshot ", tag, " of every keyspace taken on Cassandra ",
                             from));
          continue;
        }
        next = api::kOpSnapshot;
      } else if (op.ok()) {
        Event(p, true, reason::kUpgradeSnapshot,
              absl::StrCat(m.pod, ": ", kube::StringField(node, "step"), " ", tag, " ", op->state,
                           ": ", op->message, "; taken again"));
      }
      // NotFound: the agent restarted and forgot it; from the start.
    }
    api::OperationRequest request{.kind = next};
    request.tag = tag;  // every keyspace, the system ones with the schema
    auto started = agent->Start(request);
    if (absl::IsAlreadyExists(started.status())) continue;  // another operation runs there
    if (!started.ok()) return base::Annotate(started.status(), absl::StrCat(next, " on ", m.pod));
    node = {{"step", next}, {"operationId", started->id}};
  }
  if (taken == members.size()) {
    const std::vector<std::string> racks = RacksInOrder(p.spec);
    up["phase"] = upgrade_phase::kRolling;
    up["rack"] = racks.front();
    up.erase("snapshots");
    Event(p, false, reason::kUpgrading,
          absl::StrCat("snapshot ", tag, " on all ", taken, " nodes: rack ", racks.front(),
                       " restarts on ", kube::StringField(up, "to"), " first"));
    // Recorded now: the rack's template changes in the next pass, from this record.
    RETURN_IF_ERROR(WriteStatusField(p, "upgrade", up));
  }
  p.upgrade = up;
  return Flow::kWait;  // nothing restarts while nodes snapshot
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::RollUpgradeRack(Pass& p) {
  Json up = p.upgrade;
  const std::string to = kube::StringField(up, "to");
  const std::string rack = kube::StringField(up, "rack");
  int members = 0, on_new = 0;
  bool done = true;
  for (const auto& dc : p.spec.dcs) {
    for (const auto& r : dc.racks) {
      if (RackKey(dc.name, r.name) != rack) continue;
      // Its template carries the new version and the controller has seen it.
      const std::string revision = CurrentRevision(p, dc.name, r.name);
      done &= !revision.empty();
      for (const Member* member : RunningMembers(p)) {
        const Member& m = *member;
        if (m.dc != dc.name || m.rack != r.name) continue;
        ++members;
        const bool upgraded =
            m.pod_object && m.revision == revision && m.up_everywhere && RunsVersion(m, to);
        on_new += upgraded;
        done &= upgraded;
      }
    }
  }
  p.progress_reason = reason::kUpgrading;
  p.progress_message = absl::StrCat(
      "upgrade to ", to, ": rack ", rack, ", ", on_new, " of ", members, " members on ", to,
      "; racks done: ", absl::StrJoin(fields::Strings(up, "racksDone"), ", "));
  if (!done) return Flow::kContinue;  // RollPods restarts its pods, one at a time
  up["racksDone"].push_back(rack);
  std::string next;
  for (const std::string& r : RacksInOrder(p.spec)) {
    if (!Contains(up["racksDone"], r)) {
      next = r;
      break;
    }
  }
  if (!next.empty()) {
    up["rack"] = next;
    Event(p, false, reason::kUpgrading,
          absl::StrCat("rack ", rack, " runs ", to, ": rack ", next, " restarts next"));
  } else if (fields::Bool(up, "major")) {
    up.erase("rack");
    up["phase"] = upgrade_phase::kUpgradingSSTables;
    std::vector<std::string> pending;
    for (const Member* m : RunningMembers(p)) pending.push_back(m->pod);
    up["sstables"] = {{"pending", pending}, {"upgraded", Json::array()}, {"failed", Json::array()}};
    Event(p, false, reason::kUpgradingSSTables,
          absl::StrCat("every member runs ", to,
                       ": upgradesstables on each node, one at a time, rewrites the SSTables "
                       "of older formats"));
  } else {
    return FinishUpgrade(p, up);
  }
  RETURN_IF_ERROR(WriteStatusField(p, "upgrade", up));
  p.upgrade = up;
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::UpgradeSSTables(Pass& p) {
  Json up = p.upgrade;
  Json& sstables = up["sstables"];
  std::vector<std::string> pending = fields::Strings(sstables, "pending");
  std::string running = kube::StringField(sstables, "running");
  p.progress_reason = reason::kUpgrading;
  p.progress_message =
      absl::StrCat("upgrade to ", kube::StringField(up, "to"), ": upgradesstables, ",
                   sstables["upgraded"].size(), " nodes done, ", pending.size(), " to go");
  if (!running.empty()) {
    const Member* m = p.Find(running);
    if (m && !m->pod_ip.empty()) {
      auto op = Agent(p, *m)->Operation(kube::StringField(sstables, "operationId"));
      if (!op.ok() && !absl::IsNotFound(op.status())) return op.status();
      if (op.ok() && op->state == api::kStateRunning) return Flow::kContinue;
      if (op.ok() && op->state == api::kStateSucceeded) {
        sstables["upgraded"].push_back(running);
        Event(p, false, reason::kUpgradingSSTables,
              absl::StrCat("upgradesstables finished on ", running));
      } else if (op.ok()) {
        sstables["failed"].push_back(running);
        Event(p, true, reason::kUpgradingSSTables,
              absl::StrCat("upgradesstables on ", running, " ", op->state, ": ", op->message,
                           "; the upgrade goes on (run `nodetool upgradesstables` there)"));
      }
      // NotFound: its agent restarted and forgot it; asked again below.
      if (op.ok()) std::erase(pending, running);
    } else {
      std::erase(pending, running);  // gone from the cluster
    }
    running.clear();
  }
  if (pending.empty()) return FinishUpgrade(p, up);
  if (!AllUp(p)) {
    sstables["pending"] = pending;
    sstables["running"] = running;
    p.upgrade = up;
    return Flow::kContinue;
  }
  const Member* m = p.Find(pending.front());
  if (!m || m->pod_ip.empty()) {
    pending.erase(pending.begin());
  } else {
    auto op = Agent(p, *m)->Start(api::OperationRequest{.kind = api::kOpUpgradeSSTables});
    if (absl::IsAlreadyExists(op.status())) return Flow::kContinue;
    if (!op.ok()) return base::Annotate(op.status(), "start upgradesstables");
    running = m->pod;
    sstables["operationId"] = op->id;
    Event(p, false, reason::kUpgradingSSTables, absl::StrCat("upgradesstables on ", m->pod));
  }
  sstables["pending"] = pending;
  sstables["running"] = running;
  p.upgrade = up;
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::FinishUpgrade(Pass& p, Json up) {
  const std::string to = kube::StringField(up, "to");
  const std::string tag = kube::StringField(up, "snapshot");
  Json last = {{"from", up["from"]},
               {"to", up["to"]},
               {"snapshot", tag},
               {"startedAt", up["startedAt"]},
               {"completedAt", kube::FormatRfc3339(seams_.clock->Now())}};
  if (fields::Bool(up, "major")) {
    last["sstablesUpgraded"] = up["sstables"]["upgraded"];
    last["sstablesFailed"] = up["sstables"]["failed"];
  }
  RETURN_IF_ERROR(WriteStatusField(p, "lastUpgrade", last));
  RETURN_IF_ERROR(WriteStatusField(p, "upgrade", nullptr));
  p.upgrade = nullptr;
  p.progress_reason.clear();
  p.progress_message.clear();
  Event(p, false, reason::kUpgraded,
        absl::StrCat("Cassandra ", to, " on every member; snapshot ", tag,
                     " kept on every node (nodetool clearsnapshot -t ", tag, " frees it)"));
  return Flow::kContinue;
}

}  // namespace ringkeeper
