// The backup scheduler: for each Cluster's spec.backups[], creates a Backup at each time the
// schedule fires, as a CronJob creates Jobs, and applies the schedule's retention. Keyed by
// Cluster; requeued at the next time one of its schedules fires.
//
//   Create   the last time the schedule fired, if no later than startingDeadline ago and its
//            Backup (named after that time: creating it twice is harmless) does not exist yet;
//            skipped (an event) while a Backup of the schedule still runs (concurrency Forbid)
//            or while the schedule is suspended.
//   Retain   complete Backups past retention.count or maxAge (the newest always kept), failed
//            ones past failedBackupsHistoryLimit: each purged — its index first (it is no
//            longer a backup), then every node's manifest, then the object; each step is
//            idempotent, so a purge cut short is finished by the next pass. Never a Backup a
//            running Restore reads.
//   Collect  once something was purged (and hourly), while no Backup of the Cluster runs: the
//            stored data files no remaining manifest lists, older than the grace period, are
//            deleted; and, in the commit log archive's location, the segments a node stored
//            before its oldest kept backup started (less the grace): no point-in-time restore
//            replays them.
//
// A schedule or time zone the operator cannot read is reported (a Warning event) and skipped.
// Threading: as the other reconcilers.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "operator/seams.h"
#include "operator/storage_access.h"

namespace ringkeeper {

struct ScheduleCaches {
  const kube::Store* clusters = nullptr;
  const kube::Store* backups = nullptr;
  const kube::Store* restores = nullptr;
  const kube::Store* pods = nullptr;  // a filesystem location is reached through the members
};

struct BackupSchedulerOptions {
  absl::Duration collect_every = absl::Hours(1);
  absl::Duration max_wait = absl::Minutes(10);  // between passes when nothing fires sooner
};

class BackupScheduler : public kube::Reconciler {
 public:
  BackupScheduler(Seams seams, BackupStorage* storage, ScheduleCaches caches,
                  BackupSchedulerOptions options = {});
  absl::StatusOr<kube::Result> Reconcile(const kube::ObjectKey& key) override;

 private:
  struct Pass;
  absl::Status Schedule(Pass& p, const BackupScheduleSpec& schedule);
  absl::Status Retain(Pass& p, const BackupScheduleSpec& schedule);
  absl::Status Purge(Pass& p, const kube::Object& backup, const std::string& why);
  absl::Status Collect(Pass& p, const StorageLocationSpec& location, absl::Duration grace);

  Seams seams_;
  BackupStorage* storage_;
  ScheduleCaches caches_;
  BackupSchedulerOptions options_;
  StorageAccess access_;
  std::mutex mu_;
  std::map<std::string, absl::Time> collected_;  // "<cluster uid>/<location>" -> last collection
  std::set<std::string> to_collect_;  // "<cluster uid>/<location>" purged since its collection
  OnceWarnings warnings_;
};

}  // namespace ringkeeper
