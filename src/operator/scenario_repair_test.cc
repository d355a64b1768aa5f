// Scenarios of the Repair runner (repairs.h) over the in-memory cluster: a 3-node Cluster, a
// keyspace at RF 3, repairs run by the fake agents over ticks. What must hold throughout: a
// node takes part in one segment at a time; a finished segment is never repaired again (a
// restarted operator, a lost answer); a failed or hung segment is stopped on every replica and
// tried again, at most three times; nothing starts while a replica is behind, down, paused, or
// while the Cluster runs a disruptive operation; bad input fails the Repair before any agent
// is asked.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/repair.h"
#include "kube/resource.h"
#include "operator/repairs.h"
#include "operator/testing/scenario.h"
#include "repair/plan.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

class RepairScenario : public Scenario {
 protected:
  void SetUp() override {
    CreateReady(3);
    world.keyspaces["ks"] = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"},
                             {"dc1", "3"}};
    world.tables["ks"] = {"t", "u"};
    world.keyspaces["single"] = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"},
                                 {"dc1", "1"}};
    RestartRepairOperator();
  }

  void RestartRepairOperator() {
    RepairReconcilerOptions options;
    repairs = std::make_unique<RepairReconciler>(world.seams(), world.repair_caches(), options);
  }

  void CreateRepair(Json spec) {
    spec["cluster"] = "c";
    if (!spec.contains("segmentsPerNode")) spec["segmentsPerNode"] = 2;
    if (!spec.contains("intensity")) spec["intensity"] = 1;
    if (!spec.contains("segmentTimeoutSeconds")) spec["segmentTimeoutSeconds"] = 60;
    world.UserCreate(kRepairs,
                     {{"metadata", {{"name", "rp"}, {"namespace", "ns"}}}, {"spec", spec}});
  }

  void PatchRepairSpec(const Json& patch) {
    Json j = world.Find(kRepairs, "rp")->json();
    j["spec"].merge_patch(patch);
    ASSERT_TRUE(world.Apply(kRepairs, j).ok());
  }

  Json RepairStatus() const {
    kube::ObjectPtr o = world.Find(kRepairs, "rp");
    return o && o->json().contains("status") ? o->json()["status"] : Json::object();
  }
  std::string Phase() const { return kube::StringField(RepairStatus(), "phase"); }

  // One pass of the Repair reconciler, then one of the Cluster's (which ticks the world).
  void RepairPass() {
    auto r = repairs->Reconcile({"ns", "rp"});
    if (!r.ok()) last_error = std::string(r.status().message());
    ASSERT_TRUE(Pass().ok());
    // Throughout: a node is in one running segment at most.
    std::set<std::string> busy;
    const Json status = RepairStatus();
    for (const Json& running : status.value("running", Json::array())) {
      for (const Json& pod : running["replicas"]) {
        EXPECT_TRUE(busy.insert(pod.get<std::string>()).second)
            << pod << " in two segments: " << RepairStatus()["running"].dump();
      }
    }
  }

  bool RunRepairUntil(const std::function<bool()>& done, int max_passes = 200) {
    for (int i = 0; i < max_passes; ++i) {
      RepairPass();
      if (done()) return true;
    }
    return false;
  }

  int Total() const { return int(kube::IntField(RepairStatus()["segments"], "total")); }
  int Done() const { return int(kube::IntField(RepairStatus()["segments"], "done")); }

  // Every segment of the plan was repaired exactly once.
  void ExpectEachSegmentRepairedOnce() {
    kube::ObjectPtr plan = world.Find(res::kConfigMaps, RepairPlanName("rp"));
    ASSERT_TRUE(plan);
    int segments = 0;
    for (const auto& [keyspace, text] : plan->json()["data"].items()) {
      auto decoded = repair::DecodePlan(text.get<std::string>());
      ASSERT_TRUE(decoded.ok());
      for (const repair::Segment& s : *decoded) {
        ++segments;
        EXPECT_EQ(world.repaired[keyspace + " " + repair::RangesOption(s)], 1)
            << keyspace << " " << repair::RangesOption(s);
      }
    }
    int repairs_done = 0;
    for (const auto& [_, n] : world.repaired) repairs_done += n;
    EXPECT_EQ(repairs_done, segments);
  }

  std::unique_ptr<RepairReconciler> repairs;
  std::string last_error;
};

