#include "plugin/view.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace ringkeeper::plugin {
namespace {

using kube::Json;

Json Member(const std::string& pod, const std::string& rack, const std::string& address,
            const std::string& state) {
  return {{"name", pod},        {"pod", pod},      {"rack", rack},
          {"address", address}, {"state", state},  {"tokens", 16},
          {"load", "1.2 MiB"},  {"owns", "33.3%"}, {"hostId", "host-" + pod},
          {"node", "node-a"}};
}

Json TwoDataCenters() {
  Json c = Json::parse(R"({
    "metadata": {"name": "c", "namespace": "prod"},
    "spec": {"version": "5.0.9"},
    "status": {"membersSummary": "3/3",
               "conditions": [{"type": "Ready", "status": "True"}],
               "repairCoverage": {"tables": [
                 {"keyspace": "shop", "table": "orders", "repairBy": "2026-12-20T00:00:00Z"},
                 {"keyspace": "shop", "table": "carts", "repairBy": "2026-12-10T00:00:00Z"},
                 {"keyspace": "shop", "table": "new"}]}}
  })");
  // Rack b listed before rack a, as a status may.
  c["status"]["dataCenters"] = {
      {{"name", "eu"},
       {"members",
        {Member("c-eu-b-0", "b", "10.0.0.3", "UN"), Member("c-eu-a-0", "a", "10.0.0.2", "DN")}}},
      {{"name", "us"}, {"members", {Member("c-us-a-0", "a", "10.0.1.2", "UN")}}}};
  return c;
}

Json Finished(const std::string& kind, const std::string& name, const std::string& cluster,
              const std::string& phase, const std::string& completed) {
  return {{"kind", kind},
          {"metadata", {{"name", name}}},
          {"spec", {{"cluster", cluster}, {"type", "full"}, {"storageLocation", "s3"}}},
          {"status", {{"phase", phase}, {"completionTime", completed}}}};
}

TEST(RingViewTest, EveryMemberUnderItsDataCenterInRackOrderWithPodAndNode) {
  const std::string view = RingView(TwoDataCenters(), {}, {});
  const std::vector<std::string> lines = absl::StrSplit(view, '\n');
  EXPECT_EQ(lines[0], "Cluster prod/c: Ready True, members 3/3, Cassandra 5.0.9");
  const size_t eu = view.find("Datacenter: eu\n=============="), us = view.find("Datacenter: us");
  ASSERT_NE(eu, std::string::npos) << view;
  ASSERT_NE(us, std::string::npos) << view;
  // Rack a before rack b within eu, whatever order the status listed them in.
  const size_t a = view.find("DN  10.0.0.2"), b = view.find("UN  10.0.0.3");
  EXPECT_TRUE(eu < a && a < b && b < us) << view;
  EXPECT_TRUE(absl::StrContains(view, "--  Address   Load     Tokens  Owns   Host ID")) << view;
  EXPECT_TRUE(absl::StrContains(
      view, "UN  10.0.0.3  1.2 MiB  16      33.3%  host-c-eu-b-0  b     c-eu-b-0  node-a"))
      << view;
}

TEST(RingViewTest, SaysNeverWithoutRepairOrBackupAndNamesTheTableDueFirst) {
  const std::string view = RingView(TwoDataCenters(), {}, {});
  EXPECT_TRUE(absl::StrContains(
      view, "Last repair: never; next due by 2026-12-10T00:00:00Z (shop.carts)\n"))
      << view;
  EXPECT_TRUE(absl::StrContains(view, "Last backup: never\n")) << view;
}

TEST(RingViewTest, LastRepairAndBackupAreTheNewestCompleteOfThisCluster) {
  std::vector<Json> repairs = {
      Finished("Repair", "old", "c", "Complete", "2026-12-01T00:00:00Z"),
      Finished("Repair", "new", "c", "Complete", "2026-12-05T00:00:00Z"),
      Finished("Repair", "failed", "c", "Failed", "2026-12-06T00:00:00Z"),
      Finished("Repair", "other", "d", "Complete", "2026-12-07T00:00:00Z"),
      Finished("Repair", "preview", "c", "Complete", "2026-12-08T00:00:00Z")};
  repairs.back()["spec"]["type"] = "preview";  // compares replicas, repairs nothing
  const std::vector<Json> backups = {
      Finished("Backup", "b1", "c", "Complete", "2026-12-04T00:00:00Z"),
      Finished("Backup", "b2", "c", "Running", "")};
  const std::string view = RingView(TwoDataCenters(), repairs, backups);
  EXPECT_TRUE(absl::StrContains(view, "Last repair: 2026-12-05T00:00:00Z (repair/new, full)"))
      << view;
  EXPECT_TRUE(absl::StrContains(view, "Last backup: 2026-12-04T00:00:00Z (backup/b1 in s3)"))
      << view;
}

TEST(RingViewTest, TheOperationUnderWayWithItsPhaseAndPodWhenItHasThem) {
  Json c = TwoDataCenters();
  c["status"]["operation"] = {{"kind", "Restart"}};
  EXPECT_TRUE(absl::StrContains(RingView(c, {}, {}), "\nOperation: Restart\n"));
  c["status"]["operation"]["phase"] = "Draining";
  c["status"]["operation"]["pod"] = "c-eu-a-0";
  EXPECT_TRUE(
      absl::StrContains(RingView(c, {}, {}), "\nOperation: Restart Draining (pod c-eu-a-0)\n"));
}

TEST(RingViewTest, AClusterWithoutStatusSaysSoInsteadOfFailing) {
  const std::string view = RingView(Json::parse(R"({"metadata": {"name": "new"}})"), {}, {});
  EXPECT_TRUE(absl::StrContains(view, "Ready Unknown, members ?")) << view;
  EXPECT_TRUE(absl::StrContains(view, "(no member reported yet)")) << view;
}

TEST(RingViewTest, AMemberWithoutAgentFiguresShowsQuestionMarks) {
  Json c = TwoDataCenters();
  c["status"]["dataCenters"] = {
      {{"name", "eu"}, {"members", {{{"pod", "c-eu-a-0"}, {"state", "Absent"}}}}}};
  const std::string view = RingView(c, {}, {});
  EXPECT_TRUE(
      absl::StrContains(view, "Absent  ?        ?     ?       ?     ?        ?     c-eu-a-0  ?"))
      << view;
}

}  // namespace
}  // namespace ringkeeper::plugin
