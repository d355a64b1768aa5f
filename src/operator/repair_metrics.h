// The repairs' series of the operator's /metrics, derived at each scrape from the Repair objects
// in the informer's cache (so a restarted operator reports the same):
//   ringkeeper_repair_segments{namespace,cluster,repair,state}  total | done | running | retrying
//   ringkeeper_repair_postponed_total{namespace,cluster,repair,reason}  passes whose next segment
//                                                                       was held back
//   ringkeeper_repair_segment_seconds_total{namespace,cluster,repair}   time in finished segments
//   ringkeeper_repair_preview_mismatching_ranges{namespace,cluster,repair}  a preview's findings
//   ringkeeper_repairs{namespace,cluster,phase}   Repair objects kept, by phase (Failed: failures)
// and from the Clusters' status.repairCoverage (which outlives the Repairs' history limits):
//   ringkeeper_repair_table_last_success_timestamp_seconds{namespace,cluster,keyspace,table}
//       when the table was last repaired in full; 0 when never (as far as recorded)
//   ringkeeper_repair_table_gc_grace_seconds{namespace,cluster,keyspace,table}
//       so that "time() - last > gc_grace" is the overdue alert
//   ringkeeper_repair_last_success_timestamp_seconds{namespace,cluster,keyspace}  the oldest of
//       its tables': when every one of them was last repaired
//
// Pure; thread-safe (reads the store).
#pragma once

#include <string>

#include "kube/store.h"

namespace ringkeeper {

std::string RenderRepairMetrics(const kube::Store& repairs, const kube::Store& clusters);

}  // namespace ringkeeper
