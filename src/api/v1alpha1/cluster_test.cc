#include "api/v1alpha1/cluster.h"

#include <string>

#include "api/v1alpha1/naming.h"
#include "gtest/gtest.h"
#include "kube/yaml.h"

namespace ringkeeper {
namespace {

using kube::Json;

// config/samples/seed-example.yaml (the design seed's example, shared/seeds/004) without its
// comments; note the null `storageClassName:` beside the claim's metadata, as the seed wrote it.
constexpr char kSeedExample[] = R"(
apiVersion: "cassandra.rook.io/v1alpha1"
kind: "Cluster"
metadata:
  name: "my-cassandra-cluster"
spec:
  version: "3.1.11"
  repository: "custom-enterprise-repo.io/cassandra"
  dataCenter:
    name: "us-east-1"
    racks:
    - name: "us-east-1c"
      members: 3
      configMapName: "cassandra-config"
      storage:
        volumeClaimTemplates:
          - storageClassName:
            metadata:
              name: "cassandra-data"
            spec:
              accessModes: ["ReadWriteOnce"]
              storageClassName: default
              resources:
                requests:
                  storage: "500Gi"
      placement:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                - key: failure-domain.beta.kubernetes.io/region
                  operator: In
                  values:
                  - us-east-1
                - key: failure-domain.beta.kubernetes.io/zone
                  operator: In
                  values:
                  - us-east-1c
      resources:
        requests:
          cpu: "2000m"
          memory: "4Gi"
        limits:
          cpu: "2000m"
          memory: "4Gi"
  sidecarImage:
    repository: "rook.io/sidecar-cassandra"
    tag: "0.1"
)";

// config/samples/rook-v1.5-example.yaml (Rook v1.5's example Cluster) without its comments:
// `datacenter` in Rook's spelling, a null `annotations`, integer cpu quantities.
constexpr char kRookV15Example[] = R"(
apiVersion: cassandra.rook.io/v1alpha1
kind: Cluster
metadata:
  name: rook-cassandra
  namespace: rook-cassandra
spec:
  version: 3.11.6
  mode: cassandra
  annotations:
  datacenter:
    name: us-east-1
    racks:
      - name: us-east-1a
        members: 3
        storage:
          volumeClaimTemplates:
                - metadata:
                    name: rook-cassandra-data
                  spec:
                    resources:
                      requests:
                        storage: 5Gi
        resources:
          requests:
            cpu: 1
            memory: 2Gi
          limits:
            cpu: 1
            memory: 2Gi
)";

kube::Object Seed() {
  auto o = kube::ObjectFromYaml(kSeedExample);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *std::move(o) : kube::Object();
}

// A Cluster named c in namespace ns with the given spec.
kube::Object ClusterWith(Json spec) {
  return kube::Object(Json{{"apiVersion", kApiVersion},
                           {"kind", "Cluster"},
                           {"metadata", {{"name", "c"}, {"namespace", "ns"}, {"uid", "u-1"}}},
                           {"spec", std::move(spec)}});
}

Json OneRackDc(const std::string& name, const std::string& rack, int members) {
  return {{"name", name}, {"racks", {{{"name", rack}, {"members", members}}}}};
}

