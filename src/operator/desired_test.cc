#include "operator/desired.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "operator/testing/desired_fixture.h"

namespace ringkeeper {
namespace {

using kube::Json;
using testing::ExpectOwnedByCluster;
using testing::Named;
using testing::Spec;

TEST(DesiredTest, MemberService) {
  ClusterSpec c = Spec();
  Json svc = MemberService(c, "dc1", "r1", 2);
  EXPECT_EQ(svc["apiVersion"], "v1");
  EXPECT_EQ(svc["kind"], "Service");
  EXPECT_EQ(svc["metadata"]["name"], "c-dc1-r1-2");
  EXPECT_EQ(svc["metadata"]["labels"]["cassandra.rook.io/datacenter"], "dc1");
  EXPECT_EQ(svc["metadata"]["labels"]["cassandra.rook.io/rack"], "r1");
  ExpectOwnedByCluster(svc, c);
  EXPECT_EQ(svc["spec"]["type"], "ClusterIP");
  // Exactly its own pod, whatever the pod's other labels.
  EXPECT_EQ(svc["spec"]["selector"], Json({{"statefulset.kubernetes.io/pod-name", "c-dc1-r1-2"}}));
  EXPECT_EQ(svc["spec"]["publishNotReadyAddresses"], true);
  std::set<std::pair<std::string, int>> ports;
  for (Json p : svc["spec"]["ports"]) {
    EXPECT_EQ(p["targetPort"], p["port"]);
    EXPECT_EQ(p["protocol"], "TCP");
    ports.emplace(p["name"].get<std::string>(), p["port"].get<int>());
  }
  EXPECT_EQ(ports, (std::set<std::pair<std::string, int>>{
                       {"intra", 7000}, {"cql", 9042}, {"agent", 8090}}));
}

TEST(DesiredTest, DataCenterServicesPdbAndServiceAccount) {
  ClusterSpec c = Spec();
  Json dc_selector = {{"cassandra.rook.io/cluster", "c"}, {"cassandra.rook.io/datacenter", "dc1"}};

  Json headless = HeadlessService(c, "dc1");
  EXPECT_EQ(headless["metadata"]["name"], "c-dc1");
  EXPECT_EQ(headless["spec"]["clusterIP"], "None");
  EXPECT_EQ(headless["spec"]["selector"], dc_selector);
  ExpectOwnedByCluster(headless, c);

  Json client = ClientService(c, "dc1");
  EXPECT_EQ(client["metadata"]["name"], "c-dc1-client");
  EXPECT_EQ(client["spec"]["selector"], dc_selector);
  ASSERT_EQ(client["spec"]["ports"].size(), 1u);
  EXPECT_EQ(client["spec"]["ports"][0]["name"], "cql");
  EXPECT_EQ(client["spec"]["ports"][0]["port"], 9042);
  ExpectOwnedByCluster(client, c);

  Json pdb = PodDisruptionBudget(c, "dc1");
  EXPECT_EQ(pdb["apiVersion"], "policy/v1");
  EXPECT_EQ(pdb["metadata"]["name"], "c-dc1");
  EXPECT_EQ(pdb["spec"]["maxUnavailable"], 1);
  EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"], dc_selector);
  ExpectOwnedByCluster(pdb, c);

  Json sa = CassandraServiceAccount(c);
  EXPECT_EQ(sa["metadata"]["name"], "c-cassandra");
  EXPECT_EQ(sa["automountServiceAccountToken"], false);
  ExpectOwnedByCluster(sa, c);

  Json su = SuperuserSecret(c, "admin", "pw");
  EXPECT_EQ(su["metadata"]["name"], "c-superuser");
  EXPECT_EQ(su["stringData"], Json({{"username", "admin"}, {"password", "pw"}}));
  Json token = AgentTokenSecret(c, {{"token", "t0k"}, {"ca.crt", "CA"}});
  EXPECT_EQ(token["metadata"]["name"], "c-agent-token");
  EXPECT_EQ(token["data"], Json({{"token", "dDBr"}, {"ca.crt", "Q0E="}}));
}

TEST(DesiredTest, AgentNetworkPolicyKeepsTheAgentsApiToTheOperatorAndTheClustersPods) {
  ClusterSpec c = Spec();
  Json policy = AgentNetworkPolicy(
      c, {.ns = "ops", .labels = {{"app.kubernetes.io/name", "ringkeeper-operator"}}});
  EXPECT_EQ(policy["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(policy["metadata"]["name"], c.name + "-agent");
  EXPECT_EQ(policy["metadata"]["ownerReferences"][0]["uid"], c.uid);
  const Json& spec = policy["spec"];
  const Json cluster_pods = {{"matchLabels", {{"cassandra.rook.io/cluster", c.name}}}};
  EXPECT_EQ(spec["podSelector"], cluster_pods);
  EXPECT_EQ(spec["policyTypes"], Json({"Ingress"}));
  ASSERT_EQ(spec["ingress"].size(), 2u);
  // From anywhere: every TCP port but 8090 (CQL 9042, internode 7000, health and metrics 8091),
  // and UDP.
  const Json& open = spec["ingress"][0];
  EXPECT_FALSE(open.contains("from"));
  EXPECT_EQ(open["ports"], Json::parse(R"([{"protocol":"TCP","port":1,"endPort":8089},
      {"protocol":"TCP","port":8091,"endPort":65535},
      {"protocol":"UDP","port":1,"endPort":65535}])"));
  // 8090 from the operator's pods (in their namespace) and the cluster's own (same namespace).
  const Json& agent = spec["ingress"][1];
  EXPECT_EQ(agent["ports"], Json::parse(R"([{"protocol":"TCP","port":8090}])"));
  EXPECT_EQ(agent["from"], Json::parse(R"([
      {"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ops"}},
       "podSelector":{"matchLabels":{"app.kubernetes.io/name":"ringkeeper-operator"}}},
      {"podSelector":{"matchLabels":{"cassandra.rook.io/cluster":")" +
                                       c.name + R"("}}}])"));
}

TEST(DesiredTest, RackStatefulSetShape) {
  ClusterSpec c = Spec();
  RackSpec rack = c.dcs[0].racks[0];
  Json sts = RackStatefulSet(c, "dc1", rack, 3, "hash-1");
  EXPECT_EQ(sts["apiVersion"], "apps/v1");
  EXPECT_EQ(sts["kind"], "StatefulSet");
  EXPECT_EQ(sts["metadata"]["name"], "c-dc1-r1");
  ExpectOwnedByCluster(sts, c);
  Json spec = sts["spec"];
  EXPECT_EQ(spec["replicas"], 3);
  EXPECT_EQ(spec["serviceName"], "c-dc1");
  EXPECT_EQ(spec["podManagementPolicy"], "Parallel");
  EXPECT_EQ(spec["updateStrategy"], Json({{"type", "OnDelete"}}));
  EXPECT_EQ(spec["persistentVolumeClaimRetentionPolicy"],
            Json({{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}}));
  EXPECT_EQ(spec["template"]["metadata"]["annotations"]["cassandra.rook.io/config-hash"], "hash-1");

  // The selector must select the template's pods, and only this rack's.
  Json selector = spec["selector"]["matchLabels"];
  EXPECT_EQ(selector["cassandra.rook.io/rack"], "r1");
  for (const auto& [key, value] : selector.items()) {
    EXPECT_EQ(spec["template"]["metadata"]["labels"][key], value) << key;
  }

  Json claims = spec["volumeClaimTemplates"];
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0]["metadata"]["name"], "cassandra-data");
  EXPECT_EQ(claims[0]["spec"], rack.volume_claim_template["spec"]);
  EXPECT_EQ(claims[0]["spec"]["resources"]["requests"]["storage"], "500Gi");

