// Scenarios of the repair scheduler (repair_schedules.h) with the Repair runner over the
// in-memory cluster: a 3-node Cluster, keyspaces at RF 3. What must hold: a schedule creates
// one Repair per run, on time, skips a run while its previous Repair runs, and keeps its
// history limits; the coverage records each table's last repair before any Repair is deleted;
// the automatic schedule repairs every table again within its gc_grace_seconds, one Repair at
// a time; a schedule the operator cannot read is reported and creates nothing.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "api/v1alpha1/repair.h"
#include "kube/resource.h"
#include "operator/repair_schedules.h"
#include "operator/repairs.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;

class RepairScheduleScenario : public Scenario {
 protected:
  void SetUp() override {
    CreateReady(3);
    for (const char* ks : {"ks", "other"}) {
      world.keyspaces[ks] = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"},
                             {"dc1", "3"}};
    }
    world.tables["ks"] = {"t", "u"};
    world.tables["other"] = {"o"};
    world.keyspaces["single"] = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"},
                                 {"dc1", "1"}};
    world.tables["single"] = {"s"};
    runner = std::make_unique<RepairReconciler>(world.seams(), world.repair_caches());
    scheduler = std::make_unique<RepairScheduler>(world.seams(), world.repair_schedule_caches());
  }

  // One pass of the scheduler, of the runner for each Repair, and of the Cluster's reconciler
  // (which ticks the world by 5 s).
  void Step() {
    auto r = scheduler->Reconcile({"ns", "c"});
    if (!r.ok()) last_error = std::string(r.status().message());
    for (const kube::ObjectPtr& repair : world.List(kRepairs)) {
      auto run = runner->Reconcile({"ns", repair->name()});
      if (!run.ok()) last_error = std::string(run.status().message());
    }
    ASSERT_TRUE(Pass().ok());
    // Throughout: never two Repairs of the automatic schedule, nor any with another, at once.
    int running = 0;
    for (const kube::ObjectPtr& repair : world.List(kRepairs)) {
      if (!ParseRepairStatus(repair->json().value("status", Json::object())).Finished()) {
        ++running;
      }
    }
    max_running = std::max(max_running, running);
  }
  void StepFor(absl::Duration d) {
    for (int i = 0; i < d / absl::Seconds(5); ++i) Step();
  }

  // The automatic schedule off, and schedule "minutely": keyspace ks every minute, one segment
  // per node at full speed, with `fields` added.
  void ScheduleEveryMinute(const Json& fields = Json::object()) {
    Json minutely = {{"name", "minutely"},
                     {"schedule", "* * * * *"},
                     {"keyspaces", {"ks"}},
                     {"segmentsPerNode", 1},
                     {"intensity", 1}};
    minutely.update(fields);
    world.PatchCluster(
        {{"spec", {{"autoRepair", {{"enabled", false}}}, {"repairs", Json::array({minutely})}}}});
  }

  std::vector<kube::ObjectPtr> RepairsOf(const std::string& schedule) const {
    std::vector<kube::ObjectPtr> out;
    for (const kube::ObjectPtr& r : world.List(kRepairs)) {
      if (r->label(kLabelRepairSchedule).value_or("") == schedule) out.push_back(r);
    }
    return out;
  }
  static std::string PhaseOf(const kube::ObjectPtr& r) {
    return kube::StringField(r->json().value("status", Json::object()), "phase");
  }
  std::map<std::string, repair::TableCoverage> Coverage() const {
    std::map<std::string, repair::TableCoverage> out;
    for (const auto& t : ParseRepairCoverage(world.Status())) out[t.Key()] = t;
    return out;
  }
  int Events(const std::string& reason) const {
    int n = 0;
    for (const RecordedEvent& e : world.events) n += e.reason == reason;
    return n;
  }

  std::unique_ptr<RepairReconciler> runner;
  std::unique_ptr<RepairScheduler> scheduler;
  std::string last_error;
  int max_running = 0;
};

