// Scenarios of creation, idleness, pausing and authentication (the safety rules of README.md,
// "Safety rules, where they live"), on the in-memory cluster. Each ends with "the next pass
// writes nothing".
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

TEST_F(Scenario, TheAgentsApiIsKeptToTheOperatorByANetworkPolicyPutBackWhenDeleted) {
  CreateReady(3);
  kube::ObjectPtr policy = world.Find(res::kNetworkPolicies, "c-agent");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->json()["spec"]["ingress"][1]["from"][0]["namespaceSelector"]["matchLabels"]
                          ["kubernetes.io/metadata.name"],
            "ringkeeper-system");
  ExpectQuiet();
  world.UserDelete(res::kNetworkPolicies, "c-agent");
  ASSERT_TRUE(Pass().ok());
  EXPECT_NE(world.Find(res::kNetworkPolicies, "c-agent"), nullptr);
  ExpectQuiet();
}

TEST_F(Scenario, CreateStartsEveryMemberAtOnceOnPrecomputedTokens) {
  key = world.CreateCluster(ClusterManifest(3));
  int passes = 0;
  ASSERT_TRUE(RunUntil([&] { return ++passes && world.StatefulSetReplicas("c-dc1-r1") == 3; }, 5));
  // All three at once, never 1 then 2 then 3.
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  for (int i = 0; i < 3; ++i) {
    const FakeNode* n = world.Node(PodOf(i));
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->state, "N");
  }
  EXPECT_TRUE(world.HasEvent(reason::kCreating));
  // No node bootstrapped (streamed): each started on its tokens with auto_bootstrap off.
  for (const auto& e : world.events) EXPECT_NE(e.reason, reason::kScalingUp) << e.message;
  ExpectQuiet();
}

TEST_F(Scenario, GeneratedSuperuserReplacesTheDefaultAfterSystemKeyspacesReplicate) {
  CreateReady(3);
  EXPECT_EQ(world.superuser, "c-admin");
  EXPECT_TRUE(world.StatusField("authReady") == true);
  // system_auth at NetworkTopologyStrategy 3 in dc1 before the role was written.
  EXPECT_EQ(world.keyspaces["system_auth"]["class"], "NetworkTopologyStrategy");
  EXPECT_EQ(world.keyspaces["system_auth"]["dc1"], "3");
  EXPECT_EQ(world.StatusField("systemReplication")["dc1"], 3);
  ExpectQuiet();
}

TEST_F(Scenario, IdleClusterWritesNothingPassAfterPass) {
  CreateReady(3);
  const int before = world.writes();
  world.read_log.clear();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(world.writes(), before) << world.write_log.back();
  // Nor reads past its caches: a thousand idle clusters cost the API server nothing.
  EXPECT_TRUE(world.read_log.empty()) << absl::StrJoin(world.read_log, ", ");
}

TEST_F(Scenario, ARacksOwnConfigMapIsReadWhenItChangesOnly) {
  // The seed's manifest names a ConfigMap that may not exist: absent, it is asked for once.
  Json manifest = ClusterManifest(3);
  manifest["spec"]["dataCenter"]["racks"][0]["configMapName"] = "tuning";
  key = world.CreateCluster(manifest);
  ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
  auto reads_of_tuning = [&] {
    return std::count(world.read_log.begin(), world.read_log.end(), "GET ConfigMap/tuning");
  };
  EXPECT_EQ(reads_of_tuning(), 1);
  auto rendered = [&] {
    kube::ObjectPtr cm = world.Find(res::kConfigMaps, "c-dc1-r1-config");
    return cm ? cm->json()["data"].dump() : "";
  };
  EXPECT_EQ(rendered().find("concurrent_reads"), std::string::npos);

  // Created: read once, rendered into the rack's settings (and the pods roll).
  auto tuning = [](const std::string& reads) {
    return Json{{"metadata", {{"name", "tuning"}, {"namespace", "ns"}}},
                {"data", {{"cassandra.yaml", "concurrent_reads: " + reads + "\n"}}}};
  };
  world.UserCreate(res::kConfigMaps, tuning("64"));
  ASSERT_TRUE(RunUntil([&] { return rendered().find("64") != std::string::npos; }, 5));
  EXPECT_EQ(reads_of_tuning(), 2);
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 80));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(reads_of_tuning(), 2);  // unchanged: not read again

  // Replaced (deleted and created again: a new resourceVersion, as an edit gives): read again.
  world.UserDelete(res::kConfigMaps, "tuning");
  world.UserCreate(res::kConfigMaps, tuning("128"));
  ASSERT_TRUE(RunUntil([&] { return rendered().find("128") != std::string::npos; }, 5));
  EXPECT_EQ(reads_of_tuning(), 3);
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 80));

  // Deleted: read once more to be sure, then the defaults again.
  world.UserDelete(res::kConfigMaps, "tuning");
  ASSERT_TRUE(RunUntil([&] { return rendered().find("128") == std::string::npos; }, 5));
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 80));
  const auto reads = reads_of_tuning();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(reads_of_tuning(), reads);
  EXPECT_LE(reads, 4);
}

