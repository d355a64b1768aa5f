// Scenarios of scaling: one member at a time up (then cleanup), down by decommission only when
// safe (replication factor, every node UN, disk room), resumed by a new operator process.
#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

// Members the status lists (a removed member's entry goes once its pod is gone).
size_t Listed(const FakeCluster& world) {
  const Json dcs = world.StatusField("dataCenters");
  return dcs.is_array() && !dcs.empty() ? dcs[0]["members"].size() : 0;
}

int Joining(const FakeCluster& world) {
  int n = 0;
  for (const FakeNode* node : world.Ring()) n += node->state == "J";
  return n;
}

bool Requested(const FakeCluster& world, const std::string& what) {
  for (const auto& r : world.agent_requests) {
    if (r == what) return true;
  }
  return false;
}

TEST_F(Scenario, ScaleUpAddsOneMemberAtATimeThenCleansUp) {
  CreateReady(3);
  SetMembers(5);
  int most_joining = 0;
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }, 80,
                       [&] { most_joining = std::max(most_joining, Joining(world)); }));
  EXPECT_EQ(most_joining, 1);  // never two bootstrapping at once
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 5);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Requested(world, PodOf(i) + " cleanup")) << i;
  // Each member's share of the ring, as the agents' ring reports it, in nodetool's words.
  const Json dcs = world.StatusField("dataCenters");
  for (const Json& member : dcs[0]["members"]) {
    EXPECT_EQ(member.value("owns", ""), "20.0%") << member.dump();
  }
  EXPECT_TRUE(world.HasEvent(reason::kScalingUp));
  ExpectQuiet();
}

TEST_F(Scenario, ScaleDownBelowReplicationFactorIsRefusedAndTouchesNothing) {
  CreateReady(3);
  world.keyspaces["shop"] = {{"class", "NetworkTopologyStrategy"}, {"dc1", "3"}};
  SetMembers(2);
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kScaleDownRefused); }, 5));
  const Json c = world.Condition(condition::kScaleDownRefused);
  EXPECT_EQ(c["reason"], reason::kReplicationFactor);
  EXPECT_TRUE(absl::StrContains(c["message"].get<std::string>(), "keyspace shop")) << c["message"];
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  EXPECT_FALSE(Requested(world, PodOf(2) + " decommission"));
  int refusals = 0;
  for (const auto& e : world.events) refusals += e.reason == reason::kScaleDownRefused;
  EXPECT_EQ(refusals, 1);  // one event per refusal, not one per pass
  ExpectQuiet();
}

TEST_F(Scenario, ScaleDownDecommissionsTheHighestOrdinalThenShrinks) {
  CreateReady(4);
  world.keyspaces["shop"] = {{"class", "NetworkTopologyStrategy"}, {"dc1", "3"}};
  SetMembers(3);
  bool shrank_before_left = false;
  ASSERT_TRUE(RunUntil([&] { return Ready() && Listed(world) == 3; }, 40,
                       [&] {
                         const FakeNode* n = world.Node(PodOf(3));
                         shrank_before_left |=
                             world.StatefulSetReplicas("c-dc1-r1") == 3 && n && n->in_ring;
                       }));
  EXPECT_FALSE(shrank_before_left);
  EXPECT_TRUE(Requested(world, PodOf(3) + " decommission"));
  EXPECT_EQ(world.Find(res::kServices, PodOf(3)), nullptr);
  EXPECT_TRUE(world.HasEvent(reason::kDecommissioned));
  ExpectQuiet();
}

TEST_F(Scenario, ScaleDownWaitsWhileANodeIsDown) {
  CreateReady(4);
  world.never_up.insert(PodOf(1));
  world.UserDelete(res::kPods, PodOf(1));
  SetMembers(3);
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kScaleDownRefused); }, 10));
  EXPECT_EQ(world.Condition(condition::kScaleDownRefused)["reason"], reason::kNodesNotUp);
  EXPECT_FALSE(Requested(world, PodOf(3) + " decommission"));
  // The node comes back: the scale-down proceeds by itself.
  world.never_up.clear();
  ASSERT_TRUE(RunUntil([&] { return Ready() && Listed(world) == 3; }));
  ExpectQuiet();
}

