// Scenarios of growing a rack's storage (defect 1): claims raised where the class allows, the
// StatefulSet re-created with its pods orphaned (none restarts), progress reported, a class that
// cannot expand named while everything else goes on, and a failed apply that holds nothing back.
#include <map>

#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

void SetStorage(FakeCluster& world, const std::string& size) {
  Json racks = world.Cluster()->json()["spec"]["dataCenter"]["racks"];
  for (auto& r : racks) {
    r["storage"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = size;
  }
  world.PatchCluster({{"spec", {{"dataCenter", {{"racks", racks}}}}}});
}

std::string TemplateSize(const FakeCluster& world, const std::string& sts) {
  auto o = world.Find(res::kStatefulSets, sts);
  if (!o) return "";
  return kube::StringField(
      o->json()["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"], "storage");
}

// Every claim requests and has `size`.
bool ClaimsAt(const FakeCluster& world, const std::string& size, size_t count) {
  auto claims = world.List(res::kPersistentVolumeClaims);
  if (claims.size() != count) return false;
  for (const auto& c : claims) {
    const Json& j = c->json();
    if (kube::StringField(j["spec"]["resources"]["requests"], "storage") != size ||
        kube::StringField(j["status"]["capacity"], "storage") != size) {
      return false;
    }
  }
  return true;
}

std::map<std::string, std::string> PodUids(const FakeCluster& world) {
  std::map<std::string, std::string> uids;
  for (const auto& pod : world.List(res::kPods)) uids[pod->name()] = pod->uid();
  return uids;
}

std::string Message(const FakeCluster& world, const char* type) {
  const Json c = world.Condition(type);
  return c.is_null() ? "" : c.value("message", "");
}

TEST_F(Scenario, GrowingStorageResizesEveryClaimAndRecreatesTheStatefulSetWithNoRestart) {
  CreateReady(3);
  EXPECT_TRUE(world.ConditionTrue(condition::kVolumesResized));
  const auto pods = PodUids(world);
  SetStorage(world, "2Gi");
  bool progress_reported = false;
  int fewest_replicas = 3;
  ASSERT_TRUE(RunUntil(
      [&] {
        return world.ConditionTrue(condition::kVolumesResized) && Ready() &&
               TemplateSize(world, "c-dc1-r1") == "2Gi" && world.StatusField("operation").is_null();
      },
      30,
      [&] {
        progress_reported |=
            world.Condition(condition::kVolumesResized)["reason"] == reason::kResizingVolumes;
        const int replicas = world.StatefulSetReplicas("c-dc1-r1");
        if (replicas >= 0) fewest_replicas = std::min(fewest_replicas, replicas);
        EXPECT_EQ(PodUids(world), pods) << "a pod was deleted";
        EXPECT_EQ(NotReadyPods(), 0);
      }))
      << world.Status().dump(2);
  EXPECT_TRUE(progress_reported);
  EXPECT_EQ(fewest_replicas, 3);  // re-created at its size, never at 0
  EXPECT_TRUE(ClaimsAt(world, "2Gi", 3));
  EXPECT_TRUE(world.HasEvent(reason::kGrowingVolumes));
  EXPECT_TRUE(world.HasEvent(reason::kStatefulSetRecreated));
  // A member added afterwards gets the new size.
  SetMembers(4);
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }))
      << world.Status().dump(2);
  EXPECT_TRUE(ClaimsAt(world, "2Gi", 4));
  ExpectQuiet();
}

TEST_F(Scenario, StorageClassThatCannotExpandIsNamedAndNothingElseStalls) {
  CreateReady(3);
  world.SetStorageClass(FakeCluster::kDefaultStorageClass, /*allow_expansion=*/false);
  SetStorage(world, "2Gi");
  ASSERT_TRUE(RunUntil(
      [&] {
        return world.Condition(condition::kVolumesResized)["reason"] ==
               reason::kStorageClassNotExpandable;
      },
      5));
  EXPECT_TRUE(absl::StrContains(Message(world, condition::kVolumesResized), "standard"))
      << Message(world, condition::kVolumesResized);
  // A scale-up asked meanwhile happens (the StatefulSet keeps its 1Gi template).
  SetMembers(4);
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }))
      << world.Status().dump(2);
  EXPECT_EQ(TemplateSize(world, "c-dc1-r1"), "1Gi");
  EXPECT_TRUE(ClaimsAt(world, "1Gi", 4));
  EXPECT_FALSE(world.ConditionTrue(condition::kVolumesResized));
  // The administrator allows expansion: the growth completes.
  world.SetStorageClass(FakeCluster::kDefaultStorageClass, /*allow_expansion=*/true);
  ASSERT_TRUE(RunUntil([&] {
    return world.ConditionTrue(condition::kVolumesResized) && Ready() &&
           world.StatusField("operation").is_null();
  })) << world.Status().dump(2);
  EXPECT_TRUE(ClaimsAt(world, "2Gi", 4));
  EXPECT_EQ(TemplateSize(world, "c-dc1-r1"), "2Gi");
  ExpectQuiet();
}

TEST_F(Scenario, OperatorKilledMidRecreationFinishesItAtTheRecordedSize) {
  CreateReady(3);
  const auto pods = PodUids(world);
  SetStorage(world, "2Gi");
  ASSERT_TRUE(RunUntil(
      [&] {
        return world.StatusField("operation")["kind"] ==
               ToString(OperationKind::kRecreateStatefulSet);
      },
      10));
  RestartOperator();
  world.Tick();  // the orphan finalizer finishes: the StatefulSet is gone
  ASSERT_EQ(world.StatefulSetReplicas("c-dc1-r1"), -1);
  ASSERT_TRUE(RunUntil([&] {
    return world.StatusField("operation").is_null() && Ready() &&
           TemplateSize(world, "c-dc1-r1") == "2Gi";
  })) << world.Status().dump(2);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  EXPECT_EQ(PodUids(world), pods);
  ExpectQuiet();
}

TEST_F(Scenario, StatefulSetDeletedByHandWithPodsOrphanedComesBackAtItsSize) {
  CreateReady(3);
  const auto pods = PodUids(world);
  auto sts = world.Find(res::kStatefulSets, "c-dc1-r1");
  ASSERT_TRUE(
      world.Delete(res::kStatefulSets, "ns", "c-dc1-r1", sts->uid(), Deletion::kOrphanDependents)
          .ok());
  world.Tick();
  ASSERT_TRUE(RunUntil([&] { return world.StatefulSetReplicas("c-dc1-r1") >= 0 && Ready(); }));
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  EXPECT_EQ(PodUids(world), pods);
  ExpectQuiet();
}

TEST_F(Scenario, OneFailedApplyHoldsBackNeitherTheOtherRacksNorTheRoll) {
  CreateReady(2, /*racks=*/2);
  world.fail_apply_once.insert("StatefulSet/c-dc1-r1");
  world.PatchCluster({{"spec", {{"config", {{"concurrent_compactors", 2}}}}}});
  const size_t before = world.write_log.size();
  auto result = Pass();
  EXPECT_FALSE(result.ok());  // reported, retried with backoff
  std::vector<std::string> writes(world.write_log.begin() + static_cast<long>(before),
                                  world.write_log.end());
  EXPECT_NE(std::find(writes.begin(), writes.end(), "APPLY StatefulSet/c-dc1-r2"), writes.end())
      << "the second rack waited for the first";
  EXPECT_EQ(world.Condition(condition::kReady)["reason"], reason::kReconcileError);
  EXPECT_TRUE(absl::StrContains(Message(world, condition::kReady), "c-dc1-r1"));
  ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
