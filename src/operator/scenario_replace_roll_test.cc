// Scenarios of replacement (on request, after data loss) and of the rolling restart.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

std::string Uid(const FakeCluster& world, const kube::Resource& r, const std::string& name) {
  auto o = world.Find(r, name);
  return o ? o->uid() : "";
}

TEST_F(Scenario, ReplaceOnRequestKeepsTheAddressAndStreamsBack) {
  CreateReady(3);
  const std::string address = world.Node(PodOf(1))->address;
  const std::string host = world.Node(PodOf(1))->host_id;
  const std::string pvc = Uid(world, res::kPersistentVolumeClaims, "data-" + PodOf(1));
  world.UserLabelPod(PodOf(1), "cassandra.rook.io/replace", "true");
  ASSERT_TRUE(RunUntil([&] { return world.HasEvent(reason::kReplaced) && Ready(); }));
  EXPECT_NE(Uid(world, res::kPersistentVolumeClaims, "data-" + PodOf(1)), pvc);  // new volume
  EXPECT_EQ(world.Node(PodOf(1))->address, address);                             // same sticky IP
  EXPECT_EQ(world.Node(PodOf(1))->host_id, host);  // replaced itself, not a new node
  EXPECT_TRUE(world.StatusField("operation").is_null());
  // In a DC of three every member is the others' seed: no peer's seeds had to change.
  EXPECT_TRUE(world.seed_changes.empty()) << absl::StrJoin(world.seed_changes, "\n");
  // /metrics counted the replacement once, with its time, and shows no operation under way.
  const std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_operation_duration_seconds_count{namespace=\"ns\",cluster=\"c\","
      "kind=\"Replace\"} 1\n"))
      << text;
  EXPECT_FALSE(absl::StrContains(text, "ringkeeper_cluster_operation_started_timestamp_seconds{"));
  EXPECT_TRUE(absl::StrContains(
      text, "ringkeeper_cluster_phase{namespace=\"ns\",cluster=\"c\",phase=\"AllMembersUp\"} 1"));
  ExpectQuiet();
}

// The fourth member of a DC is no one's seed (seeds are a DC's first three). Replacing its own
// address it announces a state peers never gossip to unless they list it as a seed, and never
// joins without their gossip (the fake, like Cassandra, leaves it joining): so its peers list
// it while it replaces, and get their own seeds back once it is UN.
TEST_F(Scenario, ReplacementOfAMemberNoPeerListsAsASeedIsListedWhileItReplaces) {
  CreateReady(4);
  const std::string address = world.Node(PodOf(3))->address;
  for (int i = 0; i < 3; ++i) {
    const auto& seeds = world.SettingsOf(PodOf(i)).seeds;
    ASSERT_EQ(std::count(seeds.begin(), seeds.end(), address), 0) << PodOf(i);
  }
  world.UserLabelPod(PodOf(3), "cassandra.rook.io/replace", "true");
  ASSERT_TRUE(RunUntil([&] { return world.HasEvent(reason::kReplaced) && Ready(); }));
  EXPECT_TRUE(world.StatusField("operation").is_null());
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::string> own = world.SettingsOf(PodOf(i)).seeds;
    const std::string listed = PodOf(i) + ": " + absl::StrJoin(own, ",") + "," + address;
    const std::string back = PodOf(i) + ": " + absl::StrJoin(own, ",");
    // Told on every pass while it replaced (idempotent), once back after.
    std::vector<std::string> told;
    for (const std::string& change : world.seed_changes) {
      if (absl::StartsWith(change, PodOf(i) + ": ") && (told.empty() || told.back() != change)) {
        told.push_back(change);
      }
    }
    EXPECT_EQ(told, (std::vector<std::string>{listed, back})) << PodOf(i);
    EXPECT_EQ(world.Node(PodOf(i))->seeds, own) << PodOf(i);
  }
  ExpectQuiet();
}

TEST_F(Scenario, LostVolumeIsReplacedAutomatically) {
  CreateReady(3);
  const std::string host = world.Node(PodOf(2))->host_id;
  world.UserDelete(res::kPersistentVolumeClaims, "data-" + PodOf(2));
  world.UserDelete(res::kPods, PodOf(2));
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  EXPECT_EQ(world.Node(PodOf(2))->host_id, host);
  EXPECT_EQ(world.Ring().size(), 3u);  // no second node for the same member
  ExpectQuiet();
}

TEST_F(Scenario, ReplacementOfANeverJoinedMemberIsRefused) {
  key = world.CreateCluster(ClusterManifest(1));
  ASSERT_TRUE(RunUntil([&] { return world.Find(res::kPods, PodOf(0)) != nullptr; }, 3));
  world.never_up.insert(PodOf(0));
  world.UserLabelPod(PodOf(0), "cassandra.rook.io/replace", "true");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(world.StatusField("operation").is_null());
  EXPECT_TRUE(world.HasEvent(reason::kReplacing));  // a Warning saying why
}