  Json delete_policy =
      RackStatefulSet(Spec({{"pvcDeletionPolicy", "Delete"}}), "dc1", rack, 3, "hash-1");
  EXPECT_EQ(delete_policy["spec"]["persistentVolumeClaimRetentionPolicy"],
            Json({{"whenDeleted", "Delete"}, {"whenScaled", "Delete"}}));

  // A config change changes the template (and so rolls the pods); nothing else differs.
  Json other = RackStatefulSet(c, "dc1", rack, 3, "hash-2");
  EXPECT_NE(other["spec"]["template"], spec["template"]);
  other["spec"]["template"]["metadata"]["annotations"]["cassandra.rook.io/config-hash"] = "hash-1";
  EXPECT_EQ(other, sts);
}

// Only a Cluster created from a backup mounts the storage credentials in agent init (which
// fetches each member's files): for any other, the template, and so its pods, stay as they were.
TEST(DesiredTest, AgentInitMountsStorageCredentialsOnlyWhenRestoringFrom) {
  ClusterSpec c = Spec();
  auto init_mounts = [&c] {
    Json pod = RackStatefulSet(c, "dc1", c.dcs[0].racks[0], 3, "h")["spec"]["template"]["spec"];
    return Named(pod["initContainers"], "agent-init")["volumeMounts"];
  };
  EXPECT_TRUE(Named(init_mounts(), "storage-credentials").is_null());
  c.restore_from = {"s3", "old", "b1", {}};
  Json mount = Named(init_mounts(), "storage-credentials");
  ASSERT_FALSE(mount.is_null());
  EXPECT_EQ(mount["mountPath"], "/etc/ringkeeper/storage");
  EXPECT_EQ(mount["readOnly"], true);
}

