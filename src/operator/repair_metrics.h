// The repairs' series of the operator's /metrics, derived at each scrape from the Repair objects
// in the informer's cache (so a restarted operator reports the same):
//   ringkeeper_repair_segments{namespace,cluster,repair,state}  total | done | running | retrying
//   ringkeeper_repair_postponed_total{namespace,cluster,repair,reason}  passes whose next segment
//                                                                       was held back
//   ringkeeper_repair_segment_seconds_total{namespace,cluster,repair}   time in finished segments
//   ringkeeper_repair_preview_mismatching_ranges{namespace,cluster,repair}  a preview's findings
//   ringkeeper_repair_last_success_timestamp_seconds{namespace,cluster,keyspace}  the last
//                                                  Complete full or incremental Repair of it
//   ringkeeper_repairs{namespace,cluster,phase}   Repair objects kept, by phase
//
// Pure; thread-safe (reads the store).
#pragma once

#include <string>

#include "kube/store.h"

namespace ringkeeper {

std::string RenderRepairMetrics(const kube::Store& repairs);

}  // namespace ringkeeper
