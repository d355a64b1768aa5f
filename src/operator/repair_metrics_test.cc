#include "operator/repair_metrics.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

void Add(kube::Store& store, const std::string& name, const std::string& type, Json status) {
  Json r = {{"apiVersion", "cassandra.rook.io/v1alpha1"},
            {"kind", "Repair"},
            {"metadata", {{"name", name}, {"namespace", "ns"}}},
            {"spec", {{"cluster", "c1"}, {"type", type}}},
            {"status", std::move(status)}};
  store.Upsert(std::make_shared<const kube::Object>(r));
}

TEST(RepairMetricsTest, ProgressOfRunningRepairsAndTheCoveragePerTableAndKeyspace) {
  kube::Store store;
  kube::Store clusters;
  clusters.Upsert(std::make_shared<const kube::Object>(
      Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
           {"kind", "Cluster"},
           {"metadata", {{"name", "c1"}, {"namespace", "ns"}}},
           {"status",
            {{"repairCoverage",
              {{"tables",
                {{{"keyspace", "ks"},
                  {"table", "a"},
                  {"gcGraceSeconds", 864000},
                  {"lastRepaired", "2026-12-04T02:00:00Z"}},
                 {{"keyspace", "ks"},
                  {"table", "b"},
                  {"gcGraceSeconds", 3600},
                  {"lastRepaired", "2026-12-03T02:00:00Z"}},
                 {{"keyspace", "never"},
                  {"table", "n"},
                  {"gcGraceSeconds", 864000},
                  {"firstSeen", "2026-12-01T00:00:00Z"}}}}}}}}}));
  // Complete on `day` of December 2026, 02:00 to 02:10, having repaired keyspace ks.
  auto complete = [](int day) {
    const std::string date = "2026-12-0" + std::to_string(day);
    return Json{{"phase", "Complete"},
                {"startTime", date + "T02:00:00Z"},
                {"completionTime", date + "T02:10:00Z"},
                {"keyspaces", {{{"name", "ks"}, {"total", 4}, {"done", 4}}}}};
  };
  Add(store, "old", "full", complete(3));
  Add(store, "new", "full", complete(4));
  Add(store, "peek", "preview", complete(5));
  Add(store, "now", "full",
      {{"phase", "Running"},
       {"startTime", "2026-12-05T03:00:00Z"},
       {"segmentSeconds", 42},
       {"failedAttempts", 2},
       {"keyspaces", {{{"name", "ks"}, {"total", 10}, {"done", 3}}, {{"name", "b"}, {"total", 2}}}},
       {"running", {{{"keyspace", "ks"}, {"segment", 3}}}},
       {"retrying", {{{"keyspace", "ks"}, {"segment", 1}, {"attempts", 1}}}},
       {"postponed", {{"PendingCompactions", 7}}}});
  const std::string text = RenderRepairMetrics(store, clusters);
  const std::string now = R"(namespace="ns",cluster="c1",repair="now")";
  for (
      const std::string& want : std::vector<std::string>{
          "ringkeeper_repair_segments{" + now + R"(,state="total"} 12)",
          "ringkeeper_repair_segments{" + now + R"(,state="done"} 3)",
          "ringkeeper_repair_segments{" + now + R"(,state="running"} 1)",
          "ringkeeper_repair_segments{" + now + R"(,state="retrying"} 1)",
          "ringkeeper_repair_postponed_total{" + now + R"(,reason="PendingCompactions"} 7)",
          "ringkeeper_repair_segment_seconds_total{" + now + "} 42",
          "ringkeeper_repair_segment_failures_total{" + now + "} 2",
          R"(ringkeeper_repair_duration_seconds{namespace="ns",cluster="c1",repair="old",phase="Complete"} 600)",
          R"(ringkeeper_repair_table_last_success_timestamp_seconds{namespace="ns",cluster="c1",keyspace="ks",table="a"} 1796349600)",
          R"(ringkeeper_repair_table_gc_grace_seconds{namespace="ns",cluster="c1",keyspace="ks",table="b"} 3600)",
          R"(ringkeeper_repair_table_last_success_timestamp_seconds{namespace="ns",cluster="c1",keyspace="never",table="n"} 0)",
          // Due: last repaired + gc_grace; never repaired: first seen + gc_grace.
          R"(ringkeeper_repair_table_repair_by_timestamp_seconds{namespace="ns",cluster="c1",keyspace="ks",table="a"} 1797213600)",
          R"(ringkeeper_repair_table_repair_by_timestamp_seconds{namespace="ns",cluster="c1",keyspace="never",table="n"} 1796947200)",
          // A keyspace: its oldest table's.
          R"(ringkeeper_repair_last_success_timestamp_seconds{namespace="ns",cluster="c1",keyspace="ks"} 1796263200)",
          R"(ringkeeper_repair_last_success_timestamp_seconds{namespace="ns",cluster="c1",keyspace="never"} 0)",
          R"(ringkeeper_repairs{namespace="ns",cluster="c1",phase="Complete"} 3)",
          R"(ringkeeper_repairs{namespace="ns",cluster="c1",phase="Running"} 1)"}) {
    EXPECT_TRUE(absl::StrContains(text, want)) << want << "\n" << text;
  }
  // Finished repairs report no progress series; a running one no duration.
  EXPECT_FALSE(absl::StrContains(text, R"(repair="old",state)")) << text;
  EXPECT_FALSE(
      absl::StrContains(text, R"(duration_seconds{namespace="ns",cluster="c1",repair="now")"))
      << text;
}

}  // namespace
}  // namespace ringkeeper
