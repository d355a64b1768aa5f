#include "operator/cache_transforms.h"

#include "gtest/gtest.h"
#include "operator/desired.h"
#include "operator/testing/desired_fixture.h"
#include "operator/volumes.h"

namespace ringkeeper {
namespace {

using kube::Json;
using testing::Spec;  // the seed-like Cluster: placement, resources, a named claim

// What the API server adds to what the operator applied.
Json AsServed(Json object) {
  object["metadata"]["uid"] = "uid-1";
  object["metadata"]["resourceVersion"] = "7";
  object["metadata"]["creationTimestamp"] = "2026-12-06T10:00:00Z";
  object["metadata"]["managedFields"] = Json::array(
      {{{"manager", "ringkeeper-operator"}, {"fieldsV1", {{"f:spec", Json::object()}}}}});
  return object;
}

Json Kept(Json object, void (*keep)(Json&)) {
  keep(object);
  return object;
}

// The metadata a cache keeps: everything the server sent but managedFields.
Json MetadataWithoutManagedFields(Json object) {
  object["metadata"].erase("managedFields");
  return object["metadata"];
}

TEST(CacheTransformsTest, StatefulSetKeepsReplicasClaimTemplatesTemplateMetadataAndStatus) {
  const ClusterSpec c = Spec();
  Json served = AsServed(WithAppliedHash(RackStatefulSet(c, "dc1", c.dcs[0].racks[0], 3, "h1")));
  served["status"] = {
      {"observedGeneration", 2}, {"updateRevision", "c-dc1-r1-5d"}, {"readyReplicas", 3}};
  ASSERT_TRUE(served["spec"]["template"]["spec"].contains("containers"));
  const Json kept = Kept(served, KeepOfStatefulSet);

  EXPECT_EQ(kept["metadata"], MetadataWithoutManagedFields(served));
  EXPECT_EQ(kept["spec"]["replicas"], 3);
  EXPECT_EQ(kept["spec"]["volumeClaimTemplates"], served["spec"]["volumeClaimTemplates"]);
  EXPECT_EQ(kept["spec"]["template"], Json({{"metadata", served["spec"]["template"]["metadata"]}}));
  EXPECT_EQ(kept["status"], served["status"]);
  EXPECT_EQ(kept["spec"].size(), 3u) << kept["spec"];  // the pod template's spec, selector: gone
  // What the readers make of it is unchanged.
  EXPECT_TRUE(AppliedFrom(WithAppliedHash(RackStatefulSet(c, "dc1", c.dcs[0].racks[0], 3, "h1")),
                          kube::Object(kept)));
  EXPECT_LT(kept.dump().size(), served.dump().size() / 3);
}

TEST(CacheTransformsTest, PodKeepsNodeNameAndStatus) {
  Json served = AsServed(
      Json{{"apiVersion", "v1"},
           {"kind", "Pod"},
           {"metadata",
            {{"name", "c-dc1-r1-0"},
             {"namespace", "ns"},
             {"labels", {{"controller-revision-hash", "c-dc1-r1-5d"}}},
             {"deletionTimestamp", "2026-12-06T10:05:00Z"}}},
           {"spec",
            {{"nodeName", "node-a"},
             {"containers", Json::array({{{"name", "cassandra"}, {"image", "cassandra:5.0.9"}}})},
             {"volumes", Json::array({{{"name", "data"}}})}}},
           {"status",
            {{"phase", "Running"},
             {"podIP", "10.0.0.5"},
             {"conditions", Json::array({{{"type", "Ready"},
                                          {"status", "True"},
                                          {"lastTransitionTime", "2026-12-06T10:01:00Z"}}})},
             {"containerStatuses",
              Json::array({{{"name", "cassandra"},
                            {"restartCount", 2},
                            {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}},
                            {"lastState", {{"terminated", {{"exitCode", 137}}}}}}})}}}});
  const Json kept = Kept(served, KeepOfPod);
  EXPECT_EQ(kept["metadata"], MetadataWithoutManagedFields(served));
  EXPECT_EQ(kept["spec"], Json({{"nodeName", "node-a"}}));
  EXPECT_EQ(kept["status"], served["status"]);
  EXPECT_EQ(kept["apiVersion"], "v1");
  EXPECT_EQ(kept["kind"], "Pod");
}

TEST(CacheTransformsTest, ServiceKeepsItsClusterIpAndAppliedHash) {
  const ClusterSpec c = Spec();
  const Json desired = WithAppliedHash(MemberService(c, "dc1", "r1", 0));
  Json served = AsServed(desired);
  served["spec"]["clusterIP"] = "10.96.0.10";
  served["spec"]["clusterIPs"] = {"10.96.0.10"};
  served["status"] = {{"loadBalancer", Json::object()}};
  const Json kept = Kept(served, KeepOfService);
  EXPECT_EQ(kept["metadata"], MetadataWithoutManagedFields(served));
  EXPECT_EQ(kept["spec"], Json({{"clusterIP", "10.96.0.10"}}));
  EXPECT_FALSE(kept.contains("status"));
  EXPECT_TRUE(AppliedFrom(desired, kube::Object(kept)));
}

TEST(CacheTransformsTest, ClaimKeepsVolumeClassRequestAndStatus) {
  Json served =
      AsServed(Json{{"metadata", {{"name", "data-c-dc1-r1-0"}, {"namespace", "ns"}}},
                    {"spec",
                     {{"accessModes", {"ReadWriteOnce"}},
                      {"volumeName", "pv-1"},
                      {"storageClassName", "default"},
                      {"volumeMode", "Filesystem"},
                      {"resources", {{"requests", {{"storage", "1Gi"}}}}}}},
                    {"status", {{"phase", "Bound"}, {"capacity", {{"storage", "2Gi"}}}}}});
  const Json kept = Kept(served, KeepOfPersistentVolumeClaim);
  EXPECT_EQ(kept["metadata"], MetadataWithoutManagedFields(served));
  EXPECT_EQ(kept["spec"], Json({{"volumeName", "pv-1"},
                                {"storageClassName", "default"},
                                {"resources", {{"requests", {{"storage", "1Gi"}}}}}}));
  EXPECT_EQ(kept["status"], served["status"]);
  EXPECT_EQ(StorageRequest(kept["spec"]), "1Gi");
  EXPECT_EQ(StorageCapacity(kept), "2Gi");
}

TEST(CacheTransformsTest, ConfigMapKeepsDataOfTheMembersSettingsOnly) {
  const ClusterSpec c = Spec();
  agent::api::InitSettings settings;
  settings.cluster_name = "c";
  settings.seeds = {"10.96.0.10", "10.96.0.11"};
  settings.initial_tokens = {"-9223372036854775808", "-3074457345618258603"};
  settings.auto_bootstrap = false;  // not the default: must survive
  settings.broadcast_address = "10.96.0.12";
  settings.extra_jvm_options = {"-Dx=y"};
  const Json members = WithAppliedHash(MembersConfigMap(
      c, "dc1", "r1", {{"c-dc1-r1-0", settings}, {"c-dc1-r1-1", agent::api::InitSettings{}}}));
  const Json config = WithAppliedHash(ConfigConfigMap(c, "dc1", "r1", Json::object()));
  ASSERT_TRUE(config.contains("data"));

  Json served = AsServed(members);
  served["data"]["c-dc1-r1-2.json"] = "not json";  // kept as it is
  const Json kept_members = Kept(served, KeepOfConfigMap);
  ASSERT_EQ(kept_members["data"].size(), 3u);
  EXPECT_EQ(kept_members["data"]["c-dc1-r1-2.json"], "not json");
  EXPECT_LT(kept_members.dump().size(), served.dump().size());
  // What the readers read (WrittenSettings) reads the same from what is kept.
  for (const char* key : {"c-dc1-r1-0.json", "c-dc1-r1-1.json"}) {
    const auto written =
        Json::parse(members["data"][key].get<std::string>()).get<agent::api::InitSettings>();
    const auto cached =
        Json::parse(kept_members["data"][key].get<std::string>()).get<agent::api::InitSettings>();
    EXPECT_EQ(cached.seeds, written.seeds) << key;
    EXPECT_EQ(cached.initial_tokens, written.initial_tokens) << key;
    EXPECT_EQ(cached.auto_bootstrap, written.auto_bootstrap) << key;
    EXPECT_TRUE(cached.broadcast_address.empty()) << key;  // dropped
  }
  EXPECT_TRUE(AppliedFrom(members, kube::Object(kept_members)));

  const Json kept_config = Kept(AsServed(config), KeepOfConfigMap);
  EXPECT_FALSE(kept_config.contains("data"));
  EXPECT_TRUE(AppliedFrom(config, kube::Object(kept_config)));
}

TEST(CacheTransformsTest, MapsReadersIndexExistEvenWhenTheServerSentNone) {
  EXPECT_EQ(
      Kept(Json{{"metadata", {{"name", "p"}}}}, KeepOfPod),
      Json({{"metadata", {{"name", "p"}}}, {"spec", Json::object()}, {"status", Json::object()}}));
  EXPECT_EQ(Kept(Json{{"metadata", {{"name", "s"}}}, {"spec", "odd"}}, KeepOfService),
            Json({{"metadata", {{"name", "s"}}}, {"spec", Json::object()}}));
  for (auto keep : {KeepOfStatefulSet, KeepOfPod, KeepOfService, KeepOfPersistentVolumeClaim,
                    KeepOfConfigMap}) {
    EXPECT_EQ(Kept(Json::array(), keep), Json::array());  // not an object: left alone
  }
}

}  // namespace
}  // namespace ringkeeper
