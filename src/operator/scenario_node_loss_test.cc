// Scenarios of members lost with their Kubernetes node (defect 6): a node deleted, or NotReady
// past spec.nodeLoss.notReadyTimeout, with the member's local volume on it. By default the
// member is replaced on another node with the same address; with policy Never it is only
// reported. The fake's volumes are local (pinned to the node they were provisioned on).
#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

void SetNodeLoss(FakeCluster& world, const Json& node_loss) {
  world.PatchCluster({{"spec", {{"nodeLoss", node_loss}}}});
}

bool DegradedNodeLost(const FakeCluster& world) {
  const Json c = world.Condition(condition::kDegraded);
  return world.ConditionTrue(condition::kDegraded) && c["reason"] == reason::kNodeLost;
}

TEST_F(Scenario, MemberOnADeletedNodeIsReplacedElsewhereWithTheSameAddress) {
  CreateReady(3);
  const std::string victim = PodOf(1);
  const std::string lost = world.KubeNodeOf(victim);
  const std::string address = world.Node(victim)->address;
  world.DeleteKubeNode(lost);  // the machine is gone, its local volume with it
  bool reported = false;
  ASSERT_TRUE(RunUntil(
      [&] {
        const FakeNode* n = world.Node(victim);
        return Ready() && n && n->in_ring && world.KubeNodeOf(victim) != lost &&
               !world.KubeNodeOf(victim).empty() && world.StatusField("operation").is_null();
      },
      80, [&] { reported |= DegradedNodeLost(world); }))
      << world.Status().dump(2);
  EXPECT_TRUE(reported);
  EXPECT_TRUE(world.HasEvent(reason::kNodeLost));
  EXPECT_TRUE(world.HasEvent(reason::kReplaced));
  EXPECT_EQ(world.Node(victim)->address, address);  // the sticky IP is its identity
  EXPECT_EQ(world.Ring().size(), 3u);
  ExpectQuiet();
}

TEST_F(Scenario, NodeNotReadyCountsAsLostOnlyAfterTheTimeout) {
  CreateReady(3);
  SetNodeLoss(world, {{"notReadyTimeout", "2m"}});
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 5));
  const std::string victim = PodOf(2);
  const std::string lost = world.KubeNodeOf(victim);
  world.SetKubeNodeReady(lost, false);
  // 1 minute (12 passes of 5 s): down, not yet lost; nothing deleted.
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_FALSE(DegradedNodeLost(world));
  EXPECT_TRUE(world.StatusField("operation").is_null());
  ASSERT_TRUE(RunUntil([&] {
    return Ready() && world.KubeNodeOf(victim) != lost && !world.KubeNodeOf(victim).empty() &&
           world.StatusField("operation").is_null();
  })) << world.Status().dump(2);
  EXPECT_TRUE(world.HasEvent(reason::kNodeLost));
  ExpectQuiet();
}

TEST_F(Scenario, NodeLossPolicyNeverOnlyReports) {
  CreateReady(3);
  SetNodeLoss(world, {{"policy", "Never"}});
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 5));
  const std::string victim = PodOf(0);
  const std::string lost = world.KubeNodeOf(victim);
  world.DeleteKubeNode(lost);
  ASSERT_TRUE(RunUntil([&] { return DegradedNodeLost(world); }, 10)) << world.Status().dump(2);
  EXPECT_TRUE(
      absl::StrContains(world.Condition(condition::kDegraded)["message"].get<std::string>(), lost));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(world.StatusField("operation").is_null());
  EXPECT_FALSE(world.HasEvent(reason::kNodeLost));  // nothing done, nothing announced
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
