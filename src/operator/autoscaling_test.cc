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
                    {"cpuAboveSince", "2026-01-01T00:00:00Z"},
                    {"atMaximum", true},
                    {"lastScaleUp", {{"to", 4}}}}}}};
  Json stopped = WithoutTimers(status);
  EXPECT_EQ(stopped["dataCenters"][0],
            Json({{"name", "dc1"}, {"storageUsedPercent", 80}, {"lastScaleUp", {{"to", 4}}}}));
  EXPECT_TRUE(WithoutTimers(nullptr).is_null());
}

AutoscalingSpec CpuSpec(int max, int cpu_percent, absl::Duration period) {
  AutoscalingSpec spec = Spec(max, 75, period);
  spec.cpu_used_percent = cpu_percent;
  return spec;
}

// 3 members requesting 2 cores in all, using `cores`; storage far below its threshold.
DataCenterUsage CpuUsage(double cores, bool known = true) {
  DataCenterUsage u = Usage(3, kGi / 10, 3 * kGi);
  u.cpu_known = known;
  u.cpu_cores_used = cores;
  u.cpu_cores_requested = 2;
  return u;
}

TEST(AutoscalingTest, CpuAboveItsThresholdForThePeriodGrowsWithItsFigures) {
  const AutoscalingSpec spec = CpuSpec(6, 80, absl::Minutes(5));
  auto below = JudgeDataCenter(spec, CpuUsage(1.59), nullptr, kT0);
  EXPECT_FALSE(below.record.contains("cpuAboveSince"));
  auto first = JudgeDataCenter(spec, CpuUsage(1.6), nullptr, kT0);  // exactly 80%
  EXPECT_EQ(first.action, Action::kNone);
  EXPECT_EQ(first.record["cpuAboveSince"], "2026-01-01T00:00:00Z");
  EXPECT_FALSE(first.record.contains("aboveSince"));  // storage at 3%
  EXPECT_FALSE(first.record.contains("cpuUsedPercent")) << "it moves every pass: events only";
  auto almost = JudgeDataCenter(spec, CpuUsage(1.9), first.record, kT0 + absl::Seconds(299));
  EXPECT_EQ(almost.action, Action::kNone);
  auto grown = JudgeDataCenter(spec, CpuUsage(1.9), almost.record, kT0 + absl::Minutes(5));
  EXPECT_EQ(grown.action, Action::kGrow);
  // The reason first, then the other criterion's figures.
  EXPECT_EQ(grown.figures,
            "Cassandra's CPU use 1.90 cores is 95% of the 2 cores its 3 members request "
            "(threshold 80%), at or above it since 2026-01-01T00:00:00Z (5m; period 5m); data "
            "load 102.4 MiB is 3% of the 3.0 GiB its 3 members request (threshold 75%)");
  EXPECT_FALSE(grown.record.contains("cpuAboveSince"));  // measured again on the grown ring
  // Back below: the CPU timer is gone.
  auto dropped = JudgeDataCenter(spec, CpuUsage(1.0), first.record, kT0 + absl::Minutes(1));
  EXPECT_FALSE(dropped.record.contains("cpuAboveSince"));
}