TEST_F(RepairScheduleScenario, AScheduleEveryMinuteCreatesARepairPerRunAndKeepsItsHistory) {
  ScheduleEveryMinute({{"successfulRepairsHistoryLimit", 2}});
  std::set<std::string> created;
  for (int i = 0; i < 5 * 12; ++i) {  // five minutes
    Step();
    for (const kube::ObjectPtr& r : RepairsOf("minutely")) created.insert(r->name());
  }
  // One per minute, named after its minute, each created within a pass of its time.
  EXPECT_GE(created.size(), 4u) << last_error;
  EXPECT_LE(created.size(), 6u);
  for (const std::string& name : created) {
    EXPECT_TRUE(absl::StartsWith(name, "c-minutely-2026")) << name;
  }
  EXPECT_EQ(Events(reason::kRepairScheduled), int(created.size()));
  // The history limit: two Complete kept (a third may be running; one that completed in the
  // last step is pruned by the scheduler's next pass).
  ASSERT_TRUE(scheduler->Reconcile({"ns", "c"}).ok()) << last_error;
  int complete = 0;
  for (const kube::ObjectPtr& r : RepairsOf("minutely")) complete += PhaseOf(r) == "Complete";
  EXPECT_EQ(complete, 2);
  // Deleted Repairs left their time in the coverage: ks's tables repaired by the newest one.
  const auto coverage = Coverage();
  ASSERT_TRUE(coverage.contains("ks.t")) << world.Status().dump(2);
  EXPECT_TRUE(coverage.at("ks.t").Repaired());
  EXPECT_TRUE(absl::StartsWith(coverage.at("ks.t").repair, "c-minutely-"));
  EXPECT_FALSE(coverage.at("other.o").Repaired());  // never in the schedule's keyspaces
  EXPECT_FALSE(coverage.contains("single.s"));      // one replica: nothing to repair
  EXPECT_EQ(coverage.at("ks.t").gc_grace_seconds, 864000);
}

TEST_F(RepairScheduleScenario, ARunIsSkippedWhileTheSchedulesPreviousRepairRuns) {
  world.repair_ticks = 30;  // each segment 2.5 minutes
  ScheduleEveryMinute();
  StepFor(absl::Minutes(4));
  EXPECT_EQ(RepairsOf("minutely").size(), 1u);
  EXPECT_GE(Events(reason::kRepairSkipped), 2);
  EXPECT_EQ(max_running, 1);
}

TEST_F(RepairScheduleScenario, TheAutomaticScheduleRepairsEveryTableWithinItsGcGrace) {
  // gc_grace an hour: each table due within 30 minutes of its first sight, then again 15 to 45
  // minutes after its last repair (a keyspace's repair takes about 4 minutes here: 48
  // segments, one at a time at RF 3 of 3).
  for (const char* t : {"ks.t", "ks.u", "other.o"}) world.gc_grace_seconds[t] = 3600;
  world.PatchCluster({{"spec", {{"autoRepair", {{"intensity", 1}}}}}});
  StepFor(absl::Minutes(1));
  EXPECT_TRUE(world.List(kRepairs).empty());  // a new cluster: no burst of first repairs
  StepFor(absl::Minutes(44));
  auto coverage = Coverage();
  ASSERT_EQ(coverage.size(), 3u) << world.Status().dump(2) << last_error;
  for (const auto& [key, t] : coverage) EXPECT_TRUE(t.Repaired()) << key << last_error;
  EXPECT_TRUE(world.HasEvent(reason::kAutoRepairScheduled));
  // Over the next three hours every table stays within its gc_grace, one Repair at a time.
  for (int i = 0; i < 3 * 60 * 12; ++i) {
    Step();
    for (const auto& [key, t] : Coverage()) {
      ASSERT_LT(world.Now() - t.last_repaired, absl::Seconds(3600)) << key << " at pass " << i;
    }
  }
  EXPECT_EQ(max_running, 1);
  const size_t autos = RepairsOf(kAutoRepairSchedule).size();
  EXPECT_LE(autos, 3u + 3u);  // history limits: 3 complete, 3 failed at most
  // Repaired often enough, not constantly: 3 hours / (15 to 45 minutes) per keyspace.
  EXPECT_GE(Events(reason::kAutoRepairScheduled), 2 * 4);
  EXPECT_LE(Events(reason::kAutoRepairScheduled), 2 * 13 + 2);
}

TEST_F(RepairScheduleScenario, DisabledItCreatesNothingAndAnUnreadableScheduleIsReportedOnce) {
  world.PatchCluster(
      {{"spec",
        {{"autoRepair", {{"enabled", false}}},
         {"repairs", {{{"name", "bad"}, {"schedule", "* * * * *"}, {"timeZone", "Mars/Base"}}}}}}});
  StepFor(absl::Minutes(2));
  EXPECT_TRUE(world.List(kRepairs).empty());
  EXPECT_EQ(Events(reason::kInvalidSchedule), 1);
  // The coverage is kept all the same: every replicated table, none repaired yet.
  EXPECT_EQ(Coverage().size(), 3u);
}

}  // namespace
}  // namespace ringkeeper::testing
