#include <string>

#include "gtest/gtest.h"
#include "operator/desired.h"
#include "operator/testing/desired_fixture.h"

// The pod template's placement (default anti-affinity and zone spread, the user's own placement)
// and what rolls the pods (restartedAt, spec.annotations).
namespace ringkeeper {
namespace {

using kube::Json;
using testing::Named;
using testing::Spec;

Json DcSelector() {
  return {{"cassandra.rook.io/cluster", "c"}, {"cassandra.rook.io/datacenter", "dc1"}};
}
Json DefaultAntiAffinity() {
  return {{"preferredDuringSchedulingIgnoredDuringExecution",
           {{{"weight", 100},
             {"podAffinityTerm",
              {{"labelSelector", {{"matchLabels", DcSelector()}}},
               {"topologyKey", "kubernetes.io/hostname"}}}}}}};
}
Json DefaultSpread() {
  return {{{"maxSkew", 1},
           {"topologyKey", "topology.kubernetes.io/zone"},
           {"whenUnsatisfiable", "ScheduleAnyway"},
           {"labelSelector", {{"matchLabels", DcSelector()}}}}};
}

TEST(DesiredTest, RackStatefulSetWithoutPlacement) {
  ClusterSpec c = Spec();
  RackSpec rack = c.dcs[0].racks[0];
  rack.placement = nullptr;
  rack.resources = nullptr;
  Json pod = RackStatefulSet(c, "dc1", rack, 1, "h")["spec"]["template"]["spec"];
  // One member of the DC per node when possible, racks spread over zones: both only preferred.
  EXPECT_EQ(pod["affinity"], Json({{"podAntiAffinity", DefaultAntiAffinity()}}));
  EXPECT_EQ(pod["topologySpreadConstraints"], DefaultSpread());
  EXPECT_FALSE(pod.contains("tolerations"));
  EXPECT_EQ(Named(pod["containers"], "cassandra")["resources"], Json::object());

  // The selector matches the pods of every rack of this DC (and only this cluster's and DC's).
  Json labels = RackStatefulSet(c, "dc1", rack, 1, "h")["spec"]["template"]["metadata"]["labels"];
  const Json selector = DcSelector();
  for (const auto& [key, value] : selector.items()) EXPECT_EQ(labels[key], value) << key;
  Json other_dc = RackStatefulSet(c, "dc2", rack, 1, "h")["spec"]["template"]["spec"];
  EXPECT_EQ(
      other_dc["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
              ["podAffinityTerm"]["labelSelector"]["matchLabels"]["cassandra.rook.io/datacenter"],
      "dc2");
  EXPECT_EQ(other_dc["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
                    ["cassandra.rook.io/datacenter"],
            "dc2");
}

TEST(DesiredTest, DefaultAntiAffinityJoinsTheUsersNodeAffinity) {
  // The seed's placement: a nodeAffinity and no podAntiAffinity.
  ClusterSpec c = Spec();
  RackSpec rack = c.dcs[0].racks[0];
  rack.placement.erase("podAntiAffinity");
  Json pod = RackStatefulSet(c, "dc1", rack, 3, "h")["spec"]["template"]["spec"];
  EXPECT_EQ(pod["affinity"]["nodeAffinity"], rack.placement["nodeAffinity"]);
  EXPECT_EQ(pod["affinity"]["podAntiAffinity"], DefaultAntiAffinity());
  EXPECT_FALSE(pod["affinity"].contains("podAffinity"));
  EXPECT_EQ(pod["tolerations"], rack.placement["tolerations"]);
}

TEST(DesiredTest, UsersPlacementOverridesTheDefaults) {
  ClusterSpec c = Spec();
  RackSpec rack = c.dcs[0].racks[0];
  // The user's podAntiAffinity is used as it is, even an empty one (a way to opt out).
  Json required = {{"requiredDuringSchedulingIgnoredDuringExecution",
                    {{{"labelSelector", {{"matchLabels", {{"app", "cassandra"}}}}},
                      {"topologyKey", "kubernetes.io/hostname"}}}}};
  rack.placement["podAntiAffinity"] = required;
  Json spread = {{{"maxSkew", 2},
                  {"topologyKey", "topology.kubernetes.io/region"},
                  {"whenUnsatisfiable", "DoNotSchedule"},
                  {"labelSelector", {{"matchLabels", {{"app", "cassandra"}}}}}}};
  rack.placement["topologySpreadConstraints"] = spread;
  Json pod = RackStatefulSet(c, "dc1", rack, 3, "h")["spec"]["template"]["spec"];
  EXPECT_EQ(pod["affinity"]["podAntiAffinity"], required);
  EXPECT_EQ(pod["topologySpreadConstraints"], spread);

  rack.placement["podAntiAffinity"] = Json::object();
  pod = RackStatefulSet(c, "dc1", rack, 3, "h")["spec"]["template"]["spec"];
  EXPECT_EQ(pod["affinity"]["podAntiAffinity"], Json::object());
}

TEST(DesiredTest, RestartedAtRollsEveryRack) {
  ClusterSpec c =
      Spec({{"dataCenter",
             {{"racks", {{{"name", "r1"}, {"members", 1}}, {{"name", "r2"}, {"members", 1}}}}}}});
  ASSERT_EQ(c.dcs[0].racks.size(), 2u);
  for (const RackSpec& rack : c.dcs[0].racks) {
    SCOPED_TRACE(rack.name);
    // No annotation on the Cluster: none on the template (an operator upgrade rolls nothing).
    Json before = RackStatefulSet(c, "dc1", rack, 1, "h");
    EXPECT_FALSE(before["spec"]["template"]["metadata"]["annotations"].contains(
        "cassandra.rook.io/restartedAt"));

    ClusterSpec restarted = c;
    restarted.restarted_at = "2026-01-02T03:04:05Z";
    Json after = RackStatefulSet(restarted, "dc1", rack, 1, "h");
    EXPECT_EQ(after["spec"]["template"]["metadata"]["annotations"]["cassandra.rook.io/restartedAt"],
              "2026-01-02T03:04:05Z");
    // A new template (a new revision, which the rolling restart rolls out), nothing else.
    EXPECT_NE(after["spec"]["template"], before["spec"]["template"]);
    after["spec"]["template"]["metadata"]["annotations"].erase("cassandra.rook.io/restartedAt");
    EXPECT_EQ(after, before);

    // A second restart: another value, another template.
    ClusterSpec again = restarted;
    again.restarted_at = "2026-01-02T04:00:00Z";
    EXPECT_NE(RackStatefulSet(again, "dc1", rack, 1, "h")["spec"]["template"],
              RackStatefulSet(restarted, "dc1", rack, 1, "h")["spec"]["template"]);
  }
}

TEST(DesiredTest, SpecAnnotationsGoOnThePodsAndCannotHideTheOperatorsOwn) {
  ClusterSpec c =
      Spec({{"annotations",
             {{"prometheus.io/scrape", "true"}, {"cassandra.rook.io/config-hash", "mine"}}}});
  Json annotations = RackStatefulSet(c, "dc1", c.dcs[0].racks[0], 3,
                                     "h")["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"], "true");
  EXPECT_EQ(annotations["cassandra.rook.io/config-hash"], "h");
}

}  // namespace
}  // namespace ringkeeper
