// ringkeeper::ClusterMetrics: the per-Cluster gauges of the operator's /metrics,
//   ringkeeper_cluster_members{namespace,cluster,state}  members by state (UN, UJ, DN...)
//   ringkeeper_cluster_ready{namespace,cluster}          1 when the Cluster is Ready
// Set replaces a Cluster's series wholesale (a state no member has any more disappears); Remove
// drops them when the Cluster is deleted, so a deleted Cluster leaves no stale series.
//
// Ownership: holds copies of what it is given. Thread-safety: every method may be called from
// any thread (reconcile workers Set/Remove while the metrics server renders).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "kube/object.h"

namespace ringkeeper {

class ClusterMetrics {
 public:
  // The Cluster `key`'s members by state as the last pass observed them, and its readiness.
  void Set(const kube::ObjectKey& key, std::map<std::string, int> members_by_state, bool ready);
  // Forgets the Cluster `key` (deleted or being deleted). Unknown keys are ignored.
  void Remove(const kube::ObjectKey& key);

  // Both families in the Prometheus text format, HELP and TYPE even with no Cluster.
  std::string RenderPrometheus() const;

 private:
  struct Gauges {
    kube::ObjectKey key;
    std::map<std::string, int> members_by_state;
    bool ready = false;
  };
  mutable std::mutex mu_;
  // By "ns/name" (ObjectKey's defaulted <=> trips clang-tidy's modernize-use-nullptr).
  std::map<std::string, Gauges> clusters_;  // guarded by mu_
};

}  // namespace ringkeeper
