#include "operator/cluster_metrics.h"

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

constexpr char kHeaders[] =
    "# HELP ringkeeper_cluster_members Members by state (UN, UJ, DN...).\n"
    "# TYPE ringkeeper_cluster_members gauge\n";
constexpr char kReadyHeaders[] =
    "# HELP ringkeeper_cluster_ready 1 when the cluster is Ready.\n"
    "# TYPE ringkeeper_cluster_ready gauge\n";

TEST(ClusterMetricsTest, NoClusterStillDeclaresBothFamilies) {
  ClusterMetrics m;
  EXPECT_EQ(m.RenderPrometheus(), std::string(kHeaders) + kReadyHeaders);
}

TEST(ClusterMetricsTest, SetReplacesAClustersSeriesAndRemoveDropsThem) {
  ClusterMetrics m;
  m.Set({"ns", "a"}, {{"UN", 2}, {"UJ", 1}}, false);
  m.Set({"ns", "b"}, {{"UN", 3}}, true);
  EXPECT_EQ(m.RenderPrometheus(),
            std::string(kHeaders) +
                "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"a\",state=\"UJ\"} 1\n"
                "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"a\",state=\"UN\"} 2\n"
                "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"b\",state=\"UN\"} 3\n" +
                kReadyHeaders +
                "ringkeeper_cluster_ready{namespace=\"ns\",cluster=\"a\"} 0\n"
                "ringkeeper_cluster_ready{namespace=\"ns\",cluster=\"b\"} 1\n");

  m.Set({"ns", "a"}, {{"UN", 3}}, true);  // the joining state is gone, not left at 1
  m.Remove({"ns", "b"});
  m.Remove({"ns", "never-seen"});
  EXPECT_EQ(m.RenderPrometheus(),
            std::string(kHeaders) +
                "ringkeeper_cluster_members{namespace=\"ns\",cluster=\"a\",state=\"UN\"} 3\n" +
                kReadyHeaders + "ringkeeper_cluster_ready{namespace=\"ns\",cluster=\"a\"} 1\n");
}

}  // namespace
}  // namespace ringkeeper