TEST(ClusterSpecTest, ParsesTheSeedExample) {
  kube::Object seed = Seed();
  seed.set_namespace("db");
  seed.json()["metadata"]["uid"] = "uid-7";
  seed.json()["metadata"]["generation"] = 4;
  auto c = ParseCluster(seed, Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();

  EXPECT_EQ(c->name, "my-cassandra-cluster");
  EXPECT_EQ(c->ns, "db");
  EXPECT_EQ(c->uid, "uid-7");
  EXPECT_EQ(c->generation, 4);
  EXPECT_EQ(c->mode, "cassandra");
  EXPECT_EQ(c->version, "3.1.11");
  EXPECT_EQ(c->image, "custom-enterprise-repo.io/cassandra:3.1.11");
  EXPECT_EQ(c->agent_image, "rook.io/sidecar-cassandra:0.1");

  ASSERT_EQ(c->dcs.size(), 1u);
  const DataCenterSpec& dc = c->dcs[0];
  EXPECT_EQ(dc.name, "us-east-1");
  EXPECT_EQ(dc.members(), 3);
  ASSERT_EQ(dc.racks.size(), 1u);
  const RackSpec& rack = dc.racks[0];
  EXPECT_EQ(rack.name, "us-east-1c");
  EXPECT_EQ(rack.members, 3);
  EXPECT_EQ(rack.config_map_name, "cassandra-config");
  EXPECT_EQ(rack.volume_claim_template, Json::parse(R"({
    "metadata": {"name": "cassandra-data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "default",
             "resources": {"requests": {"storage": "500Gi"}}}})"));
  EXPECT_EQ(rack.placement, Json::parse(R"({"nodeAffinity": {
    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
      {"key": "failure-domain.beta.kubernetes.io/region", "operator": "In", "values": ["us-east-1"]},
      {"key": "failure-domain.beta.kubernetes.io/zone", "operator": "In", "values": ["us-east-1c"]}
    ]}]}}})"));
  EXPECT_EQ(rack.resources, Json::parse(R"({"requests": {"cpu": "2000m", "memory": "4Gi"},
                                            "limits": {"cpu": "2000m", "memory": "4Gi"}})"));

  EXPECT_EQ(c->superuser_secret, "my-cassandra-cluster-superuser");
  EXPECT_TRUE(c->generate_superuser);
  EXPECT_FALSE(c->delete_pvcs);
  EXPECT_FALSE(c->paused);
  EXPECT_EQ(c->config, Json::object());
  EXPECT_EQ(c->heap_size, "");
  EXPECT_TRUE(c->jvm_extra_options.empty());

  ASSERT_NE(c->FindDc("us-east-1"), nullptr);
  EXPECT_EQ(c->FindDc("us-east-1")->name, "us-east-1");
  EXPECT_EQ(c->FindDc("us-west-2"), nullptr);
}

TEST(ClusterSpecTest, ParsesRookV15ExampleWithItsDatacenterSpelling) {
  auto rook = kube::ObjectFromYaml(kRookV15Example);
  ASSERT_TRUE(rook.ok()) << rook.status();
  auto c = ParseCluster(*rook, Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mode, "cassandra");
  EXPECT_EQ(c->image, "cassandra:3.11.6");
  ASSERT_EQ(c->dcs.size(), 1u);
  EXPECT_EQ(c->dcs[0].name, "us-east-1");
  ASSERT_EQ(c->dcs[0].racks.size(), 1u);
  const RackSpec& rack = c->dcs[0].racks[0];
  EXPECT_EQ(rack.name, "us-east-1a");
  EXPECT_EQ(rack.members, 3);
  EXPECT_EQ(rack.volume_claim_template, Json::parse(R"({
    "metadata": {"name": "rook-cassandra-data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}})"));
  EXPECT_EQ(rack.resources["limits"]["cpu"], 1);
  // Its `annotations:` is null: no pod annotations.
  EXPECT_TRUE(c->pod_annotations.empty());

  // `datacenter` parses exactly as `dataCenter` does.
  Json spec = rook->json()["spec"];
  spec["dataCenter"] = spec["datacenter"];
  spec.erase("datacenter");
  auto camel = ParseCluster(ClusterWith(spec), Defaults{});
  ASSERT_TRUE(camel.ok()) << camel.status();
  ASSERT_EQ(camel->dcs.size(), 1u);
  EXPECT_EQ(camel->dcs[0].name, c->dcs[0].name);
  EXPECT_EQ(camel->dcs[0].racks[0].volume_claim_template, rack.volume_claim_template);
  EXPECT_EQ(camel->dcs[0].racks[0].resources, rack.resources);
}

TEST(ClusterSpecTest, ScyllaModeIsRefusedWithTheReason) {
  // The CRD refuses it; a Cluster stored before it did must not silently run Cassandra.
  auto scylla = ParseCluster(
      ClusterWith(
          {{"version", "4.1.5"}, {"mode", "scylla"}, {"dataCenter", OneRackDc("dc1", "r1", 1)}}),
      Defaults{});
  EXPECT_EQ(scylla.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(scylla.status().message().find("Scylla backend is not available"), std::string::npos)
      << scylla.status();
  auto unknown = ParseCluster(
      ClusterWith(
          {{"version", "4.1.5"}, {"mode", "mysql"}, {"dataCenter", OneRackDc("dc1", "r1", 1)}}),
      Defaults{});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("mysql"), std::string::npos) << unknown.status();
  auto cassandra = ParseCluster(
      ClusterWith(
          {{"version", "4.1.5"}, {"mode", "cassandra"}, {"dataCenter", OneRackDc("dc1", "r1", 1)}}),
      Defaults{});
  ASSERT_TRUE(cassandra.ok()) << cassandra.status();
  EXPECT_EQ(cassandra->mode, "cassandra");
}

TEST(ClusterSpecTest, RestartedAtAnnotationAndPodAnnotations) {
  kube::Object cluster = ClusterWith({{"version", "4.1.5"},
                                      {"dataCenter", OneRackDc("dc1", "r1", 1)},
                                      {"annotations", {{"team", "db"}, {"scrape", "true"}}}});
  auto plain = ParseCluster(cluster, Defaults{});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->restarted_at, "");
  EXPECT_EQ(plain->pod_annotations,
            (std::map<std::string, std::string>{{"team", "db"}, {"scrape", "true"}}));

  cluster.set_annotation("cassandra.rook.io/restartedAt", "2026-01-02T03:04:05Z");
  cluster.set_annotation("unrelated", "x");
  auto restarted = ParseCluster(cluster, Defaults{});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ(restarted->restarted_at, "2026-01-02T03:04:05Z");
  // Only spec.annotations reach the pods, not the Cluster's own metadata annotations.
  EXPECT_EQ(restarted->pod_annotations.count("unrelated"), 0u);
}

