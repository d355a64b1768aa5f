// Shared by the desired-object tests: a Cluster like the seed's example, and small readers.
#pragma once

#include <string>

#include "api/v1alpha1/naming.h"
#include "gtest/gtest.h"
#include "kube/object.h"

namespace ringkeeper::testing {

using kube::Json;

// A Cluster like the seed's example (one rack with a named claim, placement and resources).
inline ClusterSpec Spec(const Json& extra = Json::object()) {
  Json spec = Json::parse(R"({
    "version": "4.1.5",
    "dataCenter": {"name": "dc1", "racks": [{
      "name": "r1", "members": 3,
      "storage": {"volumeClaimTemplates": [{"metadata": {"name": "cassandra-data"},
        "spec": {"storageClassName": "default",
                 "resources": {"requests": {"storage": "500Gi"}}}}]},
      "placement": {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
          {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]}},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "cassandra"}]},
      "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}}]}})");
  spec.merge_patch(extra);
  kube::Object cluster(Json{{"apiVersion", kApiVersion},
                            {"kind", "Cluster"},
                            {"metadata", {{"name", "c"}, {"namespace", "ns"}, {"uid", "uid-1"}}},
                            {"spec", spec}});
  auto c = ParseCluster(cluster, Defaults{});
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : ClusterSpec();
}

// The element of `array` whose "name" is `name`; null when none.
inline Json Named(const Json& array, const std::string& name) {
  for (const Json& e : array) {
    if (e.value("name", "") == name) return e;
  }
  return nullptr;
}

inline void ExpectOwnedByCluster(Json object, const ClusterSpec& c) {
  Json refs = object["metadata"]["ownerReferences"];
  ASSERT_EQ(refs.size(), 1u) << object.dump();
  EXPECT_EQ(refs[0]["apiVersion"], "cassandra.rook.io/v1alpha1");
  EXPECT_EQ(refs[0]["kind"], "Cluster");
  EXPECT_EQ(refs[0]["name"], c.name);
  EXPECT_EQ(refs[0]["uid"], c.uid);
  EXPECT_EQ(refs[0]["controller"], true);
  EXPECT_EQ(object["metadata"]["namespace"], c.ns);
  EXPECT_EQ(object["metadata"]["labels"]["cassandra.rook.io/cluster"], c.name);
  EXPECT_EQ(object["metadata"]["labels"]["app.kubernetes.io/managed-by"], "ringkeeper");
}
}  // namespace ringkeeper::testing
