// Scenarios of spec.autoscaling (autoscaling.h): a data center grows by one member once its data
// load over requested storage (or its Cassandra's CPU use over requested CPU) stayed at or above
// the threshold for the period, through the normal scale-up, and stops at the maximum; the timer
// runs only while nothing else does and survives a new operator; a maximum below the size is
// refused and changes nothing.
#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;

constexpr int64_t kMi = int64_t{1} << 20;

class AutoscalingScenario : public Scenario {
 protected:
  void Autoscale(int max, int percent, const std::string& period) {
    world.PatchCluster(
        {{"spec",
          {{"autoscaling",
            {{"maxMembers", max}, {"storageUsedPercent", percent}, {"period", period}}}}}});
  }
  // On CPU: storage at its highest threshold (never reached here).
  void AutoscaleOnCpu(int max, int cpu_percent, const std::string& period) {
    world.PatchCluster({{"spec",
                         {{"autoscaling",
                           {{"maxMembers", max},
                            {"storageUsedPercent", 99},
                            {"cpuUsedPercent", cpu_percent},
                            {"period", period}}}}}});
  }
  // The seed-like cluster of 3 in one rack whose pods request `cpu` each.
  void CreateReadyRequestingCpu(const std::string& cpu) {
    Json manifest = ClusterManifest(3);
    manifest["spec"]["dataCenter"]["racks"][0]["resources"] = {{"requests", {{"cpu", cpu}}}};
    key = world.CreateCluster(manifest);
    ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
  }
  void CpuEach(double cores) {
    for (const FakeNode* n : world.Ring()) world.Node(n->pod)->cpu_cores = cores;
  }
  // Every node of the ring holds `each` bytes of live data (the Load its agent reports).
  void LoadEach(int64_t each) {
    for (const FakeNode* n : world.Ring()) world.Node(n->pod)->load_bytes = each;
  }
  int SpecMembers() const {
    return world.Cluster()->json()["spec"]["dataCenter"]["racks"][0]["members"].get<int>();
  }
  Json Entry() const { return world.StatusField("autoscaling")["dataCenters"][0]; }
  int EventsOf(const std::string& reason) const {
    int n = 0;
    for (const auto& e : world.events) n += e.reason == reason;
    return n;
  }
  std::string EventOf(const std::string& reason) const {
    for (const auto& e : world.events) {
      if (e.reason == reason) return e.message;
    }
    return "";
  }
};

TEST_F(AutoscalingScenario, GrowsByOneAfterThePeriodThroughTheNormalScaleUpThenStopsAtTheMaximum) {
  CreateReady(3);
  LoadEach(600 * kMi);  // 1,800 MiB of the 3 GiB requested: 58%
  Autoscale(/*max=*/4, /*percent=*/50, "1m");
  // The timer starts at the first settled pass; nothing grows before a minute of it.
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("aboveSince"); }, 3));
  const absl::Time since = *kube::ParseRfc3339(Entry()["aboveSince"].get<std::string>());
  EXPECT_EQ(Entry()["storageUsedPercent"], 58);
  int most_joining = 0;
  ASSERT_TRUE(RunUntil([&] { return SpecMembers() == 4; }, 20,
                       [&] {
                         if (SpecMembers() == 3) {
                           EXPECT_LT(world.Now() - since, absl::Minutes(1) + absl::Seconds(5));
                         }
                       }));
  EXPECT_GE(world.Now() - since, absl::Minutes(1));
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 1);
  const std::string grew = EventOf(reason::kAutoscaledUp);
  EXPECT_TRUE(absl::StartsWith(grew,
                               "data center dc1 grows from 3 to 4 members (rack r1: 3 to 4): "
                               "data load 1.8 GiB is 58% of the 3.0 GiB its 3 members "
                               "request (threshold 50%)"))
      << grew;
  EXPECT_EQ(Entry()["lastScaleUp"]["from"], 3);
  EXPECT_EQ(Entry()["lastScaleUp"]["to"], 4);
  // The normal scale-up: one joining, then cleanup of the members that gave ranges away.
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }, 60,
                       [&] {
                         int joining = 0;
                         for (const FakeNode* n : world.Ring()) joining += n->state == "J";
                         most_joining = std::max(most_joining, joining);
                       }));
  EXPECT_EQ(most_joining, 1);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 4);
  EXPECT_TRUE(world.HasEvent(reason::kScalingUp));
  EXPECT_TRUE(world.HasEvent(reason::kCleanup));

  // Still above (the new member filled as well): at the maximum it says so once, grows no more.
  LoadEach(900 * kMi);
  ASSERT_TRUE(RunUntil([&] { return Entry().value("atMaximum", false); }, 30));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Pass().ok());  // 150 s more of the fake clock
  EXPECT_EQ(SpecMembers(), 4);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 4);
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 1);
  EXPECT_EQ(EventsOf(reason::kAutoscalingAtMaximum), 1);
  EXPECT_TRUE(absl::StrContains(EventOf(reason::kAutoscalingAtMaximum),
                                "stays at spec.autoscaling.maxMembers (4)"));
  ExpectQuiet();

  // It never shrinks on its own: usage far below, members stay.
  LoadEach(kMi);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(SpecMembers(), 4);
  EXPECT_FALSE(Entry().contains("aboveSince"));
  EXPECT_FALSE(Entry().contains("atMaximum"));
  ExpectQuiet();
}

