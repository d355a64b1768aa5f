// The backups' series of the operator's /metrics, derived at each scrape from the Backup objects
// in the informer's cache (so a restarted operator reports the same):
//   ringkeeper_backup_last_success_timestamp_seconds{namespace,cluster,schedule}
//   ringkeeper_backup_last_success_bytes{namespace,cluster,schedule}      the backup's size
//   ringkeeper_backup_last_success_sent_bytes{namespace,cluster,schedule} what it uploaded
//   ringkeeper_backup_last_success_duration_seconds{namespace,cluster,schedule}
//   ringkeeper_backups{namespace,cluster,schedule,phase}  Backup objects kept, by phase
// `schedule` is the spec.backups[] name of a scheduled Backup, "" for one a user created.
//
// Pure; thread-safe (reads the store).
#pragma once

#include <string>

#include "kube/store.h"

namespace ringkeeper {

std::string RenderBackupMetrics(const kube::Store& backups);

}  // namespace ringkeeper
