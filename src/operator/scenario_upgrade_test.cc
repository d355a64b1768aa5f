// Scenarios of a spec.version change (upgrade.cc, version_path.h): unsupported paths refused with
// nothing touched, supported ones accepted and rolled one pod at a time.
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

std::string Version(const kube::Json& v) { return v.is_string() ? v.get<std::string>() : ""; }

int WarningsOf(const FakeCluster& world, const std::string& reason) {
  int n = 0;
  for (const auto& e : world.events) n += e.warning && e.reason == reason;
  return n;
}

TEST_F(Scenario, ADowngradeAcrossAMajorIsRefusedWithNothingTouchedUntilTheSpecGoesBack) {
  CreateReady(3);
  EXPECT_EQ(Version(world.StatusField("version")), "5.0.9");
  std::map<std::string, std::string> uids;
  for (int i = 0; i < 3; ++i) uids[PodOf(i)] = world.Find(res::kPods, PodOf(i))->uid();
  const Json template_before =
      world.Find(res::kStatefulSets, "c-dc1-r1")->json()["spec"]["template"];
  const size_t requests = world.agent_requests.size();

  world.PatchCluster({{"spec", {{"version", "4.1.10"}}}});
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kVersionChangeRefused); }, 5));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Pass().ok());
  const Json refused = world.Condition(condition::kVersionChangeRefused);
  EXPECT_EQ(refused["reason"], reason::kMajorVersionDowngrade);
  EXPECT_TRUE(absl::StrContains(refused["message"].get<std::string>(),
                                "spec.version 4.1.10 refused (from 5.0.9"))
      << refused;
  // Not Ready for this generation (the spec is not what runs), and said once, not every pass.
  EXPECT_EQ(world.Condition(condition::kReady)["reason"], reason::kMajorVersionDowngrade);
  EXPECT_EQ(WarningsOf(world, reason::kMajorVersionDowngrade), 1);
  // Untouched: the template, every pod, no drain; the accepted version kept.
  EXPECT_EQ(world.Find(res::kStatefulSets, "c-dc1-r1")->json()["spec"]["template"],
            template_before);
  for (const auto& [pod, uid] : uids) EXPECT_EQ(world.Find(res::kPods, pod)->uid(), uid) << pod;
  for (size_t i = requests; i < world.agent_requests.size(); ++i) {
    EXPECT_FALSE(absl::StrContains(world.agent_requests[i], "drain")) << world.agent_requests[i];
  }
  EXPECT_EQ(Version(world.StatusField("version")), "5.0.9");

  // Skipping a major is refused the same way.
  world.PatchCluster({{"spec", {{"version", "7.0.1"}}}});
  ASSERT_TRUE(RunUntil(
      [&] {
        return world.Condition(condition::kVersionChangeRefused)["reason"] ==
               reason::kMajorVersionSkipped;
      },
      5));

  // The way forward: the spec back at what runs.
  world.PatchCluster({{"spec", {{"version", "5.0.9"}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Ready() && !world.ConditionTrue(condition::kVersionChangeRefused); }));
  for (const auto& [pod, uid] : uids) EXPECT_EQ(world.Find(res::kPods, pod)->uid(), uid) << pod;
  ExpectQuiet();
}

TEST_F(Scenario, ASupportedVersionIsRecordedBeforeTheRollThenRolledOnePodAtATime) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});  // a major upgrade: 5 → 6
  int most_down = 0;
  bool recorded_first = true;
  ASSERT_TRUE(RunUntil(
      [&] {
        int upgraded = 0;
        for (const FakeNode* n : world.Ring()) upgraded += n->release_version == "6.0.1";
        return upgraded == 3 && Ready();
      },
      120,
      [&] {
        most_down = std::max(most_down, NotReadyPods());
        for (const FakeNode* n : world.Ring()) {
          recorded_first &=
              n->release_version != "6.0.1" || Version(world.StatusField("version")) == "6.0.1";
        }
      }))
      << world.Status().dump(2);
  EXPECT_TRUE(recorded_first);
  EXPECT_EQ(most_down, 1);
  EXPECT_TRUE(world.HasEvent(reason::kVersionAccepted));
  EXPECT_FALSE(world.ConditionTrue(condition::kVersionChangeRefused));
  ExpectQuiet();
}

