#include "api/v1alpha1/naming.h"

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using kube::Json;

TEST(NamingTest, NamesFollowTheContract) {
  // The seed example's names.
  auto c = std::make_unique<ClusterSpec>();
  c->name = "my-cassandra-cluster";
  RackSpec r;
  r.volume_claim_template = {{"metadata", {{"name", "cassandra-data"}}}};
  DataCenterSpec east;
  east.name = "us-east-1";
  east.racks = {r};
  c->dcs.push_back(east);
  const std::string dc = "us-east-1", rack = "us-east-1c";
  EXPECT_EQ(StatefulSetName(*c, dc, rack), "my-cassandra-cluster-us-east-1-us-east-1c");
  EXPECT_EQ(PodName(*c, dc, rack, 2), "my-cassandra-cluster-us-east-1-us-east-1c-2");
  EXPECT_EQ(HeadlessServiceName(*c, dc), "my-cassandra-cluster-us-east-1");
  EXPECT_EQ(ClientServiceName(*c, dc), "my-cassandra-cluster-us-east-1-client");
  EXPECT_EQ(PdbName(*c, dc), "my-cassandra-cluster-us-east-1");
  EXPECT_EQ(MembersConfigMapName(*c, dc, rack),
            "my-cassandra-cluster-us-east-1-us-east-1c-members");
  EXPECT_EQ(ConfigConfigMapName(*c, dc, rack), "my-cassandra-cluster-us-east-1-us-east-1c-config");
  EXPECT_EQ(AgentTokenSecretName(*c), "my-cassandra-cluster-agent-token");
  EXPECT_EQ(ServiceAccountName(*c), "my-cassandra-cluster-cassandra");
  // The StatefulSet controller names a PVC <claim template>-<pod>.
  EXPECT_EQ(PvcName(c->dcs[0].racks[0], PodName(*c, dc, rack, 0)),
            "cassandra-data-my-cassandra-cluster-us-east-1-us-east-1c-0");
}

TEST(NamingTest, LocationVolumesAreDnsLabels) {
  EXPECT_EQ(LocationMountPath("nfs"), "/var/lib/ringkeeper/locations/nfs");
  EXPECT_EQ(LocationVolumeName("nfs"), "location-nfs");
  const std::string longest(63, 'a');
  const std::string name = LocationVolumeName(longest);
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name.rfind("location-aaaa", 0), 0u);
  EXPECT_NE(name, LocationVolumeName(std::string(62, 'a') + "b")) << "distinct names stay distinct";
  EXPECT_EQ(name, LocationVolumeName(longest)) << "stable";
}

TEST(NamingTest, OrdinalOf) {
  EXPECT_EQ(OrdinalOf("a-b-12"), 12);
  EXPECT_EQ(OrdinalOf("x-0"), 0);
  EXPECT_EQ(OrdinalOf("abc"), -1);
  EXPECT_EQ(OrdinalOf("a-b-"), -1);
  EXPECT_EQ(OrdinalOf("a-b-x"), -1);
  EXPECT_EQ(OrdinalOf(""), -1);
  ClusterSpec c;
  c.name = "my-cluster";
  EXPECT_EQ(OrdinalOf(PodName(c, "dc-1", "rack-a", 7)), 7);
}

TEST(NamingTest, LabelsAndOwnerReference) {
  ClusterSpec c;
  c.name = "c1";
  c.uid = "uid-1";
  using Labels = std::map<std::string, std::string>;
  const Labels base = {{"app.kubernetes.io/name", "cassandra"},
                       {"app.kubernetes.io/instance", "c1"},
                       {"app.kubernetes.io/managed-by", "ringkeeper"},
                       {"cassandra.rook.io/cluster", "c1"}};
  EXPECT_EQ(ClusterLabels(c), base);
  Labels with_dc = base;
  with_dc["cassandra.rook.io/datacenter"] = "dc1";
  EXPECT_EQ(ClusterLabels(c, "dc1"), with_dc);
  Labels with_rack = with_dc;
  with_rack["cassandra.rook.io/rack"] = "r1";
  EXPECT_EQ(ClusterLabels(c, "dc1", "r1"), with_rack);

  EXPECT_EQ(OwnerReference(c), Json::parse(R"({"apiVersion": "cassandra.rook.io/v1alpha1",
    "kind": "Cluster", "name": "c1", "uid": "uid-1", "controller": true,
    "blockOwnerDeletion": true})"));
}

}  // namespace
}  // namespace ringkeeper
