// Scenarios of spec.tls: client and internode encryption from the operator's CA or the user's,
// the nodes' certificate renewed by a roll, and what is refused (a CA that cannot sign, a switch
// of a running cluster's encryption) without touching what runs.
#include <algorithm>

#include "absl/strings/escaping.h"
#include "api/v1alpha1/catalogue.h"
#include "kube/resource.h"
#include "operator/node_tls.h"
#include "operator/testing/scenario.h"
#include "pki/pki.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

std::string Data(const kube::ObjectPtr& secret, const char* key) {
  std::string out;
  if (secret) absl::Base64Unescape(kube::StringField(secret->json()["data"], key), &out);
  return out;
}

Json CaSecret(const std::string& name, const pki::KeyPair& ca) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata", {{"name", name}, {"namespace", "ns"}}},
      {"data",
       {{"ca.crt", absl::Base64Escape(ca.cert_pem)}, {"ca.key", absl::Base64Escape(ca.key_pem)}}}};
}

class TlsScenario : public Scenario {
 protected:
  void CreateWithTls(Json tls, int members = 3) {
    Json manifest = ClusterManifest(members);
    manifest["spec"]["tls"] = std::move(tls);
    key = world.CreateCluster(manifest);
  }
  std::string NodeCert() const {
    return Data(world.Find(res::kSecrets, "c-node-tls"), kNodeTlsCert);
  }
  std::map<std::string, std::string> PodUids() const {
    std::map<std::string, std::string> out;
    for (int i = 0; i < 3; ++i) {
      if (auto pod = world.Find(res::kPods, PodOf(i))) out[PodOf(i)] = pod->uid();
    }
    return out;
  }
  // Pairs a CA with another CA's key (a Secret pasted together wrongly).
  static pki::KeyPair Mismatched(absl::Time now) {
    auto a = pki::MakeCertificateAuthority("a", now, absl::Hours(24));
    auto b = pki::MakeCertificateAuthority("b", now, absl::Hours(24));
    return {a->cert_pem, b->key_pem};
  }
};

TEST_F(TlsScenario, CreatedEncryptedEveryNodeHasTheCertificateAndTheOperatorSpeaksTls) {
  CreateWithTls(Json::object());
  ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);

  // The operator's CA, and the nodes' certificate from it before any pod started.
  const std::string ca = Data(world.Find(res::kSecrets, "c-ca"), "ca.crt");
  ASSERT_NE(ca, "");
  EXPECT_NE(Data(world.Find(res::kSecrets, "c-ca"), "ca.key"), "");
  ASSERT_TRUE(pki::Verify(NodeCert(), ca, world.Now()).ok());
  EXPECT_EQ(Data(world.Find(res::kSecrets, "c-node-tls"), kNodeTlsCa), ca);
  auto info = pki::Inspect(NodeCert());
  ASSERT_TRUE(info.ok());
  EXPECT_NE(std::find(info->dns_names.begin(), info->dns_names.end(), "c-dc1-client.ns.svc"),
            info->dns_names.end());
  EXPECT_TRUE(world.HasEvent(reason::kCertificatesIssued));

  // cassandra.yaml asks for both encryptions from the mounted files; the pods mount the node
  // Secret (the CA's key never).
  const Json yaml = Json::parse(kube::StringField(
      world.Find(res::kConfigMaps, "c-dc1-r1-config")->json()["data"], "cassandra.yaml"));
  EXPECT_EQ(yaml["server_encryption_options"]["internode_encryption"], "all");
  EXPECT_EQ(yaml["server_encryption_options"]["require_client_auth"], true);
  EXPECT_EQ(yaml["client_encryption_options"]["enabled"], true);
  EXPECT_EQ(yaml["client_encryption_options"]["optional"], false);
  EXPECT_EQ(yaml["client_encryption_options"]["keystore"], "/etc/ringkeeper/tls/node.pem");
  const Json sts = world.Find(res::kStatefulSets, "c-dc1-r1")->json();
  bool mounted = false;
  for (const Json& v : sts["spec"]["template"]["spec"]["volumes"]) {
    if (v["name"] != "node-tls") continue;
    mounted = true;
    EXPECT_EQ(v["secret"]["secretName"], "c-node-tls");
    for (const Json& item : v["secret"]["items"]) EXPECT_NE(item["key"], "ca.key");
  }
  EXPECT_TRUE(mounted);

  const Json tls = world.StatusField("tls");
  EXPECT_EQ(tls["client"], true);
  EXPECT_EQ(tls["internode"], true);
  EXPECT_EQ(tls["caSecret"], "c-ca");
  EXPECT_NE(kube::StringField(tls, "notAfter"), "");
  // The superuser was made over TLS (the fake nodes refuse plain CQL: ExpectQuiet checks).
  EXPECT_TRUE(world.StatusField("authReady").get<bool>());
  ExpectQuiet();
}

TEST_F(TlsScenario, TheCertificateIsRenewedBeforeItsEndByARollOnePodAtATime) {
  CreateWithTls({{"certificateValidity", "2h"}, {"renewBefore", "1h"}});
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  const std::string first = NodeCert();
  const auto uids = PodUids();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(NodeCert(), first);  // far from its end: kept

  world.AdvanceClock(absl::Minutes(61));
  int most_down = 0;
  ASSERT_TRUE(RunUntil(
      [&] {
        const auto now = PodUids();
        for (const auto& [pod, uid] : uids) {
          if (now.at(pod) == uid) return false;
        }
        return Ready();
      },
      120, [&] { most_down = std::max(most_down, NotReadyPods()); }));
  EXPECT_NE(NodeCert(), first);
  EXPECT_TRUE(world.HasEvent(reason::kCertificatesRenewed));
  EXPECT_EQ(most_down, 1);
  auto info = pki::Inspect(NodeCert());
  ASSERT_TRUE(info.ok());
  EXPECT_GT(info->not_after - world.Now(), absl::Minutes(110));
  ExpectQuiet();
}

