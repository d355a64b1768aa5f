#include "operator/node_loss.h"

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

kube::Object Node(const std::string& status, absl::Time since) {
  return kube::Object(Json{{"metadata", {{"name", "n1"}}},
                           {"status",
                            {{"conditions",
                              {{{"type", "MemoryPressure"}, {"status", "False"}},
                               {{"type", "Ready"},
                                {"status", status},
                                {"lastTransitionTime", kube::FormatRfc3339(since)}}}}}}});
}

TEST(NodeLossTest, DeletedOrNotReadyPastTheTimeout) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  EXPECT_EQ(NodeLostBecause(nullptr, now, absl::Minutes(10)), "deleted");
  const kube::Object ready = Node("True", now - absl::Hours(5));
  EXPECT_EQ(NodeLostBecause(&ready, now, absl::Minutes(10)), "");
  const kube::Object recent = Node("Unknown", now - absl::Minutes(5));
  EXPECT_EQ(NodeLostBecause(&recent, now, absl::Minutes(10)), "");
  const kube::Object old = Node("False", now - absl::Minutes(12) - absl::Seconds(30));
  EXPECT_EQ(NodeLostBecause(&old, now, absl::Minutes(10)), "NotReady for 12m");
  const kube::Object no_status(Json{{"metadata", {{"name", "n1"}}}});
  EXPECT_EQ(NodeLostBecause(&no_status, now, absl::Minutes(10)), "");
}

TEST(NodeLossTest, VolumeNodeIsTheRequiredHostname) {
  Json local = {{"spec",
                 {{"nodeAffinity",
                   {{"required",
                     {{"nodeSelectorTerms",
                       {{{"matchExpressions",
                          {{{"key", "kubernetes.io/hostname"},
                            {"operator", "In"},
                            {"values", {"worker-3"}}}}}}}}}}}}}}};
  EXPECT_EQ(VolumeNode(kube::Object(local)), "worker-3");
  EXPECT_EQ(VolumeNode(kube::Object(Json{{"spec", {{"csi", {{"driver", "ebs"}}}}}})), "");
  Json zone = local;
  zone["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] =
      "topology.kubernetes.io/zone";
  EXPECT_EQ(VolumeNode(kube::Object(zone)), "");  // follows its pod within the zone
}

}  // namespace
}  // namespace ringkeeper
