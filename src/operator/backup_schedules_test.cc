// The backup scheduler over the small world: a Backup per run (once, named after the run),
// skipped while one runs or when missed too long ago, retention that purges the index first and
// the object last, never what a Restore reads, and the unreferenced files collected.
#include "operator/backup_schedules.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "backup/layout.h"
#include "gtest/gtest.h"
#include "operator/testing/storage_world.h"

namespace ringkeeper {
namespace {

using kube::Json;
using testing::FakeWorld;
using testing::kNs;

// 2026-12-04 16:00:00 UTC, a multiple of five minutes.
const absl::Time kT0 = absl::FromUnixSeconds(1796400000);

void AddSchedule(FakeWorld& w, Json schedule) {
  Json cluster = w.clusters.Get("ns/c1")->json();
  cluster["spec"]["backups"] = Json::array({std::move(schedule)});
  w.clusters.Upsert(std::make_shared<const kube::Object>(cluster));
}

Json Every5(int keep = 7) {
  return {{"name", "every5"},
          {"schedule", "*/5 * * * *"},
          {"storageLocation", "versity"},
          {"retention", {{"count", keep}, {"orphanFileGracePeriod", "0s"}}}};
}

// A Backup of schedule every5 that started at `start`, in `phase`, whose one node's manifest
// lists `files` (each stored as a data object).
// In location "versity" (S3, bucket "backups") or "nfs" (a filesystem location, its objects
// under its mount path).
void AddScheduledBackup(FakeWorld& w, const std::string& name, absl::Time start,
                        const std::string& phase, const std::vector<std::string>& files,
                        const std::string& location = "versity") {
  const std::string root = location == "nfs" ? "/var/lib/ringkeeper/locations/nfs/" : "backups/";
  const backup::NodePath node{"team", "c1", "c1-dc1-r1-0"};
  backup::Manifest m;
  m.backup = name;
  m.cluster = "c1";
  m.node = node.node;
  m.started = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start, absl::UTCTimeZone());
  m.finished = "t";
  for (const std::string& f : files) {
    const std::string key = backup::DataKey(node, "bk1", "t-1", f, 10, f);
    m.files.push_back({"bk1", "t-1", f, 10, f, key});
    w.stored[root + key] = "0123456789";
  }
  const std::string manifest = backup::ManifestKey(node, name);
  w.stored[root + manifest] = backup::ToJson(m);
  const std::string index = backup::IndexKey("team", "c1", name);
  if (phase == "Complete") w.stored[root + index] = "{}";
  const std::string at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start, absl::UTCTimeZone());
  Json status = {{"phase", phase},
                 {"startTime", at},
                 {"nodes", {{{"pod", node.node}, {"phase", "Done"}, {"manifest", manifest}}}}};
  if (phase == "Complete") {
    status["index"] = (location == "nfs" ? "filesystem://nfs/" : "s3://backups/") + index;
  }
  w.backups.Upsert(std::make_shared<const kube::Object>(
      Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
           {"kind", "Backup"},
           {"metadata",
            {{"name", name},
             {"namespace", kNs},
             {"uid", "uid-" + name},
             {"creationTimestamp", at},
             {"labels", {{kLabelCluster, "c1"}, {kLabelBackupSchedule, "every5"}}}}},
           {"spec", {{"cluster", "c1"}, {"storageLocation", location}}},
           {"status", status}}));
}

std::unique_ptr<BackupScheduler> NewScheduler(FakeWorld& w) {
  Seams seams{&w, &w, &w, &w, &w, nullptr, &w};
  return std::make_unique<BackupScheduler>(
      seams, &w, ScheduleCaches{&w.clusters, &w.backups, &w.restores, &w.pods});
}

bool HasEvent(const FakeWorld& w, const std::string& part) {
  return std::any_of(w.events.begin(), w.events.end(),
                     [&](const std::string& e) { return absl::StrContains(e, part); });
}

