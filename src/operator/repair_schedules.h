// The repair scheduler: keyed by Cluster, it keeps the Cluster's repair coverage and creates the
// Repairs of its schedules. Each pass, in order:
//
//   Coverage  while the Cluster is Ready: its replicated tables and their gc_grace_seconds read
//             over CQL as the superuser (at most once a minute), merged with what
//             status.repairCoverage recorded and the Cluster's Complete Repairs
//             (repair/coverage.h), and written back when it changed. A Repair is deleted only
//             once the time it repaired is recorded here, so its history limit never loses it.
//   History   finished Repairs of each schedule past its successful/failed history limits,
//             oldest first, deleted (their plan ConfigMaps go with them: owned).
//   Schedules spec.repairs[]: the last time each fired, if no longer ago than its starting
//             deadline and its Repair (named after that time: creating it twice is harmless)
//             does not exist yet; skipped (an event) while the schedule's previous Repair runs
//             (concurrency Forbid) or while it is suspended.
//   Automatic spec.autoRepair (on unless disabled): while no Repair of the Cluster runs (a node
//             takes part in one segment at a time, across Repairs too), the keyspace whose due
//             table is nearest its gc_grace deadline is repaired (its due tables), at the
//             schedule's intensity; the slots spread keyspaces over the period.
//
// Requeued at the next time a schedule fires or a table falls due (a minute at most; 30 s while
// a Repair of the Cluster runs). A schedule or time zone the operator cannot read is reported (a
// Warning event, once) and skipped. Threading: as the other reconcilers.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "operator/seams.h"
#include "operator/storage_access.h"
#include "repair/coverage.h"

namespace ringkeeper {

struct RepairScheduleCaches {
  const kube::Store* clusters = nullptr;
  const kube::Store* repairs = nullptr;
  const kube::Store* services = nullptr;  // a member's Service address reaches its CQL port
};

struct RepairSchedulerOptions {
  absl::Duration schema_every = absl::Minutes(1);  // tables and gc_grace read again after this
  // Between passes when nothing falls due sooner: a new table (no Kubernetes event tells of
  // it) is in the coverage within about two minutes.
  absl::Duration max_wait = absl::Minutes(1);
  absl::Duration busy_poll = absl::Seconds(30);  // while a Repair of the Cluster runs
};

class RepairScheduler : public kube::Reconciler {
 public:
  RepairScheduler(Seams seams, RepairScheduleCaches caches, RepairSchedulerOptions options = {});
  absl::StatusOr<kube::Result> Reconcile(const kube::ObjectKey& key) override;

 private:
  struct Pass;
  // The Cluster's replicated tables with their gc_grace_seconds, read at most every
  // schema_every.
  absl::StatusOr<std::vector<repair::TableCoverage>> Schema(Pass& p);
  // Complete Repairs of every data center, for the coverage.
  std::vector<repair::FinishedRepair> Finished(const Pass& p) const;
  absl::Status RecordCoverage(Pass& p);
  absl::Status Prune(Pass& p, const std::string& schedule, int successful, int failed);
  absl::Status Schedule(Pass& p, const RepairScheduleSpec& s);
  absl::Status Auto(Pass& p);
  absl::Status Create(Pass& p, const std::string& name, const std::string& schedule,
                      kube::Json spec, absl::Time at);

  struct SchemaRead {
    absl::Time at;
    std::vector<repair::TableCoverage> tables;
  };

  Seams seams_;
  RepairScheduleCaches caches_;
  RepairSchedulerOptions options_;
  std::mutex mu_;
  std::map<std::string, SchemaRead> schema_;  // by Cluster uid
  // Cluster uid -> the automatic Repair last created and when: until the cache shows it, no
  // other is (a lagging cache must not start a second one).
  std::map<std::string, std::pair<std::string, absl::Time>> auto_created_;
  OnceWarnings warnings_;
};

}  // namespace ringkeeper
