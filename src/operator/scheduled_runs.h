// What a schedule of spec.backups[] or spec.repairs[] asks at `now`, as a CronJob's controller
// decides it: the run due (the last time the cron fired, no longer ago than the starting
// deadline), the object it creates (named after the run: creating it twice is harmless), unless
// it exists already or the schedule's previous object still runs (concurrency Forbid: the run
// waits, and is skipped once past its deadline). Shared by the backup and repair schedulers.
// Pure; thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "kube/store.h"

namespace ringkeeper {

struct ScheduledRun {
  std::string name;         // the object to create; "" when there is nothing to create
  absl::Time at;            // the run's time (when `name` is set or `running` holds it back)
  kube::ObjectPtr running;  // the schedule's unfinished object holding the run back, or null
};

// `mine`: the schedule's objects; `unfinished`: whether one still runs. `wake` is lowered to the
// schedule's next time. InvalidArgument "schedule: ..." or "timeZone: ..." (base::RunDueAt).
absl::StatusOr<ScheduledRun> RunToCreate(const ClusterSpec& cluster, const std::string& schedule,
                                         const std::string& cron, const std::string& time_zone,
                                         absl::Duration starting_deadline, absl::Time now,
                                         const std::vector<kube::ObjectPtr>& mine,
                                         const std::function<bool(const kube::Object&)>& unfinished,
                                         absl::Time* wake);

}  // namespace ringkeeper