TEST_F(Scenario, ADownMemberIsListedWithWhatItsPeersKnowOfIt) {
  CreateReady(3);
  world.agent_down.insert(PodOf(1));  // its agent silent, Cassandra down: only peers tell
  world.never_up.insert(PodOf(1));
  world.Node(PodOf(1))->up = false;
  auto member = [&]() -> Json {
    const Json dcs = world.StatusField("dataCenters");
    for (const Json& m : dcs[0]["members"]) {
      if (m.value("pod", "") == PodOf(1)) return m;
    }
    return Json::object();
  };
  ASSERT_TRUE(RunUntil([&] { return member().value("state", "") == "DN"; }, 40))
      << world.StatusField("dataCenters").dump(2);
  // As `nodetool status` lists a down node: its host id, tokens, load and share of the ring.
  EXPECT_EQ(member().value("hostId", ""), world.Node(PodOf(1))->host_id) << member().dump();
  EXPECT_EQ(member().value("tokens", 0), 16) << member().dump();
  EXPECT_EQ(member().value("owns", ""), "33.3%") << member().dump();
}

TEST_F(Scenario, PausedClusterOnlyReports) {
  CreateReady(3);
  world.PatchCluster({{"spec", {{"paused", true}}}});
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kPaused); }, 3));
  SetMembers(4);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(world.StatefulSetReplicas("c-dc1-r1"), 3);
  ExpectQuiet();
}

TEST_F(Scenario, EveryAgentIsReachedOverMutualTlsWithTheOperatorsCertificateAndTheToken) {
  CreateReady(1);
  // The fake agents of the pods the operator made serve mutual TLS and refuse any other way in
  // (and any token but the Secret's): a Ready cluster with no refusal proves the operator came in
  // the right way. The other ways are refused.
  EXPECT_EQ(world.agent_tls_refusals, std::vector<std::string>{});
  auto pod = world.Find(res::kPods, PodOf(0));
  EXPECT_TRUE(ServesAgentTls(pod.get()));
  const std::string ip = kube::StringField(pod->json()["status"], "podIP");
  auto secret = world.Find(res::kSecrets, "c-agent-token");
  ASSERT_TRUE(secret);
  const AgentCredentials right = AgentCredentialsOf(secret->json());
  ASSERT_NE(right.ca_pem, "");
  EXPECT_TRUE(world.For(ip, right)->NodeInfo().ok());

  AgentCredentials wrong_token = right;
  wrong_token.token = "wrong";
  EXPECT_TRUE(absl::IsUnauthenticated(world.For(ip, wrong_token)->NodeInfo().status()));
  EXPECT_TRUE(absl::IsUnavailable(
      world.For(ip, AgentCredentials{.token = right.token})->NodeInfo().status()));
  AgentCredentials agents_own = right;  // the CA's other client certificate is not the operator's
  ASSERT_TRUE(absl::Base64Unescape(kube::StringField(secret->json()["data"], kAgentSecretCert),
                                   &agents_own.client_cert_pem));
  EXPECT_TRUE(absl::IsUnavailable(world.For(ip, agents_own)->NodeInfo().status()));
  EXPECT_EQ(world.agent_tls_refusals.size(), 2u);
  world.agent_tls_refusals.clear();
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
