#include "operator/cluster_metrics.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "metrics/exposition.h"

namespace ringkeeper {
namespace {

TEST(ClusterMetricsTest, NoClusterStillDeclaresEveryFamily) {
  ClusterMetrics m;
  const std::string text = m.RenderPrometheus();
  for (const char* family : {"ringkeeper_cluster_members gauge", "ringkeeper_cluster_ready gauge",
                             "ringkeeper_cluster_phase gauge", "ringkeeper_cluster_condition gauge",
                             "ringkeeper_cluster_operation_started_timestamp_seconds gauge",
                             "ringkeeper_operation_duration_seconds summary"}) {
    EXPECT_TRUE(absl::StrContains(text, std::string("# TYPE ") + family + "\n")) << family;
  }
  EXPECT_EQ(text.find('{'), std::string::npos) << text;  // no sample
}

TEST(ClusterMetricsTest, SetReplacesAClustersSeriesAndRemoveDropsThem) {
  ClusterMetrics m;
  m.Set({"ns", "a"}, {.members_by_state = {{"UN", 2}, {"UJ", 1}}, .ready = false});
  m.Set({"ns", "b"}, {.members_by_state = {{"UN", 3}}, .ready = true});
  std::string text = m.RenderPrometheus();
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"a\",state=\"UJ\"} 1\n"
      "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"a\",state=\"UN\"} 2\n"
      "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"b\",state=\"UN\"} 3\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text,
                                "ringkeeper_cluster_ready{namespace=\"ns\",cluster=\"a\"} 0\n"
                                "ringkeeper_cluster_ready{namespace=\"ns\",cluster=\"b\"} 1\n"));

  m.Set({"ns", "a"}, {.members_by_state = {{"UN", 3}}, .ready = true});  // UJ gone, not left at 1
  m.Remove({"ns", "b"});
  m.Remove({"ns", "never-seen"});
  text = m.RenderPrometheus();
  EXPECT_FALSE(absl::StrContains(text, "state=\"UJ\"")) << text;
  EXPECT_FALSE(absl::StrContains(text, "cluster=\"b\"")) << text;
  EXPECT_TRUE(absl::StrContains(
      text, "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"a\",state=\"UN\"} 3\n"));
}

TEST(ClusterMetricsTest, ConditionsPhaseAndOperations) {
  ClusterMetrics m;
  m.Set({"ns", "a"},
        {.members_by_state = {{"UN", 3}},
         .ready = false,
         .phase = "Replacing",
         .conditions = {{"Ready", "False"}, {"Degraded", "True"}},
         .operation = ClusterGauges::Operation{"Replace", "Replacing", "a-0", 1700000000}});
  m.OperationDone({"ns", "a"}, "Restart", 30);
  m.OperationDone({"ns", "a"}, "Restart", 12.5);
  const std::string text = m.RenderPrometheus();
  EXPECT_TRUE(absl::StrContains(
      text, "ringkeeper_cluster_phase{namespace=\"ns\",cluster=\"a\",phase=\"Replacing\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_cluster_condition{namespace=\"ns\",cluster=\"a\",type=\"Degraded\",status="
      "\"True\"} 1\n"
      "ringkeeper_cluster_condition{namespace=\"ns\",cluster=\"a\",type=\"Degraded\",status="
      "\"False\"} 0\n"
      "ringkeeper_cluster_condition{namespace=\"ns\",cluster=\"a\",type=\"Degraded\",status="
      "\"Unknown\"} 0\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_cluster_condition{namespace=\"ns\",cluster=\"a\",type=\"Ready\",status="
      "\"False\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_cluster_operation_started_timestamp_seconds{namespace=\"ns\",cluster="
      "\"a\",kind=\"Replace\",phase=\"Replacing\",pod=\"a-0\"} " +
          metrics::FormatValue(1700000000) + "\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text,
      "ringkeeper_operation_duration_seconds_sum{namespace=\"ns\",cluster=\"a\",kind="
      "\"Restart\"} 42.5\n"
      "ringkeeper_operation_duration_seconds_count{namespace=\"ns\",cluster=\"a\",kind="
      "\"Restart\"} 2\n"))
      << text;
  // The operation over: its gauge goes; the finished ones stay counted until the Cluster goes.
  m.Set({"ns", "a"}, {.members_by_state = {{"UN", 3}}, .ready = true, .phase = "AllMembersUp"});
  EXPECT_FALSE(absl::StrContains(m.RenderPrometheus(), "started_timestamp_seconds{"));
  EXPECT_TRUE(absl::StrContains(m.RenderPrometheus(), "duration_seconds_count{"));
  m.Remove({"ns", "a"});
  EXPECT_FALSE(absl::StrContains(m.RenderPrometheus(), "duration_seconds_count{"));
}

}  // namespace
}  // namespace ringkeeper
