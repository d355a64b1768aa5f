// The Repair reconciler: one Repair (api/v1alpha1/repair.h) run segment by segment through the
// Cluster's agents, recorded in the Repair's status before each step so a restarted operator
// carries on where this one stopped and never repairs a finished segment twice.
//
//   Pending  the Cluster must exist and name the data centers; while it is not Ready the Repair
//            waits. The keyspaces and tables are checked against the schema (CQL, as the
//            superuser); a missing one fails the Repair naming it (nothing was repaired). Each
//            keyspace's ranges and replicas, from an agent (Cassandra's own map), are cut into
//            segments (src/repair) and written to the ConfigMap <repair>-plan, owned by the
//            Repair; then the status records the totals and the Repair is Running.
//   Running  each pass, in order:
//            - segments that run are followed: done -> its bit set, its replicas rest for
//              duration x (1 - intensity) / intensity; failed, or running past the timeout ->
//              stop_repairs on every replica (a stop reaches only the node it is sent to and
//              every participant holds the session), and it is tried again, at most
//              kMaxSegmentAttempts in all, then the Repair fails naming it;
//            - while the Cluster records a disruptive operation (status.operation: a roll, a
//              scale, a replacement) the running segments are stopped (attempts not counted)
//              and none starts until it is done; while spec.paused none starts;
//            - while an older unfinished Repair of the Cluster exists none starts (it goes
//              first; a Pending Repair is not even planned until then);
//            - new segments start, in plan order, on replicas that take part in no other
//              segment (a node in one segment at a time), that are not resting, UN in the ring
//              and not behind on compactions (else postponed: counted in status.postponed by
//              reason, never failed). Each is recorded (coordinator, attempt) before its
//              coordinator's agent is asked, with a run key naming the segment and attempt: a
//              successor asking again gets the same operation.
//            Every segment done: Complete.
//
// Threading: as the other reconcilers (the controller's workers, never twice at once for one
// Repair).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "api/v1alpha1/repair.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "operator/own_writes.h"
#include "operator/seams.h"
#include "operator/storage_access.h"
#include "repair/segments.h"

namespace ringkeeper {

struct RepairCaches {
  const kube::Store* repairs = nullptr;
  const kube::Store* clusters = nullptr;
  const kube::Store* pods = nullptr;
  const kube::Store* services = nullptr;
};

struct RepairReconcilerOptions {
  absl::Duration poll = absl::Seconds(2);  // while a repair runs or waits
  // A running segment is looked at again after a quarter of the time it has run, at least this
  // and at most `poll`: a segment in sync is done in a fraction of a second, and 64 of them
  // waiting a whole poll each made a Repair 20x slower than nodetool (bench/repair.py).
  absl::Duration quick_poll = absl::Milliseconds(250);
  // No segment starts while a replica has more compactions pending (Reaper's default).
  int64_t max_pending_compactions = 20;
};

// The ConfigMap holding a Repair's plan.
std::string RepairPlanName(const std::string& repair);

class RepairReconciler : public kube::Reconciler {
 public:
  RepairReconciler(Seams seams, RepairCaches caches, RepairReconcilerOptions options = {});
  absl::StatusOr<kube::Result> Reconcile(const kube::ObjectKey& key) override;

 private:
  struct Pass;
  using Plan = std::map<std::string, std::vector<repair::Segment>>;  // by keyspace

  // Each returns an error only for what a later pass may get past; a failure of the Repair is
  // a status.
  absl::Status Start(Pass& p);
  absl::Status Continue(Pass& p);
  // The members' pods and addresses, the ring as one of them sees it.
  absl::Status ObserveMembers(Pass& p);
  // The keyspaces to repair with the tables named, checked against the schema; a failure of
  // the Repair when one is missing (`p.status` then Failed).
  absl::StatusOr<std::vector<std::string>> KeyspacesToRepair(Pass& p);
  absl::StatusOr<std::vector<repair::Segment>> PlanKeyspace(Pass& p, const std::string& keyspace);
  absl::StatusOr<std::shared_ptr<const Plan>> LoadPlan(Pass& p);
  // Follows one running segment; true when it left `running` (done or failed).
  absl::StatusOr<bool> Follow(Pass& p, const Plan& plan, RunningSegment& r);
  void SegmentDone(Pass& p, const RunningSegment& r, const agent::api::Operation& op);
  void SegmentFailed(Pass& p, const RunningSegment& r, const std::string& message);
  // stop_repairs on every replica of `r` that answers.
  void StopEverywhere(Pass& p, const RunningSegment& r);
  void StartSegments(Pass& p, const Plan& plan);
  // Whether an unfinished Repair of the same Cluster created before this one goes first (then
  // `p` waits: RepairAhead). One Repair's segments at a time on a Cluster: a node is in one
  // session at a time across Repairs, and a stop — Cassandra ends every repair session of the
  // node it reaches — ends only this Repair's.
  bool WaitForRepairAhead(Pass& p);
  // When to look again at an unfinished repair (RepairReconcilerOptions::quick_poll).
  absl::Duration NextLook(const Pass& p) const;
  absl::Status Ask(Pass& p, const Plan& plan, RunningSegment& r);
  // Why a segment with these replicas cannot start now ("" when it can).
  std::string Blocked(Pass& p, const std::vector<std::string>& replica_pods);
  void Fail(Pass& p, const char* reason, const std::string& message);
  absl::Status WriteStatus(Pass& p);

  Seams seams_;
  RepairCaches caches_;
  RepairReconcilerOptions options_;
  StorageAccess access_;
  OwnWrites written_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Plan>> plans_;  // by Repair uid; immutable
};

}  // namespace ringkeeper