TEST_F(RepairScenario, RepairsEverySegmentOnceOneSegmentPerNodeAtATime) {
  CreateRepair(Json::object());
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  // Every keyspace with more than one replica: ks (RF 3), the system ones the Cluster raised
  // to 3; not "single" (RF 1).
  const Json status = RepairStatus();
  std::set<std::string> keyspaces;
  for (const Json& k : status["keyspaces"]) keyspaces.insert(k["name"].get<std::string>());
  EXPECT_EQ(keyspaces,
            (std::set<std::string>{"ks", "system_auth", "system_distributed", "system_traces"}))
      << RepairStatus().dump(2) << last_error;
  EXPECT_GT(Total(), 0);
  EXPECT_EQ(Done(), Total());
  ExpectEachSegmentRepairedOnce();
  for (const auto& r : world.repair_requests) {
    EXPECT_EQ(r.repair_type, "full");
    EXPECT_EQ(r.parallelism, "parallel");
    EXPECT_FALSE(r.run.empty());
  }
  EXPECT_TRUE(world.HasEvent(reason::kRepairStarted));
  EXPECT_TRUE(world.HasEvent(reason::kRepairComplete));
  bool complete = false;
  for (const Json& c : status["conditions"]) {
    if (c["type"] == "Complete") complete = c["status"] == "True";
  }
  EXPECT_TRUE(complete);
  // Finished: the next pass writes nothing.
  const size_t before = world.write_log.size();
  ASSERT_TRUE(repairs->Reconcile({"ns", "rp"}).ok());
  EXPECT_EQ(world.write_log.size(), before);
}

TEST_F(RepairScenario, TablesNarrowTheKeyspacesAndTheRequests) {
  CreateRepair({{"tables", {"ks.t"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  ASSERT_EQ(RepairStatus()["keyspaces"].size(), 1u);
  EXPECT_EQ(RepairStatus()["keyspaces"][0]["name"], "ks");
  for (const auto& r : world.repair_requests) {
    EXPECT_EQ(r.keyspace, "ks");
    EXPECT_EQ(r.tables, std::vector<std::string>{"t"});
  }
}

TEST_F(RepairScenario, ARestartedOperatorResumesAndNeverRepeatsAFinishedSegment) {
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return Done() >= 2; }));
  RestartRepairOperator();  // nothing in memory survives
  ASSERT_TRUE(RunRepairUntil([&] { return Done() >= 4; }));
  // The answer with the operation id lost (the write after asking never landed): the next pass
  // asks again with the same run key and gets the same operation.
  ASSERT_TRUE(RunRepairUntil([&] { return !RepairStatus()["running"].empty(); }));
  Json j = world.Find(kRepairs, "rp")->json();
  j["status"]["running"][0].erase("operation");
  ASSERT_TRUE(world.UpdateStatus(kRepairs, kube::Object(j)).ok());
  RestartRepairOperator();
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  ExpectEachSegmentRepairedOnce();
  // The segment asked for twice got its first operation back: one repair per segment.
  EXPECT_EQ(int(world.repair_requests.size()), Total());
}

TEST_F(RepairScenario, AFailedSegmentIsStoppedOnEveryReplicaAndTriedAgain) {
  world.repairs_to_fail = 1;
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return !RepairStatus()["retrying"].empty(); }));
  EXPECT_EQ(RepairStatus()["retrying"][0]["attempts"], 1);
  EXPECT_EQ(world.stops, 3);  // every replica of the segment
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  EXPECT_TRUE(RepairStatus()["retrying"].empty());
  EXPECT_EQ(RepairStatus()["failedAttempts"], 1);  // counted over the run, for the metrics
  ExpectEachSegmentRepairedOnce();
}

