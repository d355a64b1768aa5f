#include "operator/backup_metrics.h"

#include <memory>

#include "absl/strings/match.h"
#include "api/v1alpha1/naming.h"
#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

void Add(kube::Store& store, const std::string& name, const std::string& schedule, Json status) {
  Json b = {{"apiVersion", "cassandra.rook.io/v1alpha1"},
            {"kind", "Backup"},
            {"metadata", {{"name", name}, {"namespace", "ns"}}},
            {"spec", {{"cluster", "c1"}, {"storageLocation", "s3"}}},
            {"status", std::move(status)}};
  if (!schedule.empty()) b["metadata"]["labels"] = {{kLabelBackupSchedule, schedule}};
  store.Upsert(std::make_shared<const kube::Object>(b));
}

TEST(BackupMetricsTest, TheLastSuccessPerScheduleAndTheBackupsByPhase) {
  kube::Store store;
  Add(store, "n1", "nightly",
      {{"phase", "Complete"},
       {"startTime", "2026-12-03T02:00:00Z"},
       {"completionTime", "2026-12-03T02:01:40Z"},
       {"bytes", 1000},
       {"bytesSent", 300}});
  Add(store, "n2", "nightly",
      {{"phase", "Complete"},
       {"startTime", "2026-12-04T02:00:00Z"},
       {"completionTime", "2026-12-04T02:00:30Z"},
       {"bytes", 2000},
       {"bytesSent", 100}});
  Add(store, "n3", "nightly", {{"phase", "Failed"}});
  Add(store, "manual", "", {{"phase", "Running"}});
  const std::string text = RenderBackupMetrics(store);
  const std::string labels = "{namespace=\"ns\",cluster=\"c1\",schedule=\"nightly\"}";
  // 2026-12-04T02:00:30Z
  EXPECT_TRUE(absl::StrContains(
      text, "ringkeeper_backup_last_success_timestamp_seconds" + labels + " 1796349630"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "ringkeeper_backup_last_success_bytes" + labels + " 2000"));
  EXPECT_TRUE(
      absl::StrContains(text, "ringkeeper_backup_last_success_sent_bytes" + labels + " 100"));
  EXPECT_TRUE(
      absl::StrContains(text, "ringkeeper_backup_last_success_duration_seconds" + labels + " 30"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_backups{namespace=\"ns\",cluster=\"c1\",schedule=\"nightly\",phase=\"Complete\"} "
      "2"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_backups{namespace=\"ns\",cluster=\"c1\",schedule=\"\",phase=\"Running\"} 1"));
  EXPECT_FALSE(absl::StrContains(text, "schedule=\"\"} ")) << "no success for manual backups yet";
  // With no Backup at all, the families are still declared.
  EXPECT_TRUE(absl::StrContains(RenderBackupMetrics(kube::Store{}),
                                "# TYPE ringkeeper_backup_last_success_timestamp_seconds gauge"));
}

}  // namespace
}  // namespace ringkeeper
