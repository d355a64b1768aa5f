#include "operator/autoscaling.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace ringkeeper {
namespace {

using kube::Json;
using Action = AutoscaleVerdict::Action;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
constexpr int64_t kGi = int64_t{1} << 30;

AutoscalingSpec Spec(int max, int percent, absl::Duration period) {
  return {.enabled = true, .max_members = max, .storage_used_percent = percent, .period = period};
}

RackSpec Rack(const std::string& name, int members) {
  RackSpec rack;
  rack.name = name;
  rack.members = members;
  return rack;
}

DataCenterSpec Dc(const std::string& name, std::vector<RackSpec> racks) {
  DataCenterSpec dc;
  dc.name = name;
  dc.racks = std::move(racks);
  return dc;
}

DataCenterUsage Usage(int members, int64_t load, int64_t requested) {
  return {.dc = "dc1", .members = members, .load_bytes = load, .requested_bytes = requested};
}

TEST(AutoscalingTest, BelowTheThresholdNothingIsTimed) {
  auto v = JudgeDataCenter(Spec(6, 50, absl::Minutes(5)), Usage(3, 3 * kGi / 2 - 1, 3 * kGi),
                           nullptr, kT0);
  EXPECT_EQ(v.action, Action::kNone);
  EXPECT_EQ(v.record["storageUsedPercent"], 49);
  EXPECT_FALSE(v.record.contains("loadBytes")) << "bytes move with every write: percent only";
  EXPECT_FALSE(v.record.contains("aboveSince"));
  // Back below after having been above: the timer is gone.
  auto dropped = JudgeDataCenter(Spec(6, 50, absl::Minutes(5)), Usage(3, kGi, 3 * kGi),
                                 {{"name", "dc1"}, {"aboveSince", "2026-01-01T00:00:00Z"}},
                                 kT0 + absl::Minutes(10));
  EXPECT_EQ(dropped.action, Action::kNone);
  EXPECT_FALSE(dropped.record.contains("aboveSince"));
}

TEST(AutoscalingTest, GrowsOnlyOnceTheUsageStayedAboveForThePeriod) {
  const AutoscalingSpec spec = Spec(6, 50, absl::Minutes(5));
  const DataCenterUsage at_threshold = Usage(3, 3 * kGi / 2, 3 * kGi);  // exactly 50%
  auto first = JudgeDataCenter(spec, at_threshold, nullptr, kT0);
  EXPECT_EQ(first.action, Action::kNone);
  EXPECT_EQ(first.record["aboveSince"], "2026-01-01T00:00:00Z");
  auto almost = JudgeDataCenter(spec, at_threshold, first.record, kT0 + absl::Seconds(299));
  EXPECT_EQ(almost.action, Action::kNone);
  EXPECT_EQ(almost.record["aboveSince"], "2026-01-01T00:00:00Z");
  auto due = JudgeDataCenter(spec, at_threshold, almost.record, kT0 + absl::Minutes(5));
  EXPECT_EQ(due.action, Action::kGrow);
  EXPECT_FALSE(due.record.contains("aboveSince")) << "measured again on the grown ring";
  EXPECT_EQ(due.figures,
            "data load 1.5 GiB is 50% of the 3.0 GiB its 3 members request (threshold 50%), at "
            "or above it since 2026-01-01T00:00:00Z (5m; period 5m)");
}

TEST(AutoscalingTest, AtTheMaximumItSaysSoOnceAndNeverGrows) {
  const AutoscalingSpec spec = Spec(3, 50, absl::Minutes(5));
  Json entry = {{"name", "dc1"},
                {"aboveSince", "2026-01-01T00:00:00Z"},
                {"lastScaleUp", {{"from", 2}, {"to", 3}}}};
  auto v = JudgeDataCenter(spec, Usage(3, 3 * kGi, 3 * kGi), entry, kT0 + absl::Minutes(6));
  EXPECT_EQ(v.action, Action::kAtMaximum);
  EXPECT_EQ(v.record["atMaximum"], true);
  EXPECT_EQ(v.record["lastScaleUp"]["to"], 3) << "the last decision is kept";
  auto again = JudgeDataCenter(spec, Usage(3, 3 * kGi, 3 * kGi), v.record, kT0 + absl::Hours(2));
  EXPECT_EQ(again.action, Action::kNone) << "said once while it stays above";
  EXPECT_EQ(again.record["atMaximum"], true);
  // The maximum raised: it grows at once (it has been above for longer than the period).
  auto raised = JudgeDataCenter(Spec(4, 50, absl::Minutes(5)), Usage(3, 3 * kGi, 3 * kGi),
                                again.record, kT0 + absl::Hours(2));
  EXPECT_EQ(raised.action, Action::kGrow);
}

TEST(AutoscalingTest, NoRequestNoGrowthAndNoOverflowAtPetabytes) {
  auto none = JudgeDataCenter(Spec(6, 1, absl::Seconds(30)), Usage(3, kGi, 0), nullptr, kT0);
  EXPECT_EQ(none.action, Action::kNone);
  EXPECT_EQ(none.record["storageUsedPercent"], 0);
  const int64_t petabyte = int64_t{1} << 50;
  auto big = JudgeDataCenter(Spec(6, 90, absl::Seconds(30)), Usage(3, 2 * petabyte, 3 * petabyte),
                             nullptr, kT0);
  EXPECT_EQ(big.record["storageUsedPercent"], 66);
  EXPECT_FALSE(big.record.contains("aboveSince"));
}

TEST(AutoscalingTest, AMaximumBelowADataCentersSizeIsRefusedNamingIt) {
  DataCenterSpec dc1 = Dc("dc1", {Rack("a", 2)});
  DataCenterSpec dc2 = Dc("dc2", {Rack("a", 2), Rack("b", 2)});
  EXPECT_EQ(MaximumRefusal(Spec(4, 50, absl::Minutes(1)), {dc1, dc2}), "");
  EXPECT_EQ(MaximumRefusal(Spec(3, 50, absl::Minutes(1)), {dc1, dc2}),
            "spec.autoscaling.maxMembers 3 is below data center dc2's 4 members: nothing grows "
            "until it is raised (members are never lowered to it)");
}

TEST(AutoscalingTest, TheRackWithTheFewestMembersGrowsTheFirstOfThemOnATie) {
  DataCenterSpec dc = Dc("dc1", {Rack("a", 2), Rack("b", 1), Rack("c", 1)});
  EXPECT_EQ(RackToGrow(dc)->name, "b");
  dc.racks[1].members = 2;
  EXPECT_EQ(RackToGrow(dc)->name, "c");
}

TEST(AutoscalingTest, RequestedBytesCountsEveryMembersClaim) {
  DataCenterSpec dc = Dc("dc1", {Rack("a", 2), Rack("b", 1)});
  dc.racks[0].volume_claim_template = {
      {"spec", {{"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  dc.racks[1].volume_claim_template = {
      {"spec", {{"resources", {{"requests", {{"storage", "512Mi"}}}}}}}};
  EXPECT_EQ(RequestedBytes(dc), 2 * kGi + kGi / 2);
}

TEST(AutoscalingTest, WithoutTimersKeepsTheFiguresAndTheLastDecision) {
  Json status = {{"dataCenters",
                  {{{"name", "dc1"},
                    {"storageUsedPercent", 80},
                    {"aboveSince", "2026-01-01T00:00:00Z"},
                    {"atMaximum", true},
                    {"lastScaleUp", {{"to", 4}}}}}}};
  Json stopped = WithoutTimers(status);
  EXPECT_EQ(stopped["dataCenters"][0],
            Json({{"name", "dc1"}, {"storageUsedPercent", 80}, {"lastScaleUp", {{"to", 4}}}}));
  EXPECT_TRUE(WithoutTimers(nullptr).is_null());
}

}  // namespace
}  // namespace ringkeeper