TEST_F(RepairScenario, ASegmentFailingThreeTimesFailsTheRepairNamingIt) {
  world.repairs_to_fail = 3;
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Failed"; })) << RepairStatus().dump(2);
  EXPECT_EQ(RepairStatus()["reason"], reason::kSegmentFailed);
  EXPECT_NE(RepairStatus()["message"].get<std::string>().find("failed 3 times"), std::string::npos);
  EXPECT_TRUE(RepairStatus()["running"].empty());
  EXPECT_TRUE(world.HasEvent(reason::kRepairFailed));
}

TEST_F(RepairScenario, AHungSegmentIsStoppedAtItsTimeoutAndTriedAgain) {
  world.repairs_hang = true;
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return !RepairStatus()["retrying"].empty(); }, 40));
  EXPECT_NE(RepairStatus()["retrying"][0]["message"].get<std::string>().find("still running"),
            std::string::npos);
  EXPECT_GE(world.stops, 3);
  world.repairs_hang = false;
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  ExpectEachSegmentRepairedOnce();
}

TEST_F(RepairScenario, ARunningSegmentIsLookedAtSoonAfterItStartsAndLessOftenAsItRuns) {
  world.repairs_hang = true;  // the segments run on (5 s of the fake clock per pass)
  CreateRepair({{"keyspaces", {"ks"}}});
  std::vector<absl::Duration> looks;  // the requeue asked while a segment runs
  for (int i = 0; i < 8; ++i) {
    auto r = repairs->Reconcile({"ns", "rp"});
    ASSERT_TRUE(r.ok()) << r.status();
    if (!RepairStatus()["running"].empty()) looks.push_back(r->requeue_after);
    ASSERT_TRUE(Pass().ok());
  }
  ASSERT_GE(looks.size(), 3u) << RepairStatus().dump(2);
  EXPECT_EQ(looks.front(), absl::Milliseconds(250));  // just started: soon
  EXPECT_TRUE(std::is_sorted(looks.begin(), looks.end()));
  EXPECT_EQ(looks.back(), absl::Seconds(2));  // running long: the usual poll
}

TEST_F(RepairScenario, NothingStartsWhileAReplicaIsBehindOnCompactionsOrTheRepairIsPaused) {
  world.pending_compactions[PodOf(1)] = 100;
  CreateRepair({{"keyspaces", {"ks"}}});
  for (int i = 0; i < 5; ++i) RepairPass();
  EXPECT_EQ(Phase(), "Running");
  EXPECT_TRUE(world.repair_requests.empty());
  EXPECT_GE(kube::IntField(RepairStatus()["postponed"], reason::kPendingCompactions), 1);
  world.pending_compactions.clear();
  PatchRepairSpec({{"paused", true}});
  for (int i = 0; i < 5; ++i) RepairPass();
  EXPECT_TRUE(world.repair_requests.empty());
  EXPECT_EQ(RepairStatus()["waiting"], reason::kPaused);
  PatchRepairSpec({{"paused", false}});
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  ExpectEachSegmentRepairedOnce();
}

TEST_F(RepairScenario, IntensityRestsTheNodesAfterEachSegment) {
  world.repair_ticks = 2;  // 10 s a segment: a rest of 10 s at intensity 0.5
  CreateRepair({{"keyspaces", {"ks"}}, {"intensity", 0.5}});
  ASSERT_TRUE(RunRepairUntil([&] { return !RepairStatus()["resting"].empty(); }));
  EXPECT_EQ(RepairStatus()["resting"].size(), 3u);
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  EXPECT_GE(kube::IntField(RepairStatus()["postponed"], reason::kReplicaResting), 1);
  ExpectEachSegmentRepairedOnce();
}

TEST_F(RepairScenario, ARollStopsTheRunningSegmentAndTheRepairResumesAfter) {
  world.repair_ticks = 50;  // long segments: one is running when the roll starts
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return !RepairStatus()["running"].empty(); }));
  world.PatchCluster({{"spec", {{"config", {{"concurrent_reads", 16}}}}}});
  ASSERT_TRUE(RunRepairUntil([&] {
    return RepairStatus()["waiting"] == reason::kClusterOperation;
  })) << RepairStatus().dump(2)
      << world.Status().dump(2);
  EXPECT_TRUE(RepairStatus()["running"].empty());
  EXPECT_GE(world.stops, 3);
  const size_t asked = world.repair_requests.size();
  // While the roll runs, nothing starts.
  ASSERT_TRUE(RunRepairUntil(
      [&] {
        if (!world.StatusField("operation").is_null()) {
          EXPECT_EQ(world.repair_requests.size(), asked);
          return false;
        }
        return true;
      },
      200));
  world.repair_ticks = 1;
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
  EXPECT_TRUE(RepairStatus()["retrying"].empty());  // a stop for the roll is not an attempt
  EXPECT_EQ(RepairStatus()["failedAttempts"], 0);
  ExpectEachSegmentRepairedOnce();
}

