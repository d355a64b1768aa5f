// Autoscaling (spec.autoscaling): when a data center grows by one member. Its usage is its data
// load (the Load each node reports: its live SSTables) over the storage its members' data
// volumes request and, when spec.autoscaling.cpuUsedPercent is set, the CPU its Cassandra
// processes use over the CPU its members request; once either stays at or above its threshold
// for the period, it grows by one, up to the maximum, and never shrinks on its own. Judged only
// in passes where nothing else runs (the step, autoscaling_step.cc): the timers restart after
// any other change, so a growth is always measured on a settled ring, and the normal scale-up
// (one member at a time, cleanup) follows from the members the step writes.
//
// The record of each data center is status.autoscaling.dataCenters[]: {name, storageUsedPercent,
// aboveSince, cpuAboveSince, atMaximum, lastScaleUp}. Pure and thread-safe, but for CpuRates,
// which keeps readings (and is thread-safe too).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
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
  // The cores its members' Cassandra processes used (CpuRates), known once every member has a
  // rate: while one has none yet (its first reading), the CPU timer neither starts nor stops.
  bool cpu_known = false;
  double cpu_cores_used = 0;
  double cpu_cores_requested = 0;  // RequestedCores
};

// The storage its members' data volumes request (members × the claim template's request).
int64_t RequestedBytes(const DataCenterSpec& dc);

// A CPU quantity in cores ("250m" 0.25, "2" 2, "1.5" 1.5); 0 when it is not one.
double ParseCpuCores(const std::string& quantity);
// The CPU its members request: members × the rack's resources.requests.cpu (else its
// limits.cpu, which Kubernetes then requests); 0 when a rack sets neither (not judged on CPU).
double RequestedCores(const DataCenterSpec& dc);

// Each pod's CPU use in cores, from two readings of its Cassandra process's CPU time (the
// agent's NodeInfo.process_cpu_nanos) at least `min_interval` apart: the rate between the last
// two such readings. Kept in memory (a new operator needs two readings again); a process whose
// time went back (restarted in the same pod) starts over. Readings not renewed for `forget_after`
// are dropped.
class CpuRates {
 public:
  explicit CpuRates(absl::Duration min_interval = absl::Seconds(10),
                    absl::Duration forget_after = absl::Minutes(30))
      : min_interval_(min_interval), forget_after_(forget_after) {}

  // Takes a reading of `pod_uid` at `now`; its rate, nullopt until two readings made one.
  std::optional<double> Observe(const std::string& pod_uid, int64_t cpu_nanos, absl::Time now);

 private:
  struct Reading {
    int64_t nanos = 0;
    absl::Time at;
    std::optional<double> cores;  // between the reading before and this one
  };
  const absl::Duration min_interval_;
  const absl::Duration forget_after_;
  std::mutex mu_;
  std::map<std::string, Reading> readings_;  // by pod uid
  absl::Time last_sweep_ = absl::InfinitePast();
};

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