// A filesystem location's claim is a volume of every pod, mounted where the agent serves it
// (and in agent init for a replay when the commit log is archived).
TEST(DesiredTest, FilesystemLocationsAreMountedInTheAgent) {
  ClusterSpec c = Spec();
  StorageLocationSpec nfs;
  nfs.name = "nfs";
  nfs.filesystem = {"backups", "team"};
  c.storage_locations.push_back(nfs);
  Json pod = RackStatefulSet(c, "dc1", c.dcs[0].racks[0], 3, "h")["spec"]["template"]["spec"];
  Json volume = Named(pod["volumes"], "location-nfs");
  ASSERT_FALSE(volume.is_null()) << pod["volumes"];
  EXPECT_EQ(volume["persistentVolumeClaim"]["claimName"], "backups");
  Json mount = Named(Named(pod["containers"], "agent")["volumeMounts"], "location-nfs");
  ASSERT_FALSE(mount.is_null());
  EXPECT_EQ(mount["mountPath"], "/var/lib/ringkeeper/locations/nfs");
  EXPECT_NE(mount["readOnly"], true);
  EXPECT_TRUE(
      Named(Named(pod["containers"], "cassandra")["volumeMounts"], "location-nfs").is_null());
  EXPECT_TRUE(
      Named(Named(pod["initContainers"], "agent-init")["volumeMounts"], "location-nfs").is_null());
  c.commit_log_archive = "nfs";
  pod = RackStatefulSet(c, "dc1", c.dcs[0].racks[0], 3, "h")["spec"]["template"]["spec"];
  EXPECT_FALSE(
      Named(Named(pod["initContainers"], "agent-init")["volumeMounts"], "location-nfs").is_null());
}

