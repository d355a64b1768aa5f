// Scenarios of a spec.version change (upgrade.cc, version_path.h): unsupported paths refused with
// nothing touched, supported ones accepted and rolled one pod at a time.
#include <map>
#include <string>

#include "absl/strings/match.h"
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

}  // namespace
}  // namespace ringkeeper::testing
