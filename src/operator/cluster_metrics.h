// ringkeeper::ClusterMetrics: the per-Cluster series of the operator's /metrics,
//   ringkeeper_cluster_members{namespace,cluster,state}       members by state (UN, UJ, DN...)
//   ringkeeper_cluster_ready{namespace,cluster}               1 when the Cluster is Ready
//   ringkeeper_cluster_phase{namespace,cluster,phase}         1 for the Ready condition's reason
//                                                             (AllMembersUp, Scaling, Replacing...)
//   ringkeeper_cluster_condition{namespace,cluster,type,status}  1 for each condition's status,
//                                                             0 for the other two (as
//                                                             kube-state-metrics writes them)
//   ringkeeper_cluster_operation_started_timestamp_seconds{namespace,cluster,kind,phase,pod}
//                                                             the operation under way, if any
//   ringkeeper_operation_duration_seconds{namespace,cluster,kind}  summary of the finished ones
// Set replaces a Cluster's gauges wholesale (a state no member has any more disappears); Remove
// drops everything of a Cluster when it is deleted, so a deleted Cluster leaves no stale series.
//
// Ownership: holds copies of what it is given. Thread-safety: every method may be called from
// any thread (reconcile workers Set/Remove while the metrics server renders).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kube/object.h"

namespace ringkeeper {

// What the last pass observed of one Cluster.
struct ClusterGauges {
  std::map<std::string, int> members_by_state;
  bool ready = false;
  std::string phase;                              // the Ready condition's reason
  std::map<std::string, std::string> conditions;  // type -> "True" | "False" | "Unknown"
  struct Operation {
    std::string kind, phase, pod;
    double started = 0;  // Unix seconds
  };
  std::optional<Operation> operation;
};

class ClusterMetrics {
 public:
  void Set(const kube::ObjectKey& key, ClusterGauges gauges);
  // An operation of the Cluster `key` finished (or was given up) after `seconds`.
  void OperationDone(const kube::ObjectKey& key, const std::string& kind, double seconds);
  // Forgets the Cluster `key` (deleted or being deleted). Unknown keys are ignored.
  void Remove(const kube::ObjectKey& key);

  // Every family in the Prometheus text format, HELP and TYPE even with no Cluster.
  std::string RenderPrometheus() const;

 private:
  struct Durations {
    double sum = 0;
    int64_t count = 0;
  };
  struct Cluster {
    kube::ObjectKey key;
    ClusterGauges gauges;
    std::map<std::string, Durations> operations;  // by kind
  };
  mutable std::mutex mu_;
  // By "ns/name" (ObjectKey's defaulted <=> trips clang-tidy's modernize-use-nullptr).
  std::map<std::string, Cluster> clusters_;  // guarded by mu_
};

}  // namespace ringkeeper
