// Scenarios of several data centers: created together (all members at once, tokens apart, seeds
// and system keyspaces across them), and a data center added to a running cluster, which joins
// without streaming and then rebuilds from another, one member at a time (data_center_join.h),
// through refusals and operator restarts.
#include <set>

#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/data_center_join.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

const char kNts[] = "org.apache.cassandra.locator.NetworkTopologyStrategy";

Json Dc(const std::string& name, int members) {
  Json dc = ClusterManifest(members)["spec"]["dataCenter"];
  dc["name"] = name;
  return dc;
}

// The scenario manifest with spec.dataCenters.
Json Manifest(const Json& dcs) {
  Json m = ClusterManifest(1);
  m["spec"].erase("dataCenter");
  m["spec"]["dataCenters"] = dcs;
  return m;
}

// A keyspace's replication map without its class: {dc: factor}.
Json Factors(Json replication) {
  EXPECT_TRUE(absl::EndsWith(replication.value("class", ""), "NetworkTopologyStrategy"))
      << replication;
  replication.erase("class");
  return replication;
}

std::string Pod(const std::string& dc, int i) { return "c-" + dc + "-r1-" + std::to_string(i); }

int Rebuilding(FakeCluster& world) {
  int n = 0;
  for (const FakeNode* node : world.Ring()) {
    for (const auto& r : world.agent_requests) n += r == node->pod + " rebuild";
  }
  return n;
}

class DataCenters : public Scenario {
 protected:
  void CreateReadyWith(const Json& dcs) {
    key = world.CreateCluster(Manifest(dcs));
    ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
  }
  void AddDc(Json dc) {
    Json dcs = world.Cluster()->json()["spec"]["dataCenters"];
    dcs.push_back(std::move(dc));
    world.PatchCluster({{"spec", {{"dataCenters", dcs}}}});
  }
  bool Joined() { return Ready() && world.StatusField("dataCenterJoin").is_null(); }
  // Rebuild operations started and not finished, across the cluster, at this moment.
  int RebuildsRunning() {
    int n = 0;
    for (const FakeNode* node : world.Ring()) {
      auto it = std::find(world.agent_requests.begin(), world.agent_requests.end(),
                          node->pod + " rebuild");
      n += it != world.agent_requests.end() && node->rebuilt_from.empty();
    }
    return n;
  }
};

TEST_F(DataCenters, TwoCreatedTogetherStartAtOnceOnTokensApartWithSeedsFromBoth) {
  key = world.CreateCluster(Manifest(Json::array({Dc("dc1", 2), Dc("dc2", 2)})));
  int most_starting = 0;
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 80,
                       [&] { most_starting = std::max(most_starting, NotReadyPods()); }))
      << world.Status().dump(2);
  EXPECT_EQ(most_starting, 4);  // all four at once, not one at a time
  std::set<std::string> tokens, seeds;
  for (const std::string dc : {"dc1", "dc2"}) {
    for (int i = 0; i < 2; ++i) {
      const auto s = world.SettingsOf(Pod(dc, i));
      EXPECT_FALSE(s.auto_bootstrap) << Pod(dc, i);
      EXPECT_EQ(s.initial_tokens.size(), 16u);
      for (const auto& t : s.initial_tokens) EXPECT_TRUE(tokens.insert(t).second) << t;
      seeds.insert(s.seeds.begin(), s.seeds.end());
    }
  }
  std::set<std::string> seed_dcs;
  ASSERT_EQ(world.Ring().size(), 4u);
  for (const FakeNode* n : world.Ring()) {
    if (seeds.count(n->address)) seed_dcs.insert(n->dc);
  }
  EXPECT_EQ(seed_dcs, (std::set<std::string>{"dc1", "dc2"}));
  EXPECT_EQ(Factors(world.keyspaces["system_auth"]), (Json{{"dc1", "2"}, {"dc2", "2"}}));
  EXPECT_FALSE(world.HasEvent(reason::kDataCenterJoining));
  EXPECT_TRUE(world.StatusField("dataCenterJoin").is_null());
  ExpectQuiet();
}