TEST(ClusterSpecTest, SeveralDataCentersKeepTheirOrder) {
  Json second = {{"name", "dc2"},
                 {"racks",
                  {{{"name", "r1"}, {"members", 2}, {"configMapName", "cm"}},
                   {{"name", "r2"}, {"members", 1}}}}};
  auto c = ParseCluster(
      ClusterWith({{"version", "4.1.5"},
                   {"dataCenters", {OneRackDc("dc1", "a", 3), second, OneRackDc("dc3", "z", 0)}}}),
      Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->dcs.size(), 3u);
  EXPECT_EQ(c->dcs[0].name, "dc1");
  EXPECT_EQ(c->dcs[1].name, "dc2");
  EXPECT_EQ(c->dcs[2].name, "dc3");
  EXPECT_EQ(c->dcs[0].members(), 3);
  EXPECT_EQ(c->dcs[1].members(), 3);
  EXPECT_EQ(c->dcs[2].members(), 0);
  ASSERT_EQ(c->dcs[1].racks.size(), 2u);
  EXPECT_EQ(c->dcs[1].racks[0].name, "r1");
  EXPECT_EQ(c->dcs[1].racks[0].config_map_name, "cm");
  EXPECT_EQ(c->dcs[1].racks[1].name, "r2");
  EXPECT_EQ(c->dcs[1].racks[1].config_map_name, "");
  ASSERT_NE(c->FindDc("dc2"), nullptr);
  EXPECT_EQ(c->FindDc("dc2")->racks.size(), 2u);
}

TEST(ClusterSpecTest, AJoiningDataCenterNamesItsSourceAndUserKeyspaceFactor) {
  Json joining = OneRackDc("dc2", "a", 2);
  joining["rebuildFrom"] = "dc1";
  joining["replicateUserKeyspaces"] = 2;
  auto c = ParseCluster(
      ClusterWith({{"version", "5.0.9"}, {"dataCenters", {OneRackDc("dc1", "a", 3), joining}}}),
      Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dcs[0].rebuild_from, "");
  EXPECT_EQ(c->dcs[0].replicate_user_keyspaces, 0);
  EXPECT_EQ(c->dcs[1].rebuild_from, "dc1");
  EXPECT_EQ(c->dcs[1].replicate_user_keyspaces, 2);
  // Stored before the CRD refused it: a source that is no other data center.
  for (const char* source : {"dc2", "dc9"}) {
    joining["rebuildFrom"] = source;
    auto bad = ParseCluster(
        ClusterWith({{"version", "5.0.9"}, {"dataCenters", {OneRackDc("dc1", "a", 3), joining}}}),
        Defaults{});
    ASSERT_FALSE(bad.ok()) << source;
    EXPECT_NE(bad.status().message().find("rebuildFrom"), std::string::npos) << bad.status();
  }
}

