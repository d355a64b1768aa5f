#include "api/v1alpha1/backup.h"

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

kube::Object BackupObject(Json spec) {
  return kube::Object(Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
                           {"kind", "Backup"},
                           {"metadata", {{"name", "b1"}, {"namespace", "ns"}, {"uid", "u1"}}},
                           {"spec", std::move(spec)}});
}

TEST(BackupSpecTest, ParsesWithDefaults) {
  auto b = ParseBackup(BackupObject({{"cluster", "c1"}, {"storageLocation", "s3"}}));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->name, "b1");
  EXPECT_EQ(b->ns, "ns");
  EXPECT_EQ(b->cluster, "c1");
  EXPECT_EQ(b->storage_location, "s3");
  EXPECT_TRUE(b->keyspaces.empty());
  EXPECT_EQ(b->upload_parallelism, 4);
  EXPECT_EQ(b->bandwidth_bytes_per_second, 0);

  auto full = ParseBackup(BackupObject({{"cluster", "c1"},
                                        {"storageLocation", "s3"},
                                        {"keyspaces", {"ks1", "ks2"}},
                                        {"uploadParallelism", 8},
                                        {"bandwidthBytesPerSecond", 1048576}}));
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->keyspaces, (std::vector<std::string>{"ks1", "ks2"}));
  EXPECT_EQ(full->upload_parallelism, 8);
  EXPECT_EQ(full->bandwidth_bytes_per_second, 1048576);

  EXPECT_TRUE(absl::IsInvalidArgument(ParseBackup(BackupObject({{"cluster", "c1"}})).status()));
}

TEST(BackupStatusTest, RoundTripsAndDerivesConditionsFromThePhase) {
  BackupStatus s;
  s.phase = backup_phase::kRunning;
  s.start_time = "2026-12-04T12:00:00Z";
  s.nodes = {{"c1-dc1-r1-0", "dc1", "r1", "backup-3", "Running", 0, 5, 2, 100, 60, "", ""}};
  Json running = ToJson(s);
  EXPECT_EQ(ToJson(ParseBackupStatus(running)), running);
  ASSERT_EQ(running["conditions"].size(), 2u);
  EXPECT_EQ(running["conditions"][0]["type"], "Complete");
  EXPECT_EQ(running["conditions"][0]["status"], "False");
  EXPECT_EQ(running["conditions"][1]["type"], "Failed");
  EXPECT_EQ(running["conditions"][1]["status"], "False");
  EXPECT_FALSE(s.Finished());

  s.phase = backup_phase::kComplete;
  s.completion_time = "2026-12-04T12:05:00Z";
  s.index = "s3://b/c1/backups/b1.json";
  Json complete = ToJson(s);
  EXPECT_EQ(complete["conditions"][0]["status"], "True");
  EXPECT_EQ(complete["conditions"][0]["lastTransitionTime"], "2026-12-04T12:05:00Z");
  EXPECT_EQ(complete["conditions"][1]["lastTransitionTime"], "2026-12-04T12:00:00Z");
  EXPECT_TRUE(ParseBackupStatus(complete).Finished());

  s.phase = backup_phase::kFailed;
  s.reason = "NodeBackupFailed";
  s.message = "c1-dc1-r1-0: no such bucket";
  Json failed = ToJson(s);
  EXPECT_EQ(failed["conditions"][0]["status"], "False");
  EXPECT_EQ(failed["conditions"][1]["status"], "True");
  EXPECT_EQ(failed["conditions"][1]["reason"], "NodeBackupFailed");
  EXPECT_EQ(failed["conditions"][1]["message"], s.message);

  EXPECT_FALSE(ToJson(BackupStatus{}).contains("conditions"));  // not seen yet
}

}  // namespace
}  // namespace ringkeeper