TEST(DesiredTest, RackStatefulSetPod) {
  ClusterSpec c = Spec();
  RackSpec rack = c.dcs[0].racks[0];
  Json sts = RackStatefulSet(c, "dc1", rack, 3, "h");
  Json pod = sts["spec"]["template"]["spec"];

  EXPECT_EQ(pod["serviceAccountName"], "c-cassandra");
  EXPECT_EQ(pod["automountServiceAccountToken"], false);
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["affinity"]["nodeAffinity"], rack.placement["nodeAffinity"]);
  EXPECT_EQ(pod["affinity"]["podAntiAffinity"], rack.placement["podAntiAffinity"]);
  EXPECT_FALSE(pod["affinity"].contains("tolerations"));
  EXPECT_EQ(pod["tolerations"], rack.placement["tolerations"]);

  std::vector<std::string> names, init_names;
  for (Json ct : pod["containers"]) names.push_back(ct["name"].get<std::string>());
  for (Json ct : pod["initContainers"]) init_names.push_back(ct["name"].get<std::string>());
  EXPECT_EQ(names, (std::vector<std::string>{"cassandra", "agent"}));
  EXPECT_EQ(init_names, (std::vector<std::string>{"base-config", "agent-init"}));

  Json cassandra = Named(pod["containers"], "cassandra");
  Json agent = Named(pod["containers"], "agent");
  Json agent_init = Named(pod["initContainers"], "agent-init");
  EXPECT_EQ(cassandra["image"], c.image);
  EXPECT_EQ(agent["image"], c.agent_image);
  EXPECT_EQ(agent_init["image"], c.agent_image);
  EXPECT_EQ(cassandra["resources"], rack.resources);
  EXPECT_NE(agent["resources"], rack.resources);

  // The official image has no config-keys.txt: base-config hands agent init the Cassandra jar
  // (whichever of the two names exists), and init lists the cassandra.yaml keys from it.
  const std::string base_config_command =
      Named(pod["initContainers"], "base-config")["command"][2].get<std::string>();
  EXPECT_NE(base_config_command.find("/opt/cassandra/lib/apache-cassandra-*.jar"),
            std::string::npos);
  EXPECT_NE(base_config_command.find("/opt/cassandra/lib/cassandra-all-*.jar"), std::string::npos);
  EXPECT_EQ(base_config_command.find("config-keys.txt"), std::string::npos);
  const std::string init_command = agent_init["command"][2].get<std::string>();
  EXPECT_NE(init_command.find("--cassandra-lib /base-conf/lib"), std::string::npos);

  // Ready = UN as the peers see it, which only the agent knows; asked on its plain health port
  // (the kubelet has no client certificate for the API's mutual TLS).
  EXPECT_EQ(cassandra["readinessProbe"]["httpGet"], Json({{"path", "/readyz"}, {"port", 8091}}));
  EXPECT_EQ(agent["livenessProbe"]["httpGet"], Json({{"path", "/healthz"}, {"port", 8091}}));
  EXPECT_EQ(Named(agent["ports"], "metrics")["containerPort"], 8091);  // Prometheus, plain

  // The agent serves its API in mutual TLS from the Cluster's agent CA, and says so to the
  // operator on the template.
  std::set<std::string> args;
  for (const Json& a : agent["args"]) args.insert(a.get<std::string>());
  for (const char* arg :
       {"--tls-cert=/etc/ringkeeper/token/tls.crt", "--tls-key=/etc/ringkeeper/token/tls.key",
        "--client-ca=/etc/ringkeeper/token/ca.crt", "--health-port=8091"}) {
    EXPECT_TRUE(args.count(arg)) << arg;
  }
  EXPECT_EQ(sts["spec"]["template"]["metadata"]["annotations"]["cassandra.rook.io/agent-tls"],
            "mutual");

  // The data volume is the claim template, mounted where Cassandra keeps its data.
  for (Json* ct : {&cassandra, &agent_init, &agent}) {
    Json mount = Named((*ct)["volumeMounts"], "cassandra-data");
    ASSERT_FALSE(mount.is_null()) << (*ct)["name"];
    EXPECT_EQ(mount["mountPath"], "/var/lib/cassandra") << (*ct)["name"];
  }

  // Every mount names a volume of the pod or the claim template.
  std::set<std::string> volumes = {"cassandra-data"};
  for (Json v : pod["volumes"]) volumes.insert(v["name"].get<std::string>());
  for (const char* list : {"containers", "initContainers"}) {
    for (Json ct : pod[list]) {
      EXPECT_EQ(ct["securityContext"]["runAsNonRoot"], true) << ct["name"];
      EXPECT_EQ(ct["securityContext"]["allowPrivilegeEscalation"], false) << ct["name"];
      for (Json m : ct["volumeMounts"]) {
        EXPECT_TRUE(volumes.count(m["name"].get<std::string>()))
            << ct["name"] << " mounts " << m["name"];
      }
    }
  }
  EXPECT_EQ(Named(pod["volumes"], "members")["configMap"]["name"], "c-dc1-r1-members");
  EXPECT_EQ(Named(pod["volumes"], "config")["configMap"]["name"], "c-dc1-r1-config");
  EXPECT_EQ(Named(pod["volumes"], "token")["secret"]["secretName"], "c-agent-token");
  // Neither the CA's key nor the operator's certificate reaches a pod.
  std::set<std::string> projected;
  const Json token_volume = Named(pod["volumes"], "token");
  for (const Json& item : token_volume["secret"]["items"]) {
    projected.insert(item["key"].get<std::string>());
  }
  EXPECT_EQ(projected, (std::set<std::string>{"token", "ca.crt", "tls.crt", "tls.key"}));
  EXPECT_EQ(Named(pod["volumes"], "superuser")["secret"]["secretName"], "c-superuser");

  // agent init learns the pod IP only when the pod starts, and reads its own member settings
  // from the members ConfigMap (key <pod>.json).
  ASSERT_EQ(agent_init["command"].size(), 3u);
  const std::string command = agent_init["command"][2];
  EXPECT_NE(command.find("--listen-address $(POD_IP)"), std::string::npos) << command;
  EXPECT_NE(command.find("--settings /etc/ringkeeper/members/$(POD_NAME).json"), std::string::npos)
      << command;
  EXPECT_EQ(Named(agent_init["volumeMounts"], "members")["mountPath"], "/etc/ringkeeper/members");
  EXPECT_EQ(Named(agent_init["env"], "POD_IP")["valueFrom"]["fieldRef"]["fieldPath"],
            "status.podIP");
  EXPECT_EQ(Named(agent_init["env"], "POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name");
}