TEST_F(Scenario, ConfigChangeRollsOnePodAtATimeDrainingFirst) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"config", {{"concurrent_compactors", 2}}}}}});
  int most_down = 0;
  ASSERT_TRUE(RunUntil(
      [&] {
        int rolled = 0;
        for (int i = 0; i < 3; ++i) {
          for (const auto& r : world.agent_requests) rolled += r == PodOf(i) + " drain";
        }
        return rolled == 3 && Ready();
      },
      80, [&] { most_down = std::max(most_down, NotReadyPods()); }));
  EXPECT_EQ(most_down, 1);
  EXPECT_TRUE(world.HasEvent(reason::kRestartingPod));
  ExpectQuiet();
}

TEST_F(Scenario, RollDrainsTheNextPodOnlyOnceEveryPodHasBeenReadyTenSeconds) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"config", {{"concurrent_compactors", 2}}}}}});
  auto drained = [&](int i) {
    for (const auto& r : world.agent_requests) {
      if (r == PodOf(i) + " drain") return true;
    }
    return false;
  };
  ASSERT_TRUE(RunUntil([&] { return drained(2); }));
  ASSERT_TRUE(RunUntil([&] { return NotReadyPods() == 0; }));
  const absl::Time back = world.Now();  // the restarted pod Ready again
  ASSERT_TRUE(RunUntil([&] { return drained(1); }));
  // Clients reconnect to the restarted node before the next one goes.
  EXPECT_GE(world.Now() - back, absl::Seconds(10));
}

TEST_F(Scenario, NewOperatorProcessFinishesAnInterruptedReplacement) {
  CreateReady(3);
  world.UserLabelPod(PodOf(0), "cassandra.rook.io/replace", "true");
  ASSERT_TRUE(RunUntil([&] { return world.StatusField("operation")["phase"] == "Replacing"; }, 5));
  RestartOperator();
  ASSERT_TRUE(RunUntil([&] { return world.HasEvent(reason::kReplaced) && Ready(); }));
  ExpectQuiet();
}

// A Cluster an operator made before the agents spoke TLS: its Secret holds the token only, its
// pods' template has no TLS. The new operator adds the CA and certificates to the Secret (the
// token kept: the running agents read it), then rolls the pods one at a time, draining each
// through its agent in plain HTTP; each restarted pod is spoken to in mutual TLS.
TEST_F(Scenario, AClusterFromBeforeAgentTlsMovesToItPodByPodKeepingItsToken) {
  CreateReady(3);
  auto secret = world.Find(res::kSecrets, "c-agent-token");
  ASSERT_TRUE(secret);
  const std::string token = AgentCredentialsOf(secret->json()).token;
  // What the older operator left: the token alone, pods of another revision without the
  // annotation (the fake's agents then serve plain HTTP).
  Json older = secret->json();
  older["data"] = {{"token", older["data"]["token"]}};
  ASSERT_TRUE(world.Apply(res::kSecrets, older).ok());
  for (int i = 0; i < 3; ++i) {
    Json pod = world.Find(res::kPods, PodOf(i))->json();
    pod["metadata"]["annotations"].erase(kAnnotationAgentTls);
    pod["metadata"]["labels"]["controller-revision-hash"] = "c-dc1-r1-older";
    ASSERT_TRUE(world.Apply(res::kPods, pod).ok());
  }
  RestartOperator();
  const size_t drains_before = world.agent_requests.size();

  int most_down = 0;
  ASSERT_TRUE(RunUntil(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (!ServesAgentTls(world.Find(res::kPods, PodOf(i)).get())) return false;
        }
        return Ready();
      },
      80, [&] { most_down = std::max(most_down, NotReadyPods()); }));
  EXPECT_EQ(most_down, 1);
  EXPECT_TRUE(world.HasEvent(reason::kAgentTlsAdded));
  const AgentCredentials now =
      AgentCredentialsOf(world.Find(res::kSecrets, "c-agent-token")->json());
  EXPECT_EQ(now.token, token);
  EXPECT_NE(now.ca_pem, "");
  int drains = 0;
  for (size_t i = drains_before; i < world.agent_requests.size(); ++i) {
    drains += absl::EndsWith(world.agent_requests[i], " drain");
  }
  EXPECT_EQ(drains, 3);  // each older pod drained (in plain HTTP) before its restart
  ExpectQuiet();         // and no agent reached in a way its pod does not serve
}

}  // namespace
}  // namespace ringkeeper::testing
