// Scenarios of the defects a review found (issue "the operator core, made right"), each proven
// here and, where it touches the real cluster, by an e2e scenario.
#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

std::string UpdateRevision(const FakeCluster& world, const std::string& sts) {
  auto o = world.Find(res::kStatefulSets, sts);
  return o ? kube::StringField(o->json()["status"], "updateRevision") : "";
}

bool AllPodsAt(const FakeCluster& world, const std::string& revision) {
  for (const auto& pod : world.List(res::kPods)) {
    if (pod->label("controller-revision-hash") != revision) return false;
  }
  return true;
}

// Defect 3: creation interrupted after some racks' StatefulSets exist.
TEST_F(Scenario, InterruptedCreationStillStartsEveryRackAtOnce) {
  key = world.CreateCluster(ClusterManifest(2, /*racks=*/2));
  world.fail_apply_once.insert("StatefulSet/c-dc1-r2");
  bool failed = false;
  for (int i = 0; i < 5 && world.StatefulSetReplicas("c-dc1-r1") < 0; ++i) failed |= !Pass().ok();
  EXPECT_TRUE(failed);  // r1 exists, r2 does not
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 2);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r2"), -1);
  RestartOperator();
  ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r2"), 2);
  for (const auto& e : world.events) EXPECT_NE(e.reason, reason::kScalingUp) << e.message;
  ExpectQuiet();
}

// Defect 4: a scale-down cancelled mid-decommission (members raised back).
TEST_F(Scenario, CancelledScaleDownEndsWithTheMemberBackAsANewNode) {
  CreateReady(4);
  const std::string old_host = world.Node(PodOf(3))->host_id;
  SetMembers(3);
  ASSERT_TRUE(
      RunUntil([&] { return world.StatusField("operation")["kind"] == "Decommission"; }, 10));
  SetMembers(4);  // the user changes their mind while it streams
  ASSERT_TRUE(RunUntil([&] {
    const FakeNode* n = world.Node(PodOf(3));
    return Ready() && n && n->in_ring && n->host_id != old_host &&
           world.StatusField("cleanup").is_null();
  })) << world.Status().dump(2);
  EXPECT_EQ(world.Ring().size(), 4u);
  EXPECT_TRUE(world.HasEvent(reason::kStaleVolumeDeleted));  // never the data of the one that left
  ExpectQuiet();
}

// Defect 9: Ready only once every pod runs the current template.
TEST_F(Scenario, ReadyWaitsForEveryPodAtTheNewRevision) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"config", {{"concurrent_compactors", 2}}}}}});
  bool ready_while_behind = false;
  ASSERT_TRUE(
      RunUntil([&] { return Ready() && AllPodsAt(world, UpdateRevision(world, "c-dc1-r1")); }, 80,
               [&] {
                 if (!Ready()) return;
                 auto generation = world.Cluster()->generation();
                 const Json c = world.Condition(condition::kReady);
                 ready_while_behind |= c["observedGeneration"] == generation &&
                                       !AllPodsAt(world, UpdateRevision(world, "c-dc1-r1"));
               }));
  EXPECT_FALSE(ready_while_behind);
  ExpectQuiet();
}

// Defect 10: a restart on request (the annotation) rolls every pod.
TEST_F(Scenario, RestartedAtAnnotationRollsEveryPod) {
  CreateReady(3);
  world.PatchCluster(
      {{"metadata",
        {{"annotations", {{"cassandra.rook.io/restartedAt", "2026-12-02T06:00:00Z"}}}}}});
  int most_down = 0;
  ASSERT_TRUE(RunUntil(
      [&] {
        int drained = 0;
        for (const auto& r : world.agent_requests) drained += absl::EndsWith(r, " drain");
        return drained == 3 && Ready();
      },
      80, [&] { most_down = std::max(most_down, NotReadyPods()); }));
  EXPECT_EQ(most_down, 1);
  ExpectQuiet();
}

// Defect 2: a roll that cannot progress (the new pod crash-loops) is reported in Degraded with
// the reason, touches no second pod, and fixing the spec rolls the stuck pod first.
TEST_F(Scenario, StuckRollIsDegradedAndAFixedSpecRollsTheStuckPodFirst) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"config", {{"concurrent_compactors", 99}}}}}});
  ASSERT_TRUE(RunUntil(
      [&] {
        return !UpdateRevision(world, "c-dc1-r1").empty() && world.Cluster()->generation() > 1;
      },
      2));
  world.crash_revision = UpdateRevision(world, "c-dc1-r1");
  ASSERT_TRUE(RunUntil(
      [&] {
        return world.ConditionTrue(condition::kDegraded) &&
               absl::StrContains(
                   world.Condition(condition::kDegraded)["message"].get<std::string>(),
                   "CrashLoopBackOff");
      },
      20))
      << world.Status().dump(2);
  // The pod's container runs between back-offs: the roll stays Degraded through both.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Pass().ok());  // and one Tick: back-off and running take turns
    const Json degraded = world.Condition(condition::kDegraded);
    EXPECT_EQ(degraded["reason"], reason::kPodNotStarting) << degraded.dump();
  }
  int drained = 0;
  for (const auto& r : world.agent_requests) drained += absl::EndsWith(r, " drain");
  EXPECT_EQ(drained, 1);  // no second pod touched while the first is stuck
  // The fix.
  world.PatchCluster({{"spec", {{"config", {{"concurrent_compactors", 2}}}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Ready() && AllPodsAt(world, UpdateRevision(world, "c-dc1-r1")); }, 80))
      << world.Status().dump(2);
  EXPECT_FALSE(world.ConditionTrue(condition::kDegraded));
  ExpectQuiet();
}

// Defect 2: a spec.config key the running Cassandra does not know is refused before any pod
// rolls, named in ConfigRefused; fixing it lets the roll go.
TEST_F(Scenario, UnknownConfigKeyIsRefusedBeforeAnyPodRolls) {
  CreateReady(3);
  const std::string revision = UpdateRevision(world, "c-dc1-r1");
  world.PatchCluster({{"spec", {{"config", {{"concurrent_reads", 8}, {"not_a_key", 1}}}}}});
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kConfigRefused); }, 3));
  const Json c = world.Condition(condition::kConfigRefused);
  EXPECT_EQ(c["reason"], reason::kUnknownConfigKeys);
  EXPECT_TRUE(absl::StrContains(c["message"].get<std::string>(), "not_a_key")) << c["message"];
  EXPECT_FALSE(absl::StrContains(c["message"].get<std::string>(), "concurrent_reads"));
  EXPECT_EQ(world.Condition(condition::kReady)["reason"], reason::kUnknownConfigKeys);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(UpdateRevision(world, "c-dc1-r1"), revision);  // the template did not change
  EXPECT_TRUE(AllPodsAt(world, revision));
  for (const auto& r : world.agent_requests) EXPECT_FALSE(absl::EndsWith(r, " drain")) << r;
  EXPECT_EQ(world.config_key_reads, 1);  // asked once for this version, then cached
  // The fix: the bad key removed, the good one kept: the roll goes.
  world.PatchCluster({{"spec", {{"config", {{"not_a_key", nullptr}}}}}});
  ASSERT_TRUE(RunUntil([&] {
    return Ready() && UpdateRevision(world, "c-dc1-r1") != revision &&
           AllPodsAt(world, UpdateRevision(world, "c-dc1-r1"));
  })) << world.Status().dump(2);
  EXPECT_FALSE(world.ConditionTrue(condition::kConfigRefused));
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