// Half the members run the new major: going back would put them on a version that cannot read
// what they wrote. Refused; the roll goes on to the version accepted.
TEST_F(Scenario, GoingBackMidwayThroughAMajorUpgradeIsRefusedAndTheRollFinishes) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});
  ASSERT_TRUE(RunUntil([&] {
    for (const FakeNode* n : world.Ring()) {
      if (n->release_version == "6.0.1") return true;
    }
    return false;
  }));
  world.PatchCluster({{"spec", {{"version", "5.0.9"}}}});
  ASSERT_TRUE(RunUntil(
      [&] {
        int upgraded = 0;
        for (const FakeNode* n : world.Ring()) upgraded += n->release_version == "6.0.1";
        return upgraded == 3 && NotReadyPods() == 0;
      },
      120))
      <<
      [&] {
        std::string v;
        for (const FakeNode* n : world.Ring()) v += n->pod + "=" + n->release_version + " ";
        return v;
      }()
      << NotReadyPods();
  const Json refused = world.Condition(condition::kVersionChangeRefused);
  EXPECT_EQ(refused["status"], "True");
  EXPECT_EQ(refused["reason"], reason::kMajorVersionDowngrade);
  EXPECT_TRUE(absl::StrContains(refused["message"].get<std::string>(), "from 6.0.1")) << refused;
  EXPECT_EQ(Version(world.StatusField("version")), "6.0.1");
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Ready() && !world.ConditionTrue(condition::kVersionChangeRefused); }));
  ExpectQuiet();
}

// The image tag of the cassandra container in a rack's StatefulSet template.
std::string TemplateVersion(const FakeCluster& world, const std::string& rack) {
  kube::ObjectPtr sts = world.Find(res::kStatefulSets, "c-dc1-" + rack);
  if (!sts) return "";
  for (const auto& c : sts->json()["spec"]["template"]["spec"]["containers"]) {
    if (c["name"] == "cassandra") {
      const std::string image = c["image"].get<std::string>();
      return image.substr(image.rfind(':') + 1);
    }
  }
  return "";
}

// Every pass of an upgrade of 3 racks (one member each) from 5.0.9 to `to`: nothing restarts
// before every node holds the snapshot taken on 5.0.9; a rack's template (and so its pods) goes
// to `to` only after the racks before it run it; upgradesstables only once every node runs `to`.
class UpgradeScenario : public Scenario {
 protected:
  std::string to, tag;
  int most_down = 0;
  std::vector<std::string> violations;

  void Upgrade(const std::string& version) {
    to = version;
    tag = "upgrade-5.0.9-to-" + to;
    world.PatchCluster({{"spec", {{"version", to}}}});
  }
  void Watch() {
    const std::vector<std::string> racks = {"r1", "r2", "r3"};
    bool any_new = false, all_new = true;
    std::map<std::string, bool> rack_new;
    for (const std::string& r : racks) {
      const FakeNode* n = world.Node(PodOf(0, r));
      rack_new[r] = n && n->release_version == to;
      any_new |= rack_new[r];
      all_new &= rack_new[r];
    }
    if (any_new) {
      for (const std::string& r : racks) {
        auto snaps = world.snapshots[PodOf(0, r)];
        if (!snaps.count(tag) || snaps[tag] != "5.0.9") {
          violations.push_back("a node runs " + to + " before " + r + "'s snapshot on 5.0.9");
        }
      }
    }
    for (size_t i = 1; i < racks.size(); ++i) {
      if (TemplateVersion(world, racks[i]) == to && !rack_new[racks[i - 1]]) {
        violations.push_back(racks[i] + "'s template on " + to + " before " + racks[i - 1] +
                             " ran it");
      }
    }
    for (const std::string& r : racks) {
      for (const std::string& v : world.sstables_upgraded[PodOf(0, r)]) {
        if (v != to || !all_new)
          violations.push_back("upgradesstables before every node ran " + to);
      }
    }
    most_down = std::max(most_down, NotReadyPods());
  }
};