TEST(ClusterSpecTest, DefaultsWhenRepositoryAndSidecarImageAreAbsent) {
  const kube::Object cluster =
      ClusterWith({{"version", "4.1.5"}, {"dataCenter", OneRackDc("dc1", "r1", 1)}});
  auto c = ParseCluster(cluster, Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->image, "cassandra:4.1.5");
  EXPECT_EQ(c->agent_image, Defaults{}.agent_image);

  auto custom = ParseCluster(cluster, Defaults{"mirror.example/cassandra", "mirror.example/ag:1"});
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->image, "mirror.example/cassandra:4.1.5");
  EXPECT_EQ(custom->agent_image, "mirror.example/ag:1");

  // A sidecar repository without a tag is :latest.
  auto no_tag = ParseCluster(ClusterWith({{"version", "4.1.5"},
                                          {"sidecarImage", {{"repository", "r.io/agent"}}},
                                          {"dataCenter", OneRackDc("dc1", "r1", 1)}}),
                             Defaults{});
  ASSERT_TRUE(no_tag.ok()) << no_tag.status();
  EXPECT_EQ(no_tag->agent_image, "r.io/agent:latest");
}

TEST(ClusterSpecTest, DataVolumeClaim) {
  // No storage: a 10Gi claim named "data" of the default class.
  auto plain = ParseCluster(
      ClusterWith({{"version", "4.1.5"}, {"dataCenter", OneRackDc("dc1", "r1", 1)}}), Defaults{});
  ASSERT_TRUE(plain.ok()) << plain.status();
  Json claim = plain->dcs[0].racks[0].volume_claim_template;
  EXPECT_EQ(claim["metadata"]["name"], kDataVolumeDefault);
  EXPECT_EQ(claim["spec"]["accessModes"], Json::array({"ReadWriteOnce"}));
  EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
  EXPECT_FALSE(claim["spec"].contains("storageClassName"));

  // Rook's StorageSpec: storageClassName beside metadata applies when the spec names none; the
  // claim's own storageClassName wins.
  Json dc = OneRackDc("dc1", "r1", 1);
  dc["racks"][0]["storage"] = {
      {"volumeClaimTemplates",
       {{{"storageClassName", "fast"},
         {"spec", {{"resources", {{"requests", {{"storage", "1Ti"}}}}}}}}}}};
  auto beside = ParseCluster(ClusterWith({{"version", "4.1.5"}, {"dataCenter", dc}}), Defaults{});
  ASSERT_TRUE(beside.ok()) << beside.status();
  Json b = beside->dcs[0].racks[0].volume_claim_template;
  EXPECT_EQ(b["metadata"]["name"], kDataVolumeDefault);
  EXPECT_EQ(b["spec"]["storageClassName"], "fast");
  EXPECT_EQ(b["spec"]["accessModes"], Json::array({"ReadWriteOnce"}));
  EXPECT_EQ(b["spec"]["resources"]["requests"]["storage"], "1Ti");

  dc["racks"][0]["storage"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "slow";
  auto both = ParseCluster(ClusterWith({{"version", "4.1.5"}, {"dataCenter", dc}}), Defaults{});
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->dcs[0].racks[0].volume_claim_template["spec"]["storageClassName"], "slow");
}

TEST(ClusterSpecTest, PolicyPauseAuthJvmAndConfig) {
  auto c = ParseCluster(
      ClusterWith({{"version", "4.1.5"},
                   {"dataCenter", OneRackDc("dc1", "r1", 1)},
                   {"pvcDeletionPolicy", "Delete"},
                   {"paused", true},
                   {"auth", {{"superuserSecretName", "mine"}}},
                   {"jvm", {{"heapSize", "4Gi"}, {"extraOptions", {"-XX:+UseG1GC", "-Da=b"}}}},
                   {"config", {{"num_tokens", 8}}}}),
      Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->delete_pvcs);
  EXPECT_TRUE(c->paused);
  EXPECT_EQ(c->superuser_secret, "mine");
  EXPECT_FALSE(c->generate_superuser);
  EXPECT_EQ(c->heap_size, "4Gi");
  EXPECT_EQ(c->jvm_extra_options, (std::vector<std::string>{"-XX:+UseG1GC", "-Da=b"}));
  EXPECT_EQ(c->config, Json({{"num_tokens", 8}}));

  auto retain = ParseCluster(ClusterWith({{"version", "4.1.5"},
                                          {"dataCenter", OneRackDc("dc1", "r1", 1)},
                                          {"pvcDeletionPolicy", "Retain"},
                                          {"paused", false},
                                          {"jvm", {{"heapSize", 536870912}}}}),
                             Defaults{});
  ASSERT_TRUE(retain.ok()) << retain.status();
  EXPECT_FALSE(retain->delete_pvcs);
  EXPECT_FALSE(retain->paused);
  EXPECT_EQ(retain->heap_size, "536870912");
}

