// Autoscaling (spec.autoscaling): when a data center grows by one member. Its usage is its data
// load (the Load each node reports: its live SSTables) over the storage its members' data
// volumes request; once that stays at or above the threshold for the period, it grows by one,
// up to the maximum, and never shrinks on its own. Judged only in passes where nothing else runs
// (the step, autoscaling_step.cc): the timer restarts after any other change, so a growth is
// always measured on a settled ring, and the normal scale-up (one member at a time, cleanup)
// follows from the members the step writes.
//
// The record of each data center is status.autoscaling.dataCenters[]: {name, storageUsedPercent,
// aboveSince, atMaximum, lastScaleUp}. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "kube/object.h"

namespace ringkeeper {

struct DataCenterUsage {
  std::string dc;
  int members = 0;
  int64_t load_bytes = 0;       // the sum of its members' Load
  int64_t requested_bytes = 0;  // the sum of its members' data volume requests
};

// The storage its members' data volumes request (members × the claim template's request).
int64_t RequestedBytes(const DataCenterSpec& dc);

struct AutoscaleVerdict {
  enum class Action {
    kNone,
    kGrow,       // over the threshold for the period, below the maximum: grow by one
    kAtMaximum,  // the same, at the maximum: said once (Warning) until usage drops
  };
  Action action = Action::kNone;
  kube::Json record;    // the data center's new status entry (lastScaleUp kept from before)
  std::string figures;  // the figures behind a decision, for its event
};

// One data center's verdict in a settled pass at `now`, from its entry of the last pass
// (`previous`, null when none).
AutoscaleVerdict JudgeDataCenter(const AutoscalingSpec& spec, const DataCenterUsage& usage,
                                 const kube::Json& previous, absl::Time now);

// Why spec.autoscaling cannot be followed: its maximum below a data center's size ("" when
// it can).
std::string MaximumRefusal(const AutoscalingSpec& spec, const std::vector<DataCenterSpec>& dcs);

// The rack a growing data center adds its member to: the one with the fewest (the first of
// those), which keeps the racks even.
const RackSpec* RackToGrow(const DataCenterSpec& dc);

// status.autoscaling with every data center's timer stopped (aboveSince, atMaximum erased): a
// pass where something else ran, or that ended early, measured nothing.
kube::Json WithoutTimers(kube::Json autoscaling);

}  // namespace ringkeeper