TEST_F(UpgradeScenario, AMajorUpgradeSnapshotsEveryNodeRollsOneRackAtATimeThenUpgradesSSTables) {
  CreateReady(1, 3);
  // A snapshot of the upgrade's tag left on one node by an earlier attempt: Cassandra would
  // refuse the tag; the operator clears it and takes it again on the version that runs.
  world.snapshots[PodOf(0, "r2")]["upgrade-5.0.9-to-6.0.1"] = "stale";
  Upgrade("6.0.1");
  std::vector<std::string> phases;
  ASSERT_TRUE(RunUntil(
      [&] {
        return Ready() && world.StatusField("upgrade").is_null() &&
               world.StatusField("lastUpgrade").is_object();
      },
      200,
      [&] {
        Watch();
        const std::string phase = Version(world.StatusField("upgrade")["phase"]);
        if (!phase.empty() && (phases.empty() || phases.back() != phase)) phases.push_back(phase);
      }))
      << world.Status().dump(2);
  EXPECT_TRUE(violations.empty()) << absl::StrJoin(violations, "\n");
  EXPECT_EQ(most_down, 1);
  EXPECT_EQ(phases, (std::vector<std::string>{"Snapshotting", "Rolling", "UpgradingSSTables"}));
  for (const std::string r : {"r1", "r2", "r3"}) {
    EXPECT_EQ(world.Node(PodOf(0, r))->release_version, "6.0.1") << r;
    EXPECT_EQ(world.snapshots[PodOf(0, r)]["upgrade-5.0.9-to-6.0.1"], "5.0.9") << r;
    EXPECT_EQ(world.sstables_upgraded[PodOf(0, r)], std::vector<std::string>{"6.0.1"}) << r;
  }
  const Json last = world.StatusField("lastUpgrade");
  EXPECT_EQ(last["from"], "5.0.9");
  EXPECT_EQ(last["to"], "6.0.1");
  EXPECT_EQ(last["snapshot"], "upgrade-5.0.9-to-6.0.1");
  EXPECT_EQ(last["sstablesUpgraded"].size(), 3u) << last;
  EXPECT_TRUE(last["sstablesFailed"].empty()) << last;
  EXPECT_EQ(Version(world.StatusField("version")), "6.0.1");
  int snapshot_events = 0;
  for (const auto& e : world.events) snapshot_events += e.reason == reason::kUpgradeSnapshot;
  EXPECT_EQ(snapshot_events, 3);
  EXPECT_TRUE(world.HasEvent(reason::kUpgraded));
  ExpectQuiet();
}

TEST_F(UpgradeScenario, APatchUpgradeSnapshotsAndRollsWithoutUpgradeSSTables) {
  CreateReady(1, 3);
  Upgrade("5.0.10");
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("lastUpgrade").is_object(); }, 200,
                       [&] { Watch(); }))
      << world.Status().dump(2);
  EXPECT_TRUE(violations.empty()) << absl::StrJoin(violations, "\n");
  for (const std::string r : {"r1", "r2", "r3"}) {
    EXPECT_EQ(world.Node(PodOf(0, r))->release_version, "5.0.10") << r;
    EXPECT_EQ(world.snapshots[PodOf(0, r)]["upgrade-5.0.9-to-5.0.10"], "5.0.9") << r;
    EXPECT_TRUE(world.sstables_upgraded[PodOf(0, r)].empty()) << r;
  }
  EXPECT_FALSE(world.StatusField("lastUpgrade").contains("sstablesUpgraded"));
  ExpectQuiet();
}

// The operator process dies in every phase: the next one finishes from status.upgrade.
TEST_F(UpgradeScenario, ANewLeaderFinishesAnInterruptedUpgrade) {
  CreateReady(1, 3);
  Upgrade("6.0.1");
  for (const char* phase : {"Snapshotting", "Rolling", "UpgradingSSTables"}) {
    ASSERT_TRUE(RunUntil([&] { return Version(world.StatusField("upgrade")["phase"]) == phase; },
                         200, [&] { Watch(); }))
        << phase << world.Status().dump(2);
    ASSERT_TRUE(Pass().ok());
    RestartOperator();
  }
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("lastUpgrade").is_object(); }, 200,
                       [&] { Watch(); }))
      << world.Status().dump(2);
  EXPECT_TRUE(violations.empty()) << absl::StrJoin(violations, "\n");
  for (const std::string r : {"r1", "r2", "r3"}) {
    EXPECT_EQ(world.snapshots[PodOf(0, r)]["upgrade-5.0.9-to-6.0.1"], "5.0.9") << r;
    EXPECT_FALSE(world.sstables_upgraded[PodOf(0, r)].empty()) << r;
  }
  ExpectQuiet();
}