TEST(ClusterSpecTest, NodeLossPolicy) {
  auto defaults = ParseCluster(
      ClusterWith({{"version", "5.0.9"}, {"dataCenter", OneRackDc("dc1", "r1", 3)}}), Defaults{});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->replace_on_node_loss);
  EXPECT_EQ(defaults->node_not_ready_timeout, absl::Minutes(10));
  auto never =
      ParseCluster(ClusterWith({{"version", "5.0.9"},
                                {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                {"nodeLoss", {{"policy", "Never"}, {"notReadyTimeout", "1h30m"}}}}),
                   Defaults{});
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_FALSE(never->replace_on_node_loss);
  EXPECT_EQ(never->node_not_ready_timeout, absl::Minutes(90));
  auto bad = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                       {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                       {"nodeLoss", {{"notReadyTimeout", "soon"}}}}),
                          Defaults{});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("notReadyTimeout"), std::string::npos) << bad.status();
}

TEST(ClusterSpecTest, Autoscaling) {
  auto off = ParseCluster(
      ClusterWith({{"version", "5.0.9"}, {"dataCenter", OneRackDc("dc1", "r1", 3)}}), Defaults{});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->autoscaling.enabled);
  auto defaults = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                            {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                            {"autoscaling", {{"maxMembers", 6}}}}),
                               Defaults{});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->autoscaling.enabled);
  EXPECT_EQ(defaults->autoscaling.max_members, 6);
  EXPECT_EQ(defaults->autoscaling.storage_used_percent, 75);
  EXPECT_EQ(defaults->autoscaling.period, absl::Minutes(30));
  EXPECT_EQ(defaults->autoscaling.cpu_used_percent, 0);  // CPU not judged
  auto set = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                       {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                       {"autoscaling",
                                        {{"maxMembers", 4},
                                         {"storageUsedPercent", 5},
                                         {"cpuUsedPercent", 150},
                                         {"period", "1m30s"}}}}),
                          Defaults{});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->autoscaling.storage_used_percent, 5);
  EXPECT_EQ(set->autoscaling.cpu_used_percent, 150);
  EXPECT_EQ(set->autoscaling.period, absl::Seconds(90));
  for (const Json& bad : {Json{{"maxMembers", 0}}, Json{{"maxMembers", 3}, {"period", "10s"}},
                          Json{{"maxMembers", 3}, {"period", "soon"}},
                          Json{{"maxMembers", 3}, {"storageUsedPercent", 100}},
                          Json{{"maxMembers", 3}, {"cpuUsedPercent", 0}},
                          Json{{"maxMembers", 3}, {"cpuUsedPercent", 1001}}}) {
    auto refused = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                             {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                             {"autoscaling", bad}}),
                                Defaults{});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(refused.status().message().find("spec.autoscaling"), std::string::npos)
        << refused.status();
  }
}

TEST(ClusterSpecTest, RackMembersPointerFindsTheRackWhereverItsDataCenterIs) {
  Json one = ClusterWith({{"version", "5.0.9"}, {"dataCenter", OneRackDc("dc1", "r1", 3)}}).json();
  auto at = RackMembersPointer(one, "dc1", "r1");
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->to_string(), "/spec/dataCenter/racks/0/members");
  EXPECT_EQ(one.at(*at), 3);
  Json rook = ClusterWith({{"version", "5.0.9"}, {"datacenter", OneRackDc("dc1", "r1", 3)}}).json();
  EXPECT_EQ(RackMembersPointer(rook, "dc1", "r1")->to_string(), "/spec/datacenter/racks/0/members");
  Json second = OneRackDc("dc2", "a", 1);
  second["racks"].push_back({{"name", "b"}, {"members", 2}});
  Json many =
      ClusterWith({{"version", "5.0.9"}, {"dataCenters", {OneRackDc("dc1", "a", 1), second}}})
          .json();
  EXPECT_EQ(RackMembersPointer(many, "dc2", "b")->to_string(),
            "/spec/dataCenters/1/racks/1/members");
  EXPECT_EQ(RackMembersPointer(many, "dc2", "c").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RackMembersPointer(many, "dc3", "a").status().code(), absl::StatusCode::kNotFound);
}