TEST(AutoscalingTest, AnUnknownCpuUseNeitherStartsNorStopsItsTimer) {
  const AutoscalingSpec spec = CpuSpec(6, 80, absl::Minutes(5));
  auto none = JudgeDataCenter(spec, CpuUsage(0, /*known=*/false), nullptr, kT0);
  EXPECT_FALSE(none.record.contains("cpuAboveSince"));
  const Json running = {{"name", "dc1"}, {"cpuAboveSince", "2026-01-01T00:00:00Z"}};
  auto kept = JudgeDataCenter(spec, CpuUsage(0, false), running, kT0 + absl::Minutes(10));
  EXPECT_EQ(kept.record["cpuAboveSince"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(kept.action, Action::kNone) << "no growth on a use not measured";
}

TEST(AutoscalingTest, CpuIsJudgedOnlyWhenAskedAndRequested) {
  // Not asked (cpuUsedPercent unset): any CPU use is ignored.
  auto unasked = JudgeDataCenter(Spec(6, 75, absl::Seconds(30)), CpuUsage(100), nullptr, kT0);
  EXPECT_FALSE(unasked.record.contains("cpuAboveSince"));
  // Asked, but no rack requests CPU: nothing to compare with.
  DataCenterUsage unrequested = CpuUsage(100);
  unrequested.cpu_cores_requested = 0;
  EXPECT_FALSE(JudgeDataCenter(CpuSpec(6, 80, absl::Seconds(30)), unrequested, nullptr, kT0)
                   .record.contains("cpuAboveSince"));
}

TEST(AutoscalingTest, BothCriteriaAboveGiveBothFiguresAndOneGrowth) {
  const AutoscalingSpec spec = CpuSpec(6, 50, absl::Minutes(1));
  DataCenterUsage both = CpuUsage(1.5);
  both.load_bytes = 3 * kGi;  // 100% of the storage too (threshold 75%)
  auto first = JudgeDataCenter(spec, both, nullptr, kT0);
  auto grown = JudgeDataCenter(spec, both, first.record, kT0 + absl::Minutes(1));
  EXPECT_EQ(grown.action, Action::kGrow);
  EXPECT_NE(grown.figures.find("data load 3.0 GiB is 100%"), std::string::npos) << grown.figures;
  EXPECT_NE(grown.figures.find("; Cassandra's CPU use 1.50 cores is 75%"), std::string::npos)
      << grown.figures;
  // At the maximum, the CPU says so too, once.
  auto at_max = JudgeDataCenter(CpuSpec(3, 50, absl::Minutes(1)), CpuUsage(1.5), first.record,
                                kT0 + absl::Minutes(1));
  EXPECT_EQ(at_max.action, Action::kAtMaximum);
  auto again = JudgeDataCenter(CpuSpec(3, 50, absl::Minutes(1)), CpuUsage(1.5), at_max.record,
                               kT0 + absl::Minutes(2));
  EXPECT_EQ(again.action, Action::kNone);
  EXPECT_EQ(again.record["atMaximum"], true);
}

TEST(AutoscalingTest, CpuQuantitiesAndWhatARackRequests) {
  EXPECT_DOUBLE_EQ(ParseCpuCores("250m"), 0.25);
  EXPECT_DOUBLE_EQ(ParseCpuCores("2"), 2);
  EXPECT_DOUBLE_EQ(ParseCpuCores("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(ParseCpuCores("2000m"), 2);
  EXPECT_EQ(ParseCpuCores(""), 0);
  EXPECT_EQ(ParseCpuCores("lots"), 0);
  EXPECT_EQ(ParseCpuCores("-1"), 0);
  DataCenterSpec dc = Dc("dc1", {Rack("a", 2), Rack("b", 1)});
  dc.racks[0].resources = {{"requests", {{"cpu", "500m"}}}, {"limits", {{"cpu", "2"}}}};
  dc.racks[1].resources = {{"limits", {{"cpu", "1"}}}};  // requested as its limit
  EXPECT_DOUBLE_EQ(RequestedCores(dc), 2 * 0.5 + 1);
  dc.racks[1].resources = Json::object();
  EXPECT_EQ(RequestedCores(dc), 0) << "a rack without CPU: the data center is not judged on it";
}

TEST(CpuRatesTest, TwoReadingsMakeARateAndARestartStartsOver) {
  CpuRates rates(absl::Seconds(10));
  const int64_t kSecond = 1'000'000'000;
  EXPECT_EQ(rates.Observe("pod-a", 100 * kSecond, kT0), std::nullopt);  // one reading
  // Too close to the first to tell: still none.
  EXPECT_EQ(rates.Observe("pod-a", 101 * kSecond, kT0 + absl::Seconds(5)), std::nullopt);
  // 30 s of CPU over 20 s: 1.5 cores.
  EXPECT_EQ(rates.Observe("pod-a", 130 * kSecond, kT0 + absl::Seconds(20)), 1.5);
  // Within the interval, the last rate stands.
  EXPECT_EQ(rates.Observe("pod-a", 131 * kSecond, kT0 + absl::Seconds(25)), 1.5);
  EXPECT_EQ(rates.Observe("pod-a", 135 * kSecond, kT0 + absl::Seconds(30)), 0.5);
  // The process restarted (its time went back): a first reading again.
  EXPECT_EQ(rates.Observe("pod-a", 2 * kSecond, kT0 + absl::Seconds(40)), std::nullopt);
  EXPECT_EQ(rates.Observe("pod-a", 7 * kSecond, kT0 + absl::Seconds(50)), 0.5);
  // Pods apart.
  EXPECT_EQ(rates.Observe("pod-b", 7 * kSecond, kT0 + absl::Seconds(50)), std::nullopt);
}

TEST(CpuRatesTest, APodNotReadForLongIsForgotten) {
  CpuRates rates(absl::Seconds(10), absl::Minutes(30));
  const int64_t kSecond = 1'000'000'000;
  EXPECT_EQ(rates.Observe("gone", kSecond, kT0), std::nullopt);
  EXPECT_EQ(rates.Observe("other", kSecond, kT0 + absl::Minutes(31)), std::nullopt);
  // Swept: "gone" starts over rather than averaging over half an hour.
  EXPECT_EQ(rates.Observe("gone", 2 * kSecond, kT0 + absl::Minutes(31)), std::nullopt);
}

}  // namespace
}  // namespace ringkeeper