TEST_F(DataCenters, AnAddedOneJoinsWithoutStreamingThenRebuildsOneMemberAtATime) {
  CreateReadyWith(Json::array({Dc("dc1", 3)}));
  world.keyspaces["shop"] = {{"class", kNts}, {"dc1", "3"}};
  Json dc2 = Dc("dc2", 2);
  dc2["replicateUserKeyspaces"] = 3;  // more than its size: it gets 2
  AddDc(dc2);
  int most_rebuilding = 0, joining_state = 0;
  std::set<std::string> phases;
  bool rebuilt_before_replicated = false;
  ASSERT_TRUE(RunUntil([&] { return Joined(); }, 80,
                       [&] {
                         most_rebuilding = std::max(most_rebuilding, RebuildsRunning());
                         for (const FakeNode* n : world.Ring()) joining_state += n->state == "J";
                         const Json join = world.StatusField("dataCenterJoin");
                         if (join.is_object()) phases.insert(join.value("phase", ""));
                         rebuilt_before_replicated |=
                             Rebuilding(world) > 0 && !world.keyspaces["shop"].contains("dc2");
                       }))
      << world.Status().dump(2);
  EXPECT_EQ(joining_state, 0);  // none bootstrapped: nothing to stream before it replicates
  // Replicating lasts one pass here (the operator alters the keyspace at once).
  EXPECT_TRUE(phases.count(join_phase::kStarting) && phases.count(join_phase::kRebuilding));
  EXPECT_EQ(world.StatefulSetReplicas("c-dc2-r1"), 2);
  for (int i = 0; i < 2; ++i) {
    const auto s = world.SettingsOf(Pod("dc2", i));
    EXPECT_FALSE(s.auto_bootstrap);
    EXPECT_EQ(s.initial_tokens.size(), 16u);
    EXPECT_EQ(world.Node(Pod("dc2", i))->rebuilt_from, "dc1");
  }
  // Tokens apart from dc1's.
  std::set<std::string> dc1_tokens;
  for (int i = 0; i < 3; ++i) {
    for (const auto& t : world.SettingsOf(Pod("dc1", i)).initial_tokens) dc1_tokens.insert(t);
  }
  for (int i = 0; i < 2; ++i) {
    for (const auto& t : world.SettingsOf(Pod("dc2", i)).initial_tokens) {
      EXPECT_EQ(dc1_tokens.count(t), 0u) << t;
    }
  }
  EXPECT_EQ(most_rebuilding, 1);
  EXPECT_FALSE(rebuilt_before_replicated);
  EXPECT_EQ(Factors(world.keyspaces["shop"]), (Json{{"dc1", "3"}, {"dc2", "2"}}));
  EXPECT_EQ(Factors(world.keyspaces["system_auth"]), (Json{{"dc1", "3"}, {"dc2", "2"}}));
  // Nobody in dc1 rebuilt or cleaned up: dc1 gave no ranges away within its data center.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(world.Node(Pod("dc1", i))->rebuilt_from.empty());
  EXPECT_TRUE(world.HasEvent(reason::kDataCenterJoining));
  EXPECT_TRUE(world.HasEvent(reason::kReplicateUserKeyspaces));
  EXPECT_TRUE(world.HasEvent(reason::kDataCenterJoined));
  ExpectQuiet();
}