TEST_F(AutoscalingScenario, UnderLastingLoadItGrowsOneAtATimeTimedOnlyOnASettledRing) {
  CreateReady(3);
  Autoscale(5, 50, "30s");
  int most_joining = 0;
  // Every node, the new ones included, fills up at once: the usage stays above throughout.
  ASSERT_TRUE(RunUntil([&] { return Entry().value("atMaximum", false); }, 150,
                       [&] {
                         LoadEach(900 * kMi);
                         int joining = 0;
                         for (const FakeNode* n : world.Ring()) joining += n->state == "J";
                         most_joining = std::max(most_joining, joining);
                         // The timer runs only while nothing else does: no cleanup owed, every
                         // member up, the racks at their size.
                         if (Entry().contains("aboveSince")) {
                           ASSERT_TRUE(world.StatusField("cleanup").is_null())
                               << world.Status().dump();
                           ASSERT_TRUE(Ready()) << world.Status().dump();
                           ASSERT_EQ(world.StatefulSetReplicas("c-dc1-r1"), SpecMembers());
                         }
                       }));
  EXPECT_EQ(SpecMembers(), 5);
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 2);
  EXPECT_EQ(most_joining, 1);
  EXPECT_EQ(Entry()["lastScaleUp"]["from"], 4);
  EXPECT_EQ(Entry()["lastScaleUp"]["to"], 5);
}

TEST_F(AutoscalingScenario, BelowTheThresholdNothingGrowsAndTheUsageIsShown) {
  CreateReady(3);
  LoadEach(400 * kMi);  // 39%
  Autoscale(6, 50, "30s");
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(SpecMembers(), 3);
  EXPECT_EQ(Entry()["storageUsedPercent"], 39);
  EXPECT_FALSE(Entry().contains("aboveSince"));
  EXPECT_FALSE(world.ConditionTrue(condition::kAutoscalingRefused));
  ExpectQuiet();
  // Writes move the load a little all the time: the status is not rewritten for it.
  world.Node(PodOf(0))->load_bytes += 1024;
  ExpectQuiet();
}

TEST_F(AutoscalingScenario, TheTimerStopsWhileAMemberIsDownAndStartsAgainOnceItIsBack) {
  CreateReady(3);
  LoadEach(600 * kMi);
  Autoscale(4, 50, "1m");
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("aboveSince"); }, 3));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Pass().ok());  // 30 s of the minute
  world.never_up.insert(PodOf(1));
  world.Node(PodOf(1))->up = false;
  ASSERT_TRUE(RunUntil([&] { return !Entry().contains("aboveSince"); }, 5));
  for (int i = 0; i < 24; ++i) {  // two minutes down: nothing grows
    ASSERT_TRUE(Pass().ok());
    ASSERT_EQ(SpecMembers(), 3);
    ASSERT_FALSE(Entry().contains("aboveSince"));
  }
  world.never_up.clear();
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("aboveSince"); }, 20));
  const absl::Time since = *kube::ParseRfc3339(Entry()["aboveSince"].get<std::string>());
  ASSERT_TRUE(RunUntil([&] { return SpecMembers() == 4; }, 20,
                       [&] {
                         if (SpecMembers() == 3) {
                           EXPECT_LT(world.Now() - since, absl::Minutes(1) + absl::Seconds(5));
                         }
                       }));
  EXPECT_GE(world.Now() - since, absl::Minutes(1)) << "measured from its return";
}

TEST_F(AutoscalingScenario, ANewOperatorKeepsTheTimerOfTheStatus) {
  CreateReady(3);
  LoadEach(600 * kMi);
  Autoscale(4, 50, "1m");
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("aboveSince"); }, 3));
  const std::string since = Entry()["aboveSince"];
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Pass().ok());
  RestartOperator();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Entry()["aboveSince"], since);
  ASSERT_TRUE(RunUntil([&] { return SpecMembers() == 4; }, 12));
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 1);
}

TEST_F(AutoscalingScenario, AMaximumBelowTheSizeIsRefusedAndChangesNothing) {
  CreateReady(3);
  LoadEach(900 * kMi);  // far above: it would grow if it could
  Autoscale(2, 50, "30s");
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kAutoscalingRefused); }, 3));
  const Json c = world.Condition(condition::kAutoscalingRefused);
  EXPECT_EQ(c["reason"], reason::kMaximumBelowSize);
  EXPECT_TRUE(absl::StrContains(c["message"].get<std::string>(),
                                "maxMembers 2 is below data center dc1's 3 members"))
      << c["message"];
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(SpecMembers(), 3);
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  EXPECT_TRUE(Ready());
  EXPECT_EQ(EventsOf(reason::kMaximumBelowSize), 1);  // one event per refusal
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 0);
  ExpectQuiet();
  // Raised to the size: no longer refused, and at its maximum it says so.
  Autoscale(3, 50, "30s");
  ASSERT_TRUE(RunUntil([&] { return Entry().value("atMaximum", false); }, 20));
  EXPECT_FALSE(world.ConditionTrue(condition::kAutoscalingRefused));
  EXPECT_EQ(SpecMembers(), 3);
  ExpectQuiet();
}