TEST(ClusterSpecTest, StorageLocationsWithTheirDefaults) {
  Json locations =
      Json::array({{{"name", "versity"},
                    {"s3",
                     {{"endpoint", "http://10.244.0.1:7070"},
                      {"bucket", "backups"},
                      {"prefix", "team/a"},
                      {"pathStyle", true},
                      {"credentialsSecret", {{"name", "s3-creds"}, {"accessKeyIdKey", "id"}}}}}},
                   {{"name", "aws"},
                    {"s3",
                     {{"bucket", "b2"},
                      {"region", "eu-west-3"},
                      {"pathStyle", false},
                      {"credentialsSecret", {{"name", "aws-creds"}}}}}}});
  auto c = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                     {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                     {"storageLocations", locations}}),
                        Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->storage_locations.size(), 2u);
  const StorageLocationSpec* versity = c->FindStorageLocation("versity");
  ASSERT_NE(versity, nullptr);
  EXPECT_EQ(versity->s3.EffectiveEndpoint(), "http://10.244.0.1:7070");
  EXPECT_EQ(versity->s3.prefix, "team/a");
  EXPECT_EQ(versity->s3.region, "us-east-1");
  EXPECT_EQ(versity->s3.access_key_id_key, "id");
  EXPECT_EQ(versity->s3.secret_access_key_key, "secretAccessKey");
  const StorageLocationSpec* aws = c->FindStorageLocation("aws");
  ASSERT_NE(aws, nullptr);
  EXPECT_EQ(aws->s3.EffectiveEndpoint(), "https://s3.eu-west-3.amazonaws.com");
  EXPECT_FALSE(aws->s3.path_style);
  EXPECT_EQ(c->FindStorageLocation("nope"), nullptr);
  EXPECT_EQ(StorageCredentialsSecretName(*c), c->name + "-storage-credentials");

  auto no_bucket = ParseCluster(
      ClusterWith({{"version", "5.0.9"},
                   {"dataCenter", OneRackDc("dc1", "r1", 3)},
                   {"storageLocations",
                    {{{"name", "x"}, {"s3", {{"credentialsSecret", {{"name", "s"}}}}}}}}}),
      Defaults{});
  EXPECT_TRUE(absl::IsInvalidArgument(no_bucket.status()));
  EXPECT_NE(no_bucket.status().message().find("storageLocations[x]"), std::string::npos);
}

TEST(ClusterSpecTest, FilesystemStorageLocation) {
  auto c = ParseCluster(
      ClusterWith(
          {{"version", "5.0.9"},
           {"dataCenter", OneRackDc("dc1", "r1", 3)},
           {"storageLocations",
            {{{"name", "nfs"}, {"filesystem", {{"claimName", "backups"}, {"prefix", "team"}}}}}}}),
      Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  const StorageLocationSpec* nfs = c->FindStorageLocation("nfs");
  ASSERT_NE(nfs, nullptr);
  EXPECT_TRUE(nfs->IsFilesystem());
  EXPECT_EQ(nfs->filesystem.claim_name, "backups");
  EXPECT_EQ(nfs->Prefix(), "team");

  // Both kinds in one location, or none: refused (the CRD's CEL says the same).
  for (const Json& bad :
       {Json{{"name", "x"},
             {"filesystem", {{"claimName", "c"}}},
             {"s3", {{"bucket", "b"}, {"credentialsSecret", {{"name", "s"}}}}}},
        Json{{"name", "x"}}, Json{{"name", "x"}, {"filesystem", Json::object()}}}) {
    auto r = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                       {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                       {"storageLocations", Json::array({bad})}}),
                          Defaults{});
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
  // A new Cluster is planned from its backup before any pod exists: only S3 can be read then.
  auto from_fs = ParseCluster(
      ClusterWith(
          {{"version", "5.0.9"},
           {"dataCenter", OneRackDc("dc1", "r1", 3)},
           {"storageLocations", {{{"name", "nfs"}, {"filesystem", {{"claimName", "backups"}}}}}},
           {"restoreFrom", {{"storageLocation", "nfs"}, {"cluster", "a"}, {"backup", "b"}}}}),
      Defaults{});
  EXPECT_TRUE(absl::IsInvalidArgument(from_fs.status()));
  EXPECT_NE(from_fs.status().message().find("s3"), std::string::npos) << from_fs.status();
}