TEST_F(DataCenters, WithoutReplicateUserKeyspacesTheJoinWaitsForTheUserToAlter) {
  CreateReadyWith(Json::array({Dc("dc1", 1)}));
  world.keyspaces["shop"] = {{"class", kNts}, {"dc1", "1"}};
  AddDc(Dc("dc2", 1));
  ASSERT_TRUE(RunUntil([&] {
    return world.StatusField("dataCenterJoin").value("phase", "") == join_phase::kReplicating &&
           world.ConditionTrue(condition::kProgressing);
  }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Rebuilding(world), 0);  // nothing replicates there yet: nothing to rebuild
  const Json progressing = world.Condition(condition::kProgressing);
  EXPECT_EQ(progressing["reason"], reason::kDataCenterJoining);
  EXPECT_TRUE(absl::StrContains(progressing["message"].get<std::string>(), "ALTER KEYSPACE"))
      << progressing;
  EXPECT_TRUE(world.ConditionTrue(condition::kReady));  // its members serve; nothing is wrong
  // The user alters the keyspace: the rebuild follows.
  world.keyspaces["shop"] = {{"class", kNts}, {"dc1", "1"}, {"dc2", "1"}};
  ASSERT_TRUE(RunUntil([&] { return Joined(); })) << world.Status().dump(2);
  EXPECT_EQ(world.Node(Pod("dc2", 0))->rebuilt_from, "dc1");
  EXPECT_FALSE(world.HasEvent(reason::kReplicateUserKeyspaces));
  ExpectQuiet();
}

TEST_F(DataCenters, ASimpleStrategyKeyspaceRefusesTheJoinAndNothingStarts) {
  CreateReadyWith(Json::array({Dc("dc1", 1)}));
  world.keyspaces["legacy"] = {{"class", "org.apache.cassandra.locator.SimpleStrategy"},
                               {"replication_factor", "1"}};
  AddDc(Dc("dc2", 1));
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kDataCenterChangeRefused); }));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Pass().ok());
  const Json c = world.Condition(condition::kDataCenterChangeRefused);
  EXPECT_EQ(c["reason"], reason::kSimpleStrategyKeyspace);
  EXPECT_TRUE(absl::StrContains(c["message"].get<std::string>(), "keyspace legacy")) << c;
  EXPECT_EQ(world.StatefulSetReplicas("c-dc2-r1"), 0);
  EXPECT_EQ(world.Node(Pod("dc2", 0)), nullptr);
  EXPECT_TRUE(world.StatusField("dataCenterJoin").is_null());
  int refusals = 0;
  for (const auto& e : world.events) refusals += e.reason == reason::kSimpleStrategyKeyspace;
  EXPECT_EQ(refusals, 1);  // one event per refusal, not one per pass
  // The way forward: the keyspace on NetworkTopologyStrategy, then the join goes ahead.
  world.keyspaces["legacy"] = {{"class", kNts}, {"dc1", "1"}};
  Json dcs = world.Cluster()->json()["spec"]["dataCenters"];
  dcs[1]["replicateUserKeyspaces"] = 1;
  world.PatchCluster({{"spec", {{"dataCenters", dcs}}}});
  ASSERT_TRUE(RunUntil([&] { return Joined(); })) << world.Status().dump(2);
  EXPECT_FALSE(world.ConditionTrue(condition::kDataCenterChangeRefused));
  EXPECT_EQ(world.Node(Pod("dc2", 0))->rebuilt_from, "dc1");
  ExpectQuiet();
}

TEST_F(DataCenters, AFailedRebuildIsRetriedAndANewLeaderFollowsTheRecordedOne) {
  CreateReadyWith(Json::array({Dc("dc1", 2)}));
  world.keyspaces["shop"] = {{"class", kNts}, {"dc1", "2"}};
  world.rebuild_ticks = 4;
  world.rebuilds_to_fail = 1;
  Json dc2 = Dc("dc2", 2);
  dc2["replicateUserKeyspaces"] = 2;
  AddDc(dc2);
  // The first rebuild fails; the second runs when the operator restarts.
  ASSERT_TRUE(RunUntil([&] {
    const Json join = world.StatusField("dataCenterJoin");
    return join.value("failures", 0) == 1 && !join.value("running", "").empty();
  })) << world.Status().dump(2);
  const std::string running = world.StatusField("dataCenterJoin")["running"];
  const size_t requests = world.agent_requests.size();
  RestartOperator();
  ASSERT_TRUE(RunUntil([&] { return Joined(); })) << world.Status().dump(2);
  // The new leader polled the recorded rebuild instead of starting another on that member.
  int again = 0;
  for (size_t i = requests; i < world.agent_requests.size(); ++i) {
    again += world.agent_requests[i] == running + " rebuild";
  }
  EXPECT_EQ(again, 0);
  int warnings = 0;
  for (const auto& e : world.events) warnings += e.reason == reason::kRebuilding && e.warning;
  EXPECT_EQ(warnings, 1);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(world.Node(Pod("dc2", i))->rebuilt_from, "dc1");
  ExpectQuiet();
}

TEST_F(DataCenters, WithNoUserKeyspaceTheJoinEndsOnceItsMembersAreUp) {
  // Created with the seed's single spec.dataCenter, which becomes the first of spec.dataCenters.
  CreateReady(1);
  const Json dc1 = world.Cluster()->json()["spec"]["dataCenter"];
  world.PatchCluster({{"spec", {{"dataCenter", nullptr}, {"dataCenters", {dc1, Dc("dc2", 2)}}}}});
  ASSERT_TRUE(RunUntil([&] { return Joined(); })) << world.Status().dump(2);
  EXPECT_EQ(Rebuilding(world), 0);
  EXPECT_TRUE(world.HasEvent(reason::kDataCenterJoined));
  EXPECT_EQ(world.StatefulSetReplicas("c-dc2-r1"), 2);
  ExpectQuiet();
}