TEST(BackupSchedulerTest, ABackupPerRunCreatedOnceAndNamedAfterIt) {
  FakeWorld w;
  w.AddCluster(true);
  AddSchedule(w, Every5());
  w.now = kT0 + absl::Seconds(30);
  auto s = NewScheduler(w);
  auto first = s->Reconcile({kNs, "c1"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(w.created, std::vector<std::string>{"c1-every5-202612041600"});
  const Json b = w.backups.Get("ns/c1-every5-202612041600")->json();
  EXPECT_EQ(b["spec"]["storageLocation"], "versity");
  EXPECT_EQ(b["metadata"]["labels"][kLabelBackupSchedule], "every5");
  EXPECT_EQ(b["metadata"]["ownerReferences"][0]["kind"], "Cluster");
  EXPECT_EQ(first->requeue_after, absl::Seconds(270));  // until 16:05
  EXPECT_TRUE(HasEvent(w, "BackupScheduled"));
  ASSERT_TRUE(s->Reconcile({kNs, "c1"}).ok());
  EXPECT_EQ(w.created.size(), 1u);  // the same run: nothing more
}

TEST(BackupSchedulerTest, ASuspendedScheduleCreatesNothingButStillRetains) {
  FakeWorld w;
  w.AddCluster(true);
  Json schedule = Every5(/*keep=*/1);
  schedule["suspend"] = true;
  AddSchedule(w, schedule);
  AddScheduledBackup(w, "c1-every5-202612041550", kT0 - absl::Minutes(10), "Complete", {"a"});
  AddScheduledBackup(w, "c1-every5-202612041555", kT0 - absl::Minutes(5), "Complete", {"b"});
  w.now = kT0 + absl::Seconds(1);
  ASSERT_TRUE(NewScheduler(w)->Reconcile({kNs, "c1"}).ok());
  EXPECT_TRUE(w.created.empty());
  EXPECT_EQ(w.removed, std::vector<std::string>{"c1-every5-202612041550"});
}

TEST(BackupSchedulerTest, SkippedWhileThePreviousRunsAndWhenMissedTooLongAgo) {
  FakeWorld w;
  w.AddCluster(true);
  AddSchedule(w, Every5());
  AddScheduledBackup(w, "c1-every5-202612041600", kT0, "Running", {"a"});
  w.now = kT0 + absl::Minutes(5);
  auto s = NewScheduler(w);
  ASSERT_TRUE(s->Reconcile({kNs, "c1"}).ok());
  EXPECT_TRUE(w.created.empty());
  EXPECT_TRUE(HasEvent(w, "BackupSkipped"));

  FakeWorld late;
  late.AddCluster(true);
  Json schedule = Every5();
  schedule["startingDeadlineSeconds"] = 60;
  AddSchedule(late, schedule);
  late.now = kT0 + absl::Minutes(2);  // the 16:00 run was missed 2 minutes ago
  ASSERT_TRUE(NewScheduler(late)->Reconcile({kNs, "c1"}).ok());
  EXPECT_TRUE(late.created.empty());
}

TEST(BackupSchedulerTest, RetentionPurgesIndexFirstObjectLastThenTheFilesNoOneLists) {
  FakeWorld w;
  w.AddCluster(true);
  AddSchedule(w, Every5(/*keep=*/2));
  // Four complete backups; each lists the file it added and the one before (compaction away).
  AddScheduledBackup(w, "c1-every5-202612041540", kT0 - absl::Minutes(20), "Complete", {"a"});
  AddScheduledBackup(w, "c1-every5-202612041545", kT0 - absl::Minutes(15), "Complete", {"a", "b"});
  AddScheduledBackup(w, "c1-every5-202612041550", kT0 - absl::Minutes(10), "Complete", {"c"});
  AddScheduledBackup(w, "c1-every5-202612041555", kT0 - absl::Minutes(5), "Complete", {"c", "d"});
  w.now = kT0 - absl::Minutes(1);  // no run due
  ASSERT_TRUE(NewScheduler(w)->Reconcile({kNs, "c1"}).ok());
  EXPECT_EQ(w.removed,
            (std::vector<std::string>{"c1-every5-202612041545", "c1-every5-202612041540"}));
  ASSERT_GE(w.deleted.size(), 4u);
  EXPECT_EQ(w.deleted[0], "team/c1/backups/c1-every5-202612041545.json");  // the index first
  EXPECT_EQ(w.deleted[1], "team/c1/c1-dc1-r1-0/manifests/c1-every5-202612041545.json");
  // Files a and b only the purged backups listed: collected. c and d: kept.
  auto stored_file = [&](const std::string& f) {
    for (const auto& [key, body] : w.stored) {
      if (absl::StrContains(key, "/data/") && absl::EndsWith(key, "-" + f)) return true;
    }
    return false;
  };
  EXPECT_FALSE(stored_file("a"));
  EXPECT_FALSE(stored_file("b"));
  EXPECT_TRUE(stored_file("c"));
  EXPECT_TRUE(stored_file("d"));
  EXPECT_TRUE(HasEvent(w, "OrphanFilesPurged: 2 files"));
  EXPECT_EQ(w.stored.count("backups/team/c1/backups/c1-every5-202612041555.json"), 1u);
}

// A point-in-time restore replays a node's segments from its base backup's start on: those a
// node stored before its oldest kept backup started are purged, the later ones kept, and so is
// every segment of a node with no backup, and every segment when the archive is elsewhere.
TEST(BackupSchedulerTest, CommitLogSegmentsStoredBeforeTheOldestKeptBackupArePurged) {
  for (const bool archived_here : {true, false}) {
    SCOPED_TRACE(archived_here ? "archive in the schedule's location" : "no archive there");
    FakeWorld w;
    w.AddCluster(true);
    AddSchedule(w, Every5(/*keep=*/2));
    if (archived_here) {
      Json cluster = w.clusters.Get("ns/c1")->json();
      cluster["spec"]["commitLogArchive"] = {{"storageLocation", "versity"}};
      w.clusters.Upsert(std::make_shared<const kube::Object>(cluster));
    }
    AddScheduledBackup(w, "c1-every5-202612041545", kT0 - absl::Minutes(15), "Complete", {"a"});
    AddScheduledBackup(w, "c1-every5-202612041550", kT0 - absl::Minutes(10), "Complete", {"b"});
    AddScheduledBackup(w, "c1-every5-202612041555", kT0 - absl::Minutes(5), "Complete", {"c"});
    auto segment = [&](const std::string& node, const std::string& name, absl::Duration ago) {
      std::string key =
          "backups/" + backup::CommitLogKey({"team", "c1", node}, std::string(32, 'a'), 4, name);
      w.stored[key] = "0123";
      w.stored_at[key] = kT0 - ago;
      return key;
    };
    const std::string before_all = segment("c1-dc1-r1-0", "CommitLog-8-1.log", absl::Minutes(30));
    const std::string before_kept = segment("c1-dc1-r1-0", "CommitLog-8-2.log", absl::Minutes(12));
    const std::string after_kept = segment("c1-dc1-r1-0", "CommitLog-8-3.log", absl::Minutes(8));
    const std::string no_backup = segment("c1-dc1-r1-1", "CommitLog-8-1.log", absl::Minutes(30));
    w.now = kT0 - absl::Minutes(1);  // no run due; the oldest Backup (15 min) is purged
    ASSERT_TRUE(NewScheduler(w)->Reconcile({kNs, "c1"}).ok());
    EXPECT_EQ(w.removed, std::vector<std::string>{"c1-every5-202612041545"});
    EXPECT_EQ(w.stored.count(before_all), archived_here ? 0u : 1u);
    EXPECT_EQ(w.stored.count(before_kept), archived_here ? 0u : 1u);
    EXPECT_EQ(w.stored.count(after_kept), 1u);
    EXPECT_EQ(w.stored.count(no_backup), 1u);
    EXPECT_EQ(HasEvent(w, "CommitLogPurged: 2 commit log segments (8 bytes) in versity"),
              archived_here);
  }
}

// The same retention on a filesystem location: the operator mounts none, its listing, reads and
// deletes go through a member's agent.
TEST(BackupSchedulerTest, RetentionOnAFilesystemLocationGoesThroughTheAgents) {
  FakeWorld w;
  w.AddCluster(true);
  w.AddFilesystemLocation();
  Json schedule = Every5(/*keep=*/1);
  schedule["storageLocation"] = "nfs";
  AddSchedule(w, schedule);
  AddScheduledBackup(w, "c1-every5-202612041550", kT0 - absl::Minutes(10), "Complete", {"a"},
                     "nfs");
  AddScheduledBackup(w, "c1-every5-202612041555", kT0 - absl::Minutes(5), "Complete", {"b"}, "nfs");
  w.now = kT0 - absl::Minutes(1);
  ASSERT_TRUE(NewScheduler(w)->Reconcile({kNs, "c1"}).ok());
  EXPECT_EQ(w.removed, std::vector<std::string>{"c1-every5-202612041550"});
  const std::string root = "/var/lib/ringkeeper/locations/nfs/team/c1/";
  EXPECT_EQ(w.stored.count(root + "backups/c1-every5-202612041550.json"), 0u);
  EXPECT_EQ(w.stored.count(root + "c1-dc1-r1-0/manifests/c1-every5-202612041550.json"), 0u);
  EXPECT_EQ(w.stored.count(root + "backups/c1-every5-202612041555.json"), 1u);
  int data = 0;
  for (const auto& [key, body] : w.stored) {
    if (absl::StrContains(key, "/data/")) {
      ++data;
      EXPECT_TRUE(absl::EndsWith(key, "-b")) << key << ": only the kept backup's file remains";
    }
  }
  EXPECT_EQ(data, 1);
  EXPECT_TRUE(HasEvent(w, "OrphanFilesPurged: 1 files"));
  EXPECT_GT(w.agents["10.244.0.10"].storage_calls, 0);
}

TEST(BackupSchedulerTest, NothingIsCollectedWhileABackupRunsNorPurgedWhileARestoreReadsIt) {
  FakeWorld w;
  w.AddCluster(true);
  AddSchedule(w, Every5(/*keep=*/1));
  AddScheduledBackup(w, "c1-every5-202612041545", kT0 - absl::Minutes(15), "Complete", {"a"});
  AddScheduledBackup(w, "c1-every5-202612041550", kT0 - absl::Minutes(10), "Complete", {"b"});
  AddScheduledBackup(w, "c1-every5-202612041555", kT0 - absl::Minutes(5), "Running", {});
  w.stored["backups/team/c1/c1-dc1-r1-0/data/bk1/t-1/x-10-new"] = "uploading";
  w.restores.Upsert(std::make_shared<const kube::Object>(
      Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
           {"kind", "Restore"},
           {"metadata", {{"name", "r1"}, {"namespace", kNs}}},
           {"spec", {{"cluster", "c1"}, {"backup", "c1-every5-202612041545"}}},
           {"status", {{"phase", "Running"}}}}));
  w.now = kT0 - absl::Minutes(1);
  ASSERT_TRUE(NewScheduler(w)->Reconcile({kNs, "c1"}).ok());
  EXPECT_TRUE(w.removed.empty());  // held by the Restore
  EXPECT_TRUE(HasEvent(w, "PurgeHeld"));
  EXPECT_EQ(w.stored.count("backups/team/c1/c1-dc1-r1-0/data/bk1/t-1/x-10-new"), 1u);
}

TEST(BackupSchedulerTest, AScheduleItCannotReadIsReportedOnceAndSkipped) {
  FakeWorld w;
  w.AddCluster(true);
  Json schedule = Every5();
  schedule["schedule"] = "61 * * * *";
  AddSchedule(w, schedule);
  w.now = kT0;
  auto s = NewScheduler(w);
  ASSERT_TRUE(s->Reconcile({kNs, "c1"}).ok());
  ASSERT_TRUE(s->Reconcile({kNs, "c1"}).ok());
  EXPECT_TRUE(w.created.empty());
  ASSERT_EQ(std::count_if(w.events.begin(), w.events.end(),
                          [](const auto& e) { return absl::StrContains(e, "InvalidSchedule"); }),
            1);
  EXPECT_TRUE(HasEvent(w, "spec.backups[every5].schedule: cron minute"));
}

}  // namespace
}  // namespace ringkeeper
