#include "operator/scheduled_runs.h"

#include <algorithm>

#include "api/v1alpha1/naming.h"
#include "base/cron.h"

namespace ringkeeper {

absl::StatusOr<ScheduledRun> RunToCreate(const ClusterSpec& cluster, const std::string& schedule,
                                         const std::string& cron, const std::string& time_zone,
                                         absl::Duration starting_deadline, absl::Time now,
                                         const std::vector<kube::ObjectPtr>& mine,
                                         const std::function<bool(const kube::Object&)>& unfinished,
                                         absl::Time* wake) {
  absl::StatusOr<base::DueRun> run = base::RunDueAt(cron, time_zone, now, starting_deadline);
  if (!run.ok()) return run.status();
  if (run->next) *wake = std::min(*wake, *run->next);
  ScheduledRun out;
  if (!run->due) return out;
  out.at = *run->due;
  const std::string name = ScheduledName(cluster, schedule, out.at);
  for (const kube::ObjectPtr& o : mine) {
    if (o->name() == name) return out;  // this run's object exists
  }
  for (const kube::ObjectPtr& o : mine) {
    if (unfinished(*o)) {
      out.running = o;
      return out;
    }
  }
  out.name = name;
  return out;
}

}  // namespace ringkeeper