TEST_F(AutoscalingScenario, TheFewestMembersRackGrowsInAClusterOfRacks) {
  CreateReady(1, 3);  // r1, r2, r3 of one member each
  SetMembers(2, "r1");
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }, 60));
  LoadEach(700 * kMi);  // 2,800 MiB of 4 GiB: 68%
  Autoscale(6, 60, "30s");
  ASSERT_TRUE(RunUntil([&] { return EventsOf(reason::kAutoscaledUp) == 1; }, 20));
  const Json racks = world.Cluster()->json()["spec"]["dataCenter"]["racks"];
  EXPECT_EQ(racks[0]["members"], 2);
  EXPECT_EQ(racks[1]["members"], 2) << "r2 was the first of the racks with one member";
  EXPECT_EQ(racks[2]["members"], 1);
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }, 60));
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r2"), 2);
}

TEST_F(AutoscalingScenario, CpuAboveItsThresholdForThePeriodGrowsByOneAndTheEventSaysWhy) {
  CreateReadyRequestingCpu("500m");  // 1.5 cores requested by the three
  CpuEach(0.45);                     // 90% of each request
  AutoscaleOnCpu(/*max=*/4, /*cpu_percent=*/80, "1m");
  // A rate needs two readings: the first settled pass starts no timer.
  ASSERT_TRUE(Pass().ok());
  EXPECT_FALSE(Entry().contains("cpuAboveSince")) << Entry().dump();
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("cpuAboveSince"); }, 4));
  EXPECT_FALSE(Entry().contains("aboveSince")) << "storage is far below";
  const absl::Time since = *kube::ParseRfc3339(Entry()["cpuAboveSince"].get<std::string>());
  ASSERT_TRUE(RunUntil([&] { return SpecMembers() == 4; }, 20,
                       [&] {
                         if (SpecMembers() == 3) {
                           EXPECT_LT(world.Now() - since, absl::Minutes(1) + absl::Seconds(5));
                         }
                       }));
  EXPECT_GE(world.Now() - since, absl::Minutes(1));
  const std::string grew = EventOf(reason::kAutoscaledUp);
  EXPECT_TRUE(absl::StartsWith(grew,
                               "data center dc1 grows from 3 to 4 members (rack r1: 3 to 4): "
                               "Cassandra's CPU use 1.35 cores is 90% of the 1.5 cores its 3 "
                               "members request (threshold 80%)"))
      << grew;
  // The normal scale-up follows; the new member barely works (the fake's 0.05 cores): 70% of
  // the 2 cores the four request, below the threshold, so nothing more.
  ASSERT_TRUE(RunUntil([&] { return Ready() && world.StatusField("cleanup").is_null(); }, 60));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(SpecMembers(), 4);
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 1);
  EXPECT_FALSE(Entry().contains("cpuAboveSince"));
  // The CPU use, which moves at every pass, is not in the status: nothing is rewritten for it.
  CpuEach(0.2);
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(Pass().ok());
  ExpectQuiet();
}

TEST_F(AutoscalingScenario, ANewOperatorMeasuresCpuAgainButKeepsItsTimer) {
  CreateReadyRequestingCpu("1");
  CpuEach(0.9);
  AutoscaleOnCpu(4, 80, "1m");
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("cpuAboveSince"); }, 5));
  const std::string since = Entry()["cpuAboveSince"];
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Pass().ok());
  RestartOperator();  // no readings: its first pass has no rate
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Entry()["cpuAboveSince"], since) << "kept, neither stopped nor restarted";
  ASSERT_TRUE(RunUntil([&] { return SpecMembers() == 4; }, 12));
  EXPECT_EQ(EventsOf(reason::kAutoscaledUp), 1);
}

TEST_F(AutoscalingScenario, AProcessRestartedInPlaceIsMeasuredAgainNotAsANegativeRate) {
  CreateReadyRequestingCpu("1");
  CpuEach(0.9);
  AutoscaleOnCpu(4, 80, "2m");
  ASSERT_TRUE(RunUntil([&] { return Entry().contains("cpuAboveSince"); }, 5));
  // Its CPU time starts over (a process restarted in its pod, as the kubelet does after a crash):
  // no rate from it until two readings of the new process; the use is never taken as negative.
  world.Node(PodOf(0))->cpu_nanos = 0;
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(Entry().contains("cpuAboveSince"));
  ASSERT_TRUE(RunUntil([&] { return SpecMembers() == 4; }, 30));
  EXPECT_TRUE(absl::StrContains(EventOf(reason::kAutoscaledUp), "Cassandra's CPU use 2.70 cores"))
      << EventOf(reason::kAutoscaledUp);
}

}  // namespace
}  // namespace ringkeeper::testing