TEST(ClusterSpecTest, BackupSchedulesWithTheirDefaults) {
  Json schedules = Json::array(
      {{{"name", "nightly"},
        {"schedule", "0 2 * * *"},
        {"timeZone", "Europe/Paris"},
        {"storageLocation", "versity"},
        {"keyspaces", {"bk1"}},
        {"retention", {{"count", 3}, {"maxAge", "30d"}, {"orphanFileGracePeriod", "1d12h"}}},
        {"failedBackupsHistoryLimit", 2},
        {"startingDeadlineSeconds", 60},
        {"suspend", true}},
       {{"name", "hourly"}, {"schedule", "@hourly"}, {"storageLocation", "versity"}}});
  auto c = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                     {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                     {"backups", schedules}}),
                        Defaults{});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->backup_schedules.size(), 2u);
  const BackupScheduleSpec& n = c->backup_schedules[0];
  EXPECT_EQ(n.time_zone, "Europe/Paris");
  EXPECT_EQ(n.keyspaces, std::vector<std::string>{"bk1"});
  EXPECT_EQ(n.keep, 3);
  EXPECT_EQ(n.max_age, absl::Hours(24 * 30));
  EXPECT_EQ(n.orphan_grace, absl::Hours(36));
  EXPECT_EQ(n.failed_history, 2);
  EXPECT_EQ(n.starting_deadline, absl::Seconds(60));
  EXPECT_TRUE(n.suspend);
  const BackupScheduleSpec& h = c->backup_schedules[1];
  EXPECT_EQ(h.time_zone, "UTC");
  EXPECT_EQ(h.keep, 7);
  EXPECT_EQ(h.max_age, absl::ZeroDuration());
  EXPECT_EQ(h.orphan_grace, absl::Hours(1));
  EXPECT_FALSE(h.suspend);
  EXPECT_EQ(ScheduledName(*c, "nightly", absl::FromUnixSeconds(1796400000)),
            c->name + "-nightly-202612041600");

  schedules[1]["retention"] = {{"maxAge", "soon"}};
  auto bad = ParseCluster(ClusterWith({{"version", "5.0.9"},
                                       {"dataCenter", OneRackDc("dc1", "r1", 3)},
                                       {"backups", schedules}}),
                          Defaults{});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_NE(bad.status().message().find("spec.backups[hourly].retention.maxAge"), std::string::npos)
      << bad.status();
}

TEST(ClusterSpecTest, Errors) {
  auto no_version = ParseCluster(ClusterWith({{"dataCenter", OneRackDc("dc1", "r1", 1)}}), {});
  EXPECT_EQ(no_version.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_version.status().message().find("version"), std::string::npos)
      << no_version.status();

  auto no_dc = ParseCluster(ClusterWith({{"version", "4.1.5"}}), {});
  EXPECT_EQ(no_dc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_dc.status().message().find("data center"), std::string::npos) << no_dc.status();

  auto empty_dcs =
      ParseCluster(ClusterWith({{"version", "4.1.5"}, {"dataCenters", Json::array()}}), {});
  EXPECT_EQ(empty_dcs.status().code(), absl::StatusCode::kInvalidArgument);

  auto no_racks =
      ParseCluster(ClusterWith({{"version", "4.1.5"},
                                {"dataCenter", {{"name", "dc1"}, {"racks", Json::array()}}}}),
                   {});
  EXPECT_EQ(no_racks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_racks.status().message().find("dc1"), std::string::npos) << no_racks.status();

  auto unnamed_dc =
      ParseCluster(ClusterWith({{"version", "4.1.5"}, {"dataCenter", OneRackDc("", "r1", 1)}}), {});
  EXPECT_EQ(unnamed_dc.status().code(), absl::StatusCode::kInvalidArgument);

  auto unnamed_rack = ParseCluster(
      ClusterWith({{"version", "4.1.5"}, {"dataCenters", {OneRackDc("dc1", "", 1)}}}), {});
  EXPECT_EQ(unnamed_rack.status().code(), absl::StatusCode::kInvalidArgument);

  auto negative = ParseCluster(
      ClusterWith({{"version", "4.1.5"}, {"dataCenters", {OneRackDc("dc1", "r1", -1)}}}), {});
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ringkeeper