// What the pods of dc1 of cluster c get when the rack's placement says nothing.
TEST(DesiredTest, MemberSettings) {
  ClusterSpec c = Spec({{"jvm", {{"heapSize", "2Gi"}, {"extraOptions", {"-Da=b"}}}}});
  const std::vector<std::string> seeds = {"10.0.0.1", "10.0.0.2"};

  MemberPlan initial;
  initial.pod = "c-dc1-r1-0";
  initial.broadcast_ip = "10.0.0.1";
  initial.initial_tokens = {"-9223372036854775808", "0"};
  initial.auto_bootstrap = false;
  const agent::api::InitSettings s = MemberSettings(c, "dc1", "r1", seeds, initial);
  EXPECT_EQ(s.cluster_name, "c");
  EXPECT_EQ(s.dc, "dc1");
  EXPECT_EQ(s.rack, "r1");
  EXPECT_EQ(s.seeds, seeds);
  EXPECT_EQ(s.broadcast_address, "10.0.0.1");
  EXPECT_EQ(s.broadcast_rpc_address, "10.0.0.1");
  EXPECT_EQ(s.rpc_address, "0.0.0.0");
  EXPECT_EQ(s.initial_tokens, initial.initial_tokens);
  EXPECT_FALSE(s.auto_bootstrap);
  EXPECT_FALSE(s.member_joined_before);
  EXPECT_EQ(s.data_dir, "/var/lib/cassandra");
  EXPECT_EQ(s.heap_bytes, 2LL << 30);
  EXPECT_EQ(s.extra_jvm_options, (std::vector<std::string>{"-Da=b"}));
  EXPECT_EQ(s.jolokia_jar, kJolokiaJar);

  MemberPlan later;
  later.pod = "c-dc1-r1-3";
  later.broadcast_ip = "10.0.0.9";
  later.joined_before = true;
  const agent::api::InitSettings l = MemberSettings(Spec(), "dc1", "r1", seeds, later);
  EXPECT_EQ(l.broadcast_address, "10.0.0.9");
  EXPECT_EQ(l.broadcast_rpc_address, "10.0.0.9");
  EXPECT_TRUE(l.initial_tokens.empty());
  EXPECT_TRUE(l.auto_bootstrap);
  EXPECT_TRUE(l.member_joined_before);
  EXPECT_EQ(l.heap_bytes, 0);  // derived from the memory limit by agent init

  // The members ConfigMap carries each member's settings under <pod>.json.
  Json cm = MembersConfigMap(c, "dc1", "r1", {{initial.pod, s}, {later.pod, l}});
  EXPECT_EQ(cm["metadata"]["name"], "c-dc1-r1-members");
  ASSERT_TRUE(cm["data"].contains("c-dc1-r1-0.json"));
  ASSERT_TRUE(cm["data"].contains("c-dc1-r1-3.json"));
  const auto back =
      Json::parse(cm["data"]["c-dc1-r1-0.json"].get<std::string>()).get<agent::api::InitSettings>();
  EXPECT_EQ(back.broadcast_address, "10.0.0.1");
  EXPECT_EQ(back.initial_tokens, initial.initial_tokens);
  EXPECT_FALSE(back.auto_bootstrap);
}

