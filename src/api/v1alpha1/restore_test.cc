#include "api/v1alpha1/restore.h"

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

kube::Object RestoreObject(Json spec) {
  return kube::Object(Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
                           {"kind", "Restore"},
                           {"metadata", {{"name", "r1"}, {"namespace", "ns"}, {"uid", "u"}}},
                           {"spec", std::move(spec)}});
}

TEST(RestoreSpecTest, FromABackupOrFromALocation) {
  auto by_backup = ParseRestore(RestoreObject({{"cluster", "c1"}, {"backup", "b1"}}));
  ASSERT_TRUE(by_backup.ok()) << by_backup.status();
  EXPECT_EQ(by_backup->backup, "b1");
  EXPECT_TRUE(by_backup->source_backup.empty());
  auto by_location = ParseRestore(RestoreObject(
      {{"cluster", "c2"},
       {"keyspaces", {"bk1"}},
       {"source", {{"storageLocation", "versity"}, {"cluster", "c1"}, {"backup", "b1"}}}}));
  ASSERT_TRUE(by_location.ok()) << by_location.status();
  EXPECT_EQ(by_location->source_location, "versity");
  EXPECT_EQ(by_location->source_cluster, "c1");
  EXPECT_EQ(by_location->keyspaces, std::vector<std::string>{"bk1"});
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRestore(RestoreObject({{"cluster", "c1"}})).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseRestore(RestoreObject(
                       {{"cluster", "c1"},
                        {"backup", "b1"},
                        {"source", {{"storageLocation", "v"}, {"cluster", "c"}, {"backup", "b"}}}}))
          .status()));
}

TEST(RestoreStatusTest, RoundTrips) {
  RestoreStatus s;
  s.phase = backup_phase::kRunning;
  s.start_time = "2026-12-04T12:00:00Z";
  s.location = "versity";
  s.source_cluster = "c1";
  s.source_backup = "b1";
  s.schema_pod = "c1-dc1-r1-0";
  s.schema_operation = "restore_schema-1";
  s.schema_done = true;
  s.nodes = {{"c1-dc1-r1-0", "c1-dc1-r1-0", "restore-2", "Running", 3, 300, ""}};
  const Json j = ToJson(s);
  EXPECT_EQ(ToJson(ParseRestoreStatus(j)), j);
  EXPECT_EQ(j["conditions"][0]["status"], "False");
  s.phase = backup_phase::kFailed;
  s.reason = "BackupNotFound";
  s.completion_time = "2026-12-04T12:00:01Z";
  EXPECT_EQ(ToJson(s)["conditions"][1]["status"], "True");
  EXPECT_TRUE(ParseRestoreStatus(ToJson(s)).Finished());
}

}  // namespace
}  // namespace ringkeeper
