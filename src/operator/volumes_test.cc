#include "operator/volumes.h"

#include "api/v1alpha1/catalogue.h"
#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

ClusterSpec SpecAt(const std::string& size) {
  ClusterSpec c;
  c.name = "c";
  c.ns = "ns";
  DataCenterSpec dc;
  dc.name = "dc1";
  RackSpec rack;
  rack.name = "r1";
  rack.members = 2;
  rack.volume_claim_template = {{"metadata", {{"name", "data"}}},
                                {"spec", {{"resources", {{"requests", {{"storage", size}}}}}}}};
  dc.racks.push_back(rack);
  c.dcs.push_back(dc);
  return c;
}

kube::ObjectPtr StatefulSet(const std::string& size) {
  return std::make_shared<const kube::Object>(
      Json{{"metadata", {{"name", "c-dc1-r1"}, {"namespace", "ns"}}},
           {"spec",
            {{"replicas", 2},
             {"volumeClaimTemplates",
              {{{"metadata", {{"name", "data"}}},
                {"spec", {{"resources", {{"requests", {{"storage", size}}}}}}}}}}}}});
}

kube::ObjectPtr Claim(const std::string& name, const std::string& request,
                      const std::string& capacity) {
  Json j = {{"metadata", {{"name", name}, {"namespace", "ns"}}},
            {"spec", {{"resources", {{"requests", {{"storage", request}}}}}}}};
  if (!capacity.empty()) j["status"] = {{"capacity", {{"storage", capacity}}}};
  return std::make_shared<const kube::Object>(j);
}

TEST(VolumesTest, AtSizeIsDone) {
  auto racks = ObserveVolumes(SpecAt("1Gi"), {{"c-dc1-r1", StatefulSet("1Gi")}},
                              {{"data-c-dc1-r1-0", Claim("data-c-dc1-r1-0", "1Gi", "1Gi")},
                               {"data-c-dc1-r1-1", Claim("data-c-dc1-r1-1", "1Gi", "1Gi")}});
  ASSERT_EQ(racks.size(), 1u);
  EXPECT_TRUE(racks[0].Done());
  EXPECT_EQ(racks[0].bound, 2);
  EXPECT_TRUE(JudgeVolumes(racks, {}).resized);
}

TEST(VolumesTest, GrowthOwesClaimsThenTemplateThenResize) {
  std::map<std::string, kube::ObjectPtr> claims = {
      {"data-c-dc1-r1-0", Claim("data-c-dc1-r1-0", "1Gi", "1Gi")},
      {"data-c-dc1-r1-1", Claim("data-c-dc1-r1-1", "2Gi", "1Gi")},
      // Not this rack's: another volume name, another StatefulSet, no ordinal.
      {"logs-c-dc1-r1-0", Claim("logs-c-dc1-r1-0", "1Gi", "1Gi")},
      {"data-c-dc1-r10-0", Claim("data-c-dc1-r10-0", "1Gi", "1Gi")},
      {"data-c-dc1-r1-x", Claim("data-c-dc1-r1-x", "1Gi", "1Gi")}};
  auto racks = ObserveVolumes(SpecAt("2Gi"), {{"c-dc1-r1", StatefulSet("1Gi")}}, claims);
  const RackVolumes& v = racks[0];
  EXPECT_EQ(v.claims.size(), 2u);
  ASSERT_EQ(v.below_request.size(), 1u);
  EXPECT_EQ(v.below_request[0]->name(), "data-c-dc1-r1-0");
  EXPECT_TRUE(v.TemplateBelow());
  EXPECT_EQ(v.at_size, 0);
  EXPECT_FALSE(v.Done());
  const VolumesVerdict verdict = JudgeVolumes(racks, {});
  EXPECT_FALSE(verdict.resized);
  EXPECT_EQ(verdict.reason, reason::kResizingVolumes);
  EXPECT_EQ(verdict.message,
            "dc1/r1: 0 of 2 volumes at 2Gi, 1 claims to raise, StatefulSet template at 1Gi");
}

TEST(VolumesTest, BiggerCapacityThanAskedCountsAndPendingClaimsWait) {
  auto racks = ObserveVolumes(SpecAt("2Gi"), {{"c-dc1-r1", StatefulSet("2Gi")}},
                              {{"data-c-dc1-r1-0", Claim("data-c-dc1-r1-0", "2Gi", "10Gi")},
                               {"data-c-dc1-r1-1", Claim("data-c-dc1-r1-1", "2Gi", "")}});
  EXPECT_EQ(racks[0].bound, 1);
  EXPECT_EQ(racks[0].at_size, 1);
  EXPECT_TRUE(racks[0].Done());
}

TEST(VolumesTest, UnreadableQuantitiesNeverGrowAnything) {
  auto racks = ObserveVolumes(SpecAt("lots"), {{"c-dc1-r1", StatefulSet("1Gi")}},
                              {{"data-c-dc1-r1-0", Claim("data-c-dc1-r1-0", "1Gi", "1Gi")}});
  EXPECT_FALSE(racks[0].TemplateBelow());
  EXPECT_TRUE(racks[0].below_request.empty());
}

TEST(VolumesTest, BlockedClassIsTheVerdict) {
  auto racks = ObserveVolumes(SpecAt("2Gi"), {{"c-dc1-r1", StatefulSet("1Gi")}}, {});
  const VolumesVerdict verdict =
      JudgeVolumes(racks, {"dc1/r1: StorageClass local does not allow volume expansion"});
  EXPECT_FALSE(verdict.resized);
  EXPECT_EQ(verdict.reason, reason::kStorageClassNotExpandable);
  EXPECT_EQ(verdict.message, "dc1/r1: StorageClass local does not allow volume expansion");
}

TEST(VolumesTest, TemplateToApplyKeepsTheExistingSizeUntilRecreated) {
  const ClusterSpec c = SpecAt("2Gi");
  const RackSpec& rack = c.dcs[0].racks[0];
  EXPECT_EQ(StorageRequest(ClaimTemplateToApply(rack, StatefulSet("1Gi"))["spec"]), "1Gi");
  EXPECT_EQ(StorageRequest(ClaimTemplateToApply(rack, nullptr)["spec"]), "2Gi");
}

TEST(VolumesTest, SizesOfClaimsWithoutThemAreEmpty) {
  // A claim still Pending has a status without capacity; a spec may lack requests.
  EXPECT_EQ(StorageCapacity(Json{{"status", {{"phase", "Pending"}}}}), "");
  EXPECT_EQ(StorageCapacity(Json{{"status", "odd"}}), "");
  EXPECT_EQ(StorageCapacity(Json::object()), "");
  EXPECT_EQ(StorageRequest(Json{{"resources", {{"limits", {{"storage", "1Gi"}}}}}}), "");
  EXPECT_EQ(StorageRequest(Json{{"resources", "odd"}}), "");
  EXPECT_EQ(StorageRequest(Json{{"resources", {{"requests", {{"storage", "3Gi"}}}}}}), "3Gi");
}

TEST(VolumesTest, ClaimGrowthCarriesOnlyTheRequest) {
  const Json growth = ClaimGrowth(*Claim("data-c-dc1-r1-0", "1Gi", "1Gi"), "2Gi");
  EXPECT_EQ(growth, (Json{{"apiVersion", "v1"},
                          {"kind", "PersistentVolumeClaim"},
                          {"metadata", {{"name", "data-c-dc1-r1-0"}, {"namespace", "ns"}}},
                          {"spec", {{"resources", {{"requests", {{"storage", "2Gi"}}}}}}}}));
}

}  // namespace
}  // namespace ringkeeper