TEST_F(DataCenters, ARemovedOneIsRefusedWhileAKeyspaceReplicatesThereThenLeavesMemberByMember) {
  CreateReadyWith(Json::array({Dc("dc1", 2), Dc("dc2", 2)}));
  world.keyspaces["geo"] = {{"class", kNts}, {"dc1", "2"}, {"dc2", "1"}};
  world.PatchCluster({{"spec", {{"dataCenters", Json::array({Dc("dc1", 2)})}}}});
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kDataCenterChangeRefused); }));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Pass().ok());
  const Json c = world.Condition(condition::kDataCenterChangeRefused);
  EXPECT_EQ(c["reason"], reason::kKeyspacesInDataCenter);
  EXPECT_TRUE(absl::StrContains(c["message"].get<std::string>(), "keyspace geo")) << c;
  // Untouched: its members run and keep their Services, nothing was decommissioned.
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(world.Find(res::kServices, Pod("dc2", i)), nullptr) << i;
    EXPECT_TRUE(world.Node(Pod("dc2", i))->in_ring) << i;
  }
  EXPECT_EQ(world.StatefulSetReplicas("c-dc2-r1"), 2);
  for (const auto& r : world.agent_requests)
    EXPECT_FALSE(absl::StrContains(r, "decommission")) << r;
  // The way forward: the keyspace altered away from dc2. It leaves one member at a time, and a
  // new operator process finishes the decommission under way; the API server fails the delete
  // of dc2's client Service once, after its PDB and ConfigMaps went: the next pass still knows
  // dc2 leaves (its StatefulSet goes last) and deletes the rest.
  world.fail_delete_once = {"Service/c-dc2-client"};
  world.keyspaces["geo"] = {{"class", kNts}, {"dc1", "2"}};
  bool restarted = false;
  int most_leaving = 0, failed_passes = 0;
  for (int i = 0; i < 80 && !(world.HasEvent(reason::kDataCenterRemoved) && Ready()); ++i) {
    failed_passes += !Pass().ok();  // the injected delete failure, reported and retried
    int leaving = 0;
    for (const FakeNode* n : world.Ring()) leaving += n->state == "L";
    most_leaving = std::max(most_leaving, leaving);
    if (!restarted && world.StatusField("operation").value("kind", "") == "Decommission") {
      RestartOperator();
      restarted = true;
    }
  }
  ASSERT_TRUE(world.HasEvent(reason::kDataCenterRemoved) && Ready()) << world.Status().dump(2);
  EXPECT_TRUE(restarted);
  EXPECT_TRUE(world.fail_delete_once.empty());
  EXPECT_EQ(failed_passes, 1);
  EXPECT_EQ(most_leaving, 1);
  EXPECT_FALSE(world.ConditionTrue(condition::kDataCenterChangeRefused));
  for (const FakeNode* n : world.Ring()) EXPECT_EQ(n->dc, "dc1") << n->pod;
  EXPECT_EQ(world.Find(res::kStatefulSets, "c-dc2-r1"), nullptr);
  for (const kube::Resource* r :
       {&res::kServices, &res::kConfigMaps, &res::kPodDisruptionBudgets, &res::kStatefulSets}) {
    for (const auto& o : world.List(*r)) {
      EXPECT_EQ(o->label(kLabelDataCenter).value_or(""), "dc1") << r->kind << "/" << o->name();
    }
  }
  // Each dc2 member was decommissioned forced (the fake, as Cassandra, refuses to leave dc2 with
  // no more nodes than system_auth's factor there), and system_auth stopped replicating to dc2
  // only once dc2 had left the ring (the fake, as Cassandra 5.0, refuses it before).
  int forced = 0;
  for (const auto& r : world.agent_requests) {
    if (!absl::StrContains(r, "decommission")) continue;
    EXPECT_TRUE(absl::StartsWith(r, "c-dc2-r1-")) << r;
    EXPECT_TRUE(absl::EndsWith(r, " decommission force")) << r;
    ++forced;
  }
  EXPECT_GE(forced, 2);
  EXPECT_EQ(Factors(world.keyspaces["system_auth"]), (Json{{"dc1", "2"}}));
  EXPECT_EQ(world.StatusField("systemReplication"), (Json{{"dc1", 2}}));
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