// Cassandra streams nothing between versions: a scale-up asked mid-upgrade waits for its end,
// and a third version is refused while it runs.
TEST_F(Scenario, ScalingAndAnotherVersionWaitForTheUpgrade) {
  CreateReady(1, 3);
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Version(world.StatusField("upgrade")["phase"]) == "Rolling"; }, 200));
  SetMembers(2, "r3");
  world.PatchCluster({{"spec", {{"version", "6.0.2"}}}});
  ASSERT_TRUE(RunUntil([&] {
    return world.Condition(condition::kVersionChangeRefused)["reason"] ==
           reason::kUpgradeInProgress;
  }));
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});
  bool grew_early = false;
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.Find(res::kPods, PodOf(1, "r3")) != nullptr; },
                       300,
                       [&] {
                         grew_early |= world.StatusField("upgrade").is_object() &&
                                       world.Find(res::kPods, PodOf(1, "r3")) != nullptr;
                       }))
      << world.Status().dump(2);
  EXPECT_FALSE(grew_early);
  EXPECT_FALSE(world.ConditionTrue(condition::kVersionChangeRefused));
  EXPECT_EQ(world.Node(PodOf(1, "r3"))->release_version, "6.0.1");
}

// Back to the old version before any node runs the new major: the upgrade is abandoned, nothing
// restarted, the snapshot kept.
TEST_F(Scenario, GoingBackBeforeAnyNodeRestartedAbandonsTheUpgrade) {
  CreateReady(1, 3);
  std::map<std::string, std::string> uids;
  for (const std::string r : {"r1", "r2", "r3"}) {
    uids[PodOf(0, r)] = world.Find(res::kPods, PodOf(0, r))->uid();
  }
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Version(world.StatusField("upgrade")["phase"]) == "Snapshotting"; }));
  world.PatchCluster({{"spec", {{"version", "5.0.9"}}}});
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("upgrade").is_null(); }))
      << world.Status().dump(2);
  EXPECT_TRUE(world.HasEvent(reason::kUpgradeAbandoned));
  EXPECT_EQ(Version(world.StatusField("version")), "5.0.9");
  for (const auto& [pod, uid] : uids) EXPECT_EQ(world.Find(res::kPods, pod)->uid(), uid) << pod;
  for (const std::string r : {"r1", "r2", "r3"}) EXPECT_EQ(TemplateVersion(world, r), "5.0.9");
  ExpectQuiet();
}

// The operator stops between the two writes that start an upgrade (the record, then
// status.version), and between the two that abandon one (status.version, then the record
// cleared: the other order would leave the abandoned version accepted, with no record, and roll
// the nodes to it): the next passes finish the job.
TEST_F(UpgradeScenario, AStopBetweenTwoStatusWritesIsFinishedByTheNextPass) {
  CreateReady(1, 3);
  world.fail_status_write = [](const Json& status) {
    return status.contains("upgrade") && status.value("version", "") == "6.0.1";
  };
  Upgrade("6.0.1");
  // The pass the write fails in ends with that error; the next ones go on.
  for (int i = 0; i < 10 && world.fail_status_write; ++i) (void)Pass();
  ASSERT_EQ(world.fail_status_write, nullptr) << "the injected failure never fired";
  // The pass ended in the version step, before the bootstrap step: still a created cluster.
  EXPECT_EQ(world.StatusField("bootstrapped"), true);
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("lastUpgrade").is_object(); }, 200,
                       [&] { Watch(); }))
      << world.Status().dump(2);
  EXPECT_EQ(Version(world.StatusField("version")), "6.0.1");
  EXPECT_TRUE(violations.empty()) << absl::StrJoin(violations, "\n");

  world.PatchCluster({{"spec", {{"version", "6.0.2"}}}});
  ASSERT_TRUE(
      RunUntil([&] { return Version(world.StatusField("upgrade")["phase"]) == "Snapshotting"; }));
  // The second of the abandonment's two writes fails.
  int writes = 0;
  world.fail_status_write = [&writes](const Json&) { return ++writes == 2; };
  world.PatchCluster({{"spec", {{"version", "6.0.1"}}}});
  for (int i = 0; i < 10 && world.fail_status_write; ++i) (void)Pass();
  ASSERT_EQ(world.fail_status_write, nullptr) << "the injected failure never fired";
  // The pass ended in the version step, before the bootstrap step: still a created cluster.
  EXPECT_EQ(world.StatusField("bootstrapped"), true);
  bool ran_abandoned = false;
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("upgrade").is_null(); }, 200,
                       [&] {
                         for (const FakeNode* n : world.Ring()) {
                           ran_abandoned |= n->release_version == "6.0.2";
                         }
                       }))
      << world.Status().dump(2);
  EXPECT_FALSE(ran_abandoned) << "a node ran the abandoned version";
  EXPECT_EQ(Version(world.StatusField("version")), "6.0.1");
  for (const std::string r : {"r1", "r2", "r3"}) EXPECT_EQ(TemplateVersion(world, r), "6.0.1");
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
