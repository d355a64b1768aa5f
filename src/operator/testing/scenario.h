// The scenario harness: a ClusterReconciler over a FakeCluster, driven pass after pass as the
// controller would (each pass is followed by one Tick of the world). Every scenario ends with
// ExpectQuiet(): the next pass writes nothing.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "operator/reconciler.h"
#include "operator/testing/fake_cluster.h"

namespace ringkeeper::testing {

// A Cluster manifest: one DC "dc1" with `racks` racks of `members` each, 1Gi volumes named
// "data", Cassandra 5.0.9.
kube::Json ClusterManifest(int members, int racks = 1);

class Scenario : public ::testing::Test {
 protected:
  Scenario();

  // Creates the Cluster and runs passes until it is Ready (fails the test otherwise).
  void CreateReady(int members, int racks = 1);
  // One pass of the reconciler, then one Tick of the world.
  absl::StatusOr<kube::Result> Pass();
  // Passes until `done` holds after one (at most `max_passes`); whether it did. `each` runs
  // after every pass (invariants that must hold throughout).
  bool RunUntil(const std::function<bool()>& done, int max_passes = 80,
                const std::function<void()>& each = nullptr);
  bool Ready() const { return world.ConditionTrue("Ready"); }
  // A new operator process: the reconciler is rebuilt, nothing in memory survives.
  void RestartOperator();
  // The next pass writes nothing (no apply, create, delete or status write), and no agent was
  // ever reached in a way its pod does not serve (FakeCluster::agent_tls_refusals).
  void ExpectQuiet();
  // Pod name of rack `rack` (r1, r2...) ordinal `i` in dc1.
  static std::string PodOf(int i, const std::string& rack = "r1") {
    return "c-dc1-" + rack + "-" + std::to_string(i);
  }
  void SetMembers(int members, const std::string& rack = "r1");
  int NotReadyPods() const;

  FakeCluster world;
  BackupStorage* backup_storage = nullptr;  // given to the reconciler (spec.restoreFrom)
  ClusterMetrics metrics;                   // what the operator's /metrics would show
  std::unique_ptr<ClusterReconciler> reconciler;
  kube::ObjectKey key;
};

}  // namespace ringkeeper::testing