// The config ConfigMap's cassandra.yaml (JSON, which is YAML).
Json CassandraYaml(Json config_map) {
  return Json::parse(config_map["data"]["cassandra.yaml"].get<std::string>());
}

TEST(DesiredTest, ConfigConfigMapMergesSpecOverRack) {
  Json config = {{"num_tokens", 16}, {"client_encryption_options", {{"enabled", true}}}};
  ClusterSpec c = Spec({{"config", config}});
  Json rack = {{"num_tokens", 8},
               {"concurrent_reads", 64},
               {"client_encryption_options", {{"enabled", false}, {"keystore", "/ks"}}}};
  Json cm = ConfigConfigMap(c, "dc1", "r1", rack);
  EXPECT_EQ(cm["metadata"]["name"], "c-dc1-r1-config");
  EXPECT_EQ(cm["metadata"]["labels"]["cassandra.rook.io/rack"], "r1");
  ExpectOwnedByCluster(cm, c);
  EXPECT_EQ(CassandraYaml(cm),
            Json({{"num_tokens", 16},
                  {"concurrent_reads", 64},
                  {"client_encryption_options", {{"enabled", true}, {"keystore", "/ks"}}}}));

  // No rack overrides (or not a mapping): spec.config alone.
  EXPECT_EQ(CassandraYaml(ConfigConfigMap(c, "dc1", "r1", nullptr)), config);
  EXPECT_EQ(CassandraYaml(ConfigConfigMap(c, "dc1", "r1", Json::array({1}))), config);
  // No spec.config: the rack's overrides alone.
  EXPECT_EQ(CassandraYaml(ConfigConfigMap(Spec(), "dc1", "r1", rack)), rack);
}