TEST_F(Scenario, ScaleDownRefusedWithoutDiskRoomOnTheRemainingNodes) {
  CreateReady(4);
  for (int i = 0; i < 4; ++i) {
    FakeNode* n = world.Node(PodOf(i));
    n->load_bytes = int64_t{600} << 20;
    n->volume_used_bytes = int64_t{800} << 20;  // of 1 GiB: a third of 600 MiB more is > 90%
  }
  SetMembers(3);
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kScaleDownRefused); }, 5));
  EXPECT_EQ(world.Condition(condition::kScaleDownRefused)["reason"], reason::kDiskSpace);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 4);
  ExpectQuiet();
}

// Defect 5: the leaving node's data lands on its own rack's peers, not spread over the DC.
TEST_F(Scenario, ScaleDownCountsTheLeavingDataOnItsRackPeers) {
  CreateReady(3, /*racks=*/2);
  world.Node(PodOf(2, "r1"))->load_bytes = int64_t{400} << 20;
  for (int i = 0; i < 2; ++i) {
    // 750 MiB + 400/2 is over 90% of 1 GiB; + 400/5 (spread over the DC) would not be.
    world.Node(PodOf(i, "r1"))->volume_used_bytes = int64_t{750} << 20;
  }
  SetMembers(2, "r1");
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kScaleDownRefused); }, 5));
  const Json c = world.Condition(condition::kScaleDownRefused);
  EXPECT_EQ(c["reason"], reason::kDiskSpace);
  EXPECT_TRUE(absl::StrContains(c["message"].get<std::string>(), "same rack")) << c["message"];
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  ExpectQuiet();
}

// Defect 5: a receiver whose disk size is unknown refuses the scale-down; never a guess.
TEST_F(Scenario, ScaleDownRefusedWhenAReceiversDiskIsUnknown) {
  CreateReady(4);
  world.Node(PodOf(1))->volume_total_bytes = 0;  // not measured
  SetMembers(3);
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kScaleDownRefused); }, 5));
  EXPECT_EQ(world.Condition(condition::kScaleDownRefused)["reason"], reason::kDiskUnknown);
  EXPECT_FALSE(Requested(world, PodOf(3) + " decommission"));
  ExpectQuiet();
}

// Defect 5: a DC shrinking below 3 lowers its system keyspaces' factor first (no user keyspace
// needs 3), then decommissions.
TEST_F(Scenario, ScaleDownBelowThreeLowersTheSystemKeyspacesFirst) {
  CreateReady(3);
  ASSERT_EQ(world.keyspaces["system_auth"].value("dc1", ""), "3");
  SetMembers(2);
  ASSERT_TRUE(RunUntil([&] { return Ready() && Listed(world) == 2; })) << world.Status().dump(2);
  for (const char* ks : {"system_auth", "system_distributed", "system_traces"}) {
    EXPECT_EQ(world.keyspaces[ks].value("dc1", ""), "2") << ks;
  }
  EXPECT_FALSE(world.ConditionTrue(condition::kScaleDownRefused));
  EXPECT_EQ(world.StatusField("systemReplication")["dc1"], 2);
  ExpectQuiet();
}

TEST_F(Scenario, NewOperatorProcessFinishesAnInterruptedDecommission) {
  CreateReady(4);
  SetMembers(3);
  ASSERT_TRUE(RunUntil([&] { return Requested(world, PodOf(3) + " decommission"); }, 10));
  EXPECT_EQ(world.StatusField("operation")["kind"], "Decommission");
  RestartOperator();  // SIGKILL: nothing in memory survives, the record is in status
  ASSERT_TRUE(RunUntil([&] { return Ready() && Listed(world) == 3; }));
  int decommissions = 0;
  for (const auto& r : world.agent_requests) decommissions += absl::StrContains(r, "decommission");
  EXPECT_EQ(decommissions, 1);  // polled, never started twice
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