// The operator was away past the certificate's end (or its renewal kept failing): an expired
// certificate from the same CA is renewed, not taken for another CA's.
TEST_F(TlsScenario, AnExpiredCertificateOfTheSameCaIsRenewed) {
  CreateWithTls({{"certificateValidity", "2h"}, {"renewBefore", "1h"}});
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  const std::string first = NodeCert();
  world.AdvanceClock(absl::Hours(3));
  ASSERT_TRUE(RunUntil([&] { return NodeCert() != first && Ready() && NotReadyPods() == 0; }));
  EXPECT_FALSE(world.ConditionTrue(condition::kTlsRefused));
  EXPECT_TRUE(
      pki::Verify(NodeCert(), Data(world.Find(res::kSecrets, "c-ca"), "ca.crt"), world.Now()).ok());
  ExpectQuiet();
}

TEST_F(TlsScenario, AnotherValidityAskedRenewsByARoll) {
  CreateWithTls(Json::object());
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  const std::string first = NodeCert();
  world.PatchCluster({{"spec", {{"tls", {{"certificateValidity", "4380h"}}}}}});
  ASSERT_TRUE(RunUntil([&] { return NodeCert() != first && Ready() && NotReadyPods() == 0; }));
  auto info = pki::Inspect(NodeCert());
  ASSERT_TRUE(info.ok());
  EXPECT_LT(info->not_after - world.Now(), absl::Hours(4381));
  ExpectQuiet();
}

TEST_F(TlsScenario, AUsersCaWhoseKeyIsAnothersIsRefusedAndNothingStartsUntilItIsRight) {
  world.UserCreate(res::kSecrets, CaSecret("my-ca", Mismatched(world.Now())));
  CreateWithTls({{"caSecretName", "my-ca"}});
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kTlsRefused); }, 10));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Pass().ok());
  const Json refused = world.Condition(condition::kTlsRefused);
  EXPECT_EQ(refused["reason"], reason::kCaRefused);
  EXPECT_NE(kube::StringField(refused, "message").find("the key is not the CA certificate's"),
            std::string::npos)
      << refused.dump();
  EXPECT_TRUE(world.HasEvent(reason::kCaRefused));
  EXPECT_FALSE(world.Find(res::kStatefulSets, "c-dc1-r1"));
  EXPECT_FALSE(world.Find(res::kSecrets, "c-node-tls"));

  // The right CA: the cluster is created from it.
  auto ca = pki::MakeCertificateAuthority("my CA", world.Now(), absl::Hours(24 * 365));
  ASSERT_TRUE(ca.ok());
  world.UserCreate(res::kSecrets, CaSecret("my-ca", *ca));
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  EXPECT_FALSE(world.ConditionTrue(condition::kTlsRefused));
  EXPECT_TRUE(pki::Verify(NodeCert(), ca->cert_pem, world.Now()).ok());
  EXPECT_EQ(world.StatusField("tls")["caSecret"], "my-ca");
  ExpectQuiet();
}

TEST_F(TlsScenario, AnExpiredUserCaIsRefusedAndTheRunningNodesKeepTheirCertificate) {
  auto ca = pki::MakeCertificateAuthority("my CA", world.Now(), absl::Hours(24 * 365));
  ASSERT_TRUE(ca.ok());
  world.UserCreate(res::kSecrets, CaSecret("my-ca", *ca));
  CreateWithTls({{"caSecretName", "my-ca"}});
  ASSERT_TRUE(RunUntil([&] { return Ready(); }));
  const std::string cert = NodeCert();
  const auto uids = PodUids();

  // The Secret replaced by a CA that ended yesterday (same key: only its dates are wrong).
  auto expired =
      pki::MakeCertificateAuthority("my CA", world.Now() - absl::Hours(48), absl::Hours(24));
  ASSERT_TRUE(expired.ok());
  world.UserCreate(res::kSecrets, CaSecret("my-ca", *expired));
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kTlsRefused); }, 5));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_NE(kube::StringField(world.Condition(condition::kTlsRefused), "message")
                .find("certificate has expired"),
            std::string::npos)
      << world.Condition(condition::kTlsRefused).dump();
  EXPECT_EQ(NodeCert(), cert);
  EXPECT_EQ(PodUids(), uids);
  EXPECT_EQ(NotReadyPods(), 0);
  ExpectQuiet();
}

TEST_F(TlsScenario, SwitchingARunningClustersEncryptionIsRefusedAndNothingRolls) {
  CreateReady(3);
  const auto uids = PodUids();
  world.PatchCluster({{"spec", {{"tls", Json::object()}}}});
  ASSERT_TRUE(RunUntil([&] { return world.ConditionTrue(condition::kTlsRefused); }, 5));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(world.Condition(condition::kTlsRefused)["reason"], reason::kTlsChangeRefused);
  EXPECT_FALSE(Ready());
  EXPECT_EQ(PodUids(), uids);
  EXPECT_FALSE(world.Find(res::kSecrets, "c-node-tls"));
  EXPECT_TRUE(world.StatusField("tls").is_null());

  // Back to what runs: accepted, Ready again.
  world.PatchCluster({{"spec", {{"tls", nullptr}}}});
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 10));
  EXPECT_FALSE(world.ConditionTrue(condition::kTlsRefused));
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