TEST_F(RepairScenario, BadInputFailsTheRepairNamingItAndAsksNoAgent) {
  for (const auto& [spec, why, names] : std::vector<std::tuple<Json, std::string, std::string>>{
           {{{"keyspaces", {"nope"}}}, reason::kKeyspaceNotFound, "keyspace nope"},
           {{{"tables", {"ks.nope"}}}, reason::kTableNotFound, "table ks.nope"},
           {{{"datacenters", {"dc9"}}}, reason::kDataCenterNotFound, "data center dc9"}}) {
    SCOPED_TRACE(why);
    world.UserDelete(kRepairs, "rp");
    RestartRepairOperator();
    CreateRepair(spec);
    ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Failed"; }, 5)) << RepairStatus().dump(2);
    EXPECT_EQ(RepairStatus()["reason"], why);
    EXPECT_NE(RepairStatus()["message"].get<std::string>().find(names), std::string::npos)
        << RepairStatus()["message"];
    EXPECT_FALSE(world.Find(res::kConfigMaps, RepairPlanName("rp")));
  }
  EXPECT_TRUE(world.repair_requests.empty());
}

TEST_F(RepairScenario, TwoRepairsOfOneClusterRunOneAfterTheOtherTheOlderFirst) {
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(Pass().ok());  // the second is created later
  world.UserCreate(kRepairs, {{"metadata", {{"name", "rp2"}, {"namespace", "ns"}}},
                              {"spec",
                               {{"cluster", "c"},
                                {"keyspaces", {"ks"}},
                                {"segmentsPerNode", 2},
                                {"intensity", 1},
                                {"segmentTimeoutSeconds", 60}}}});
  auto second = [&] { return world.Find(kRepairs, "rp2")->json().value("status", Json::object()); };
  bool waited = false;
  ASSERT_TRUE(RunRepairUntil([&] {
    auto r = repairs->Reconcile({"ns", "rp2"});
    EXPECT_TRUE(r.ok()) << r.status();
    const Json s = second();
    if (Phase() != "Complete") {
      // While the first runs the second plans nothing and runs nothing: no node in two.
      EXPECT_NE(kube::StringField(s, "phase"), "Running") << s.dump(2);
      EXPECT_EQ(kube::StringField(s, "waiting"), reason::kRepairAhead) << s.dump(2);
      waited = true;
    }
    return kube::StringField(s, "phase") == "Complete";
  })) << second().dump(2);
  EXPECT_TRUE(waited);
  EXPECT_EQ(Phase(), "Complete");
}

TEST_F(RepairScenario, AReplicaDownPostponesAndTheRepairGoesOnOnceItIsBack) {
  world.repair_ticks = 3;
  CreateRepair({{"keyspaces", {"ks"}}});
  ASSERT_TRUE(RunRepairUntil([&] { return Done() >= 1; }));
  world.never_up.insert(PodOf(2));  // its process dies and does not come back yet
  world.Node(PodOf(2))->up = false;
  for (int i = 0; i < 6; ++i) RepairPass();
  const size_t asked = world.repair_requests.size();
  for (int i = 0; i < 6; ++i) RepairPass();
  EXPECT_EQ(world.repair_requests.size(), asked);  // nothing new while it is down
  EXPECT_GE(kube::IntField(RepairStatus()["postponed"], reason::kReplicaNotUp), 1);
  EXPECT_EQ(Phase(), "Running");
  world.never_up.erase(PodOf(2));
  ASSERT_TRUE(RunRepairUntil([&] { return Phase() == "Complete"; })) << RepairStatus().dump(2);
}

}  // namespace
}  // namespace ringkeeper::testing