TEST(DesiredTest, AppliedHash) {
  ClusterSpec c = Spec();
  Json a = WithAppliedHash(MemberService(c, "dc1", "r1", 0));
  Json b = WithAppliedHash(MemberService(c, "dc1", "r1", 0));
  const std::string hash = a["metadata"]["annotations"]["cassandra.rook.io/applied-hash"];
  EXPECT_EQ(hash.size(), 16u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
  EXPECT_EQ(a, b);

  // Any change, however deep, changes the hash.
  Json changed = MemberService(c, "dc1", "r1", 0);
  changed["spec"]["ports"][2]["port"] = 8091;
  EXPECT_NE(WithAppliedHash(changed)["metadata"]["annotations"], a["metadata"]["annotations"]);
  EXPECT_NE(WithAppliedHash(MemberService(c, "dc1", "r1", 1))["metadata"]["annotations"],
            a["metadata"]["annotations"]);

  // The hash annotation itself is not hashed: hashing again (or over a stale hash) gives the
  // same object, with or without other annotations.
  EXPECT_EQ(WithAppliedHash(a), a);
  Json stale = MemberService(c, "dc1", "r1", 0);
  stale["metadata"]["annotations"]["cassandra.rook.io/applied-hash"] = "0000000000000000";
  EXPECT_EQ(WithAppliedHash(stale), a);
  Json annotated = MemberService(c, "dc1", "r1", 0);
  annotated["metadata"]["annotations"]["team"] = "db";
  Json annotated_hashed = WithAppliedHash(annotated);
  EXPECT_EQ(annotated_hashed["metadata"]["annotations"]["team"], "db");
  EXPECT_NE(annotated_hashed["metadata"]["annotations"]["cassandra.rook.io/applied-hash"], hash);
  annotated["metadata"]["annotations"]["cassandra.rook.io/applied-hash"] = "ffffffffffffffff";
  EXPECT_EQ(WithAppliedHash(annotated), annotated_hashed);

  // AppliedFrom reads the observed object's annotation (the server adds other fields).
  kube::Object observed(a);
  observed.json()["metadata"]["resourceVersion"] = "42";
  observed.json()["spec"]["clusterIP"] = "10.96.0.7";
  EXPECT_TRUE(AppliedFrom(a, observed));
  EXPECT_FALSE(AppliedFrom(WithAppliedHash(changed), observed));
  EXPECT_FALSE(AppliedFrom(a, kube::Object(MemberService(c, "dc1", "r1", 0))));
}

TEST(DesiredTest, HashOfIsStable) {
  // A golden value: a different hash after an upgrade would re-apply every object.
  EXPECT_EQ(HashOf(Json({{"a", 1}})), "015abd7f5cc57a2d");  // sha256 of {"a":1}, 8 bytes
  EXPECT_EQ(HashOf(Json::parse(R"({"x": 1, "y": [1, 2]})")),
            HashOf(Json::parse(R"({"y": [1, 2], "x": 1})")));
  EXPECT_NE(HashOf(Json::parse(R"({"y": [1, 2]})")), HashOf(Json::parse(R"({"y": [2, 1]})")));
  EXPECT_NE(HashOf(Json({{"a", 1}})), HashOf(Json({{"a", "1"}})));
}

TEST(DesiredTest, ParseByteQuantity) {
  EXPECT_EQ(ParseByteQuantity("512Mi"), 512LL << 20);
  EXPECT_EQ(ParseByteQuantity("2G"), 2000000000);
  EXPECT_EQ(ParseByteQuantity("1073741824"), 1073741824);
  EXPECT_EQ(ParseByteQuantity("4Gi"), 4LL << 30);
  EXPECT_EQ(ParseByteQuantity("1.5Gi"), 3LL << 29);
  EXPECT_EQ(ParseByteQuantity("1Ti"), 1LL << 40);
  EXPECT_EQ(ParseByteQuantity("64Ki"), 64 * 1024);
  EXPECT_EQ(ParseByteQuantity("100k"), 100000);
  EXPECT_EQ(ParseByteQuantity("3M"), 3000000);
  EXPECT_EQ(ParseByteQuantity("2T"), 2000000000000);
  EXPECT_EQ(ParseByteQuantity("x"), -1);
  EXPECT_EQ(ParseByteQuantity(""), -1);
  EXPECT_EQ(ParseByteQuantity("Gi"), -1);
  EXPECT_EQ(ParseByteQuantity("xGi"), -1);
  EXPECT_EQ(ParseByteQuantity("12Q"), -1);
}

}  // namespace
}  // namespace ringkeeper
