#include "operator/agent_credentials.h"

#include "absl/time/clock.h"
#include "agent/api/api.h"
#include "gtest/gtest.h"
#include "operator/desired.h"
#include "pki/pki.h"

namespace ringkeeper {
namespace {

using kube::Json;

// A Secret as the API server serves it: `data` in base64.
class OneSecretReader : public ObjectReader {
 public:
  absl::StatusOr<kube::Object> Get(const kube::Resource&, const std::string&,
                                   const std::string& name) override {
    ++reads;
    if (secret.is_null()) return absl::NotFoundError(name);
    return kube::Object(secret);
  }
  Json secret;
  int reads = 0;
};

TEST(AgentCredentialsTest, NewMaterialChainsToItsCaWithTheNamesBothSidesCheck) {
  const absl::Time now = absl::Now();
  auto tls = NewAgentTls(now);
  ASSERT_TRUE(tls.ok()) << tls.status();
  const std::string& ca = tls->at(kAgentSecretCa);
  for (const char* cert : {kAgentSecretCert, kAgentSecretOperatorCert}) {
    EXPECT_TRUE(pki::Verify(tls->at(cert), ca, now).ok()) << cert;
    // Five years on, the certificates still hold; the CA outlives them.
    EXPECT_TRUE(pki::Verify(tls->at(cert), ca, now + absl::Hours(24 * 365 * 5 - 24)).ok()) << cert;
  }
  auto agents = pki::Inspect(tls->at(kAgentSecretCert));
  ASSERT_TRUE(agents.ok());
  EXPECT_EQ(agents->dns_names, std::vector<std::string>{agent::api::kAgentTlsName});
  auto op = pki::Inspect(tls->at(kAgentSecretOperatorCert));
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->subject_common_name, agent::api::kOperatorTlsName);
  EXPECT_TRUE(pki::KeyMatches({tls->at(kAgentSecretCert), tls->at(kAgentSecretKey)}).ok());
  EXPECT_TRUE(
      pki::KeyMatches({tls->at(kAgentSecretOperatorCert), tls->at(kAgentSecretOperatorKey)}).ok());
  // Each Cluster its own CA.
  auto other = NewAgentTls(now);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(pki::Verify(other->at(kAgentSecretOperatorCert), ca, now).ok());
}

TEST(AgentCredentialsTest, ReadFromTheSecretWithTlsOnlyWhenItIsComplete) {
  auto tls = NewAgentTls(absl::Now());
  ASSERT_TRUE(tls.ok());
  auto data = *tls;
  data[kAgentSecretToken] = "t0k";
  AgentCredentials c = AgentCredentialsOf(AgentTokenSecret({}, data));
  EXPECT_EQ(c.token, "t0k");
  EXPECT_EQ(c.ca_pem, tls->at(kAgentSecretCa));
  EXPECT_EQ(c.client_cert_pem, tls->at(kAgentSecretOperatorCert));
  EXPECT_EQ(c.client_key_pem, tls->at(kAgentSecretOperatorKey));
  EXPECT_EQ(c.server_name, agent::api::kAgentTlsName);

  // An older Cluster's Secret (the token only), or one missing a piece: plain, with the token.
  data.erase(kAgentSecretOperatorKey);
  AgentCredentials partial = AgentCredentialsOf(AgentTokenSecret({}, data));
  EXPECT_EQ(partial.token, "t0k");
  EXPECT_EQ(partial.ca_pem, "");
  EXPECT_EQ(partial.client_cert_pem, "");
  EXPECT_EQ(AgentCredentialsOf(Json::object()).token, "");
  EXPECT_EQ(AgentCredentialsOf(Json({{"data", {{"token", "not base64!"}}}})).token, "");
}

TEST(AgentCredentialsTest, APodIsSpokenToAsItsTemplateSays) {
  AgentCredentials all{.token = "t",
                       .ca_pem = "CA",
                       .server_name = "n",
                       .client_cert_pem = "C",
                       .client_key_pem = "K"};
  kube::Object mutual(
      Json{{"metadata", {{"name", "p0"}, {"annotations", {{kAnnotationAgentTls, "mutual"}}}}}});
  kube::Object older(Json{{"metadata", {{"name", "p1"}}}});
  kube::Object other(
      Json{{"metadata", {{"name", "p2"}, {"annotations", {{kAnnotationAgentTls, "none"}}}}}});
  EXPECT_TRUE(ServesAgentTls(&mutual));
  EXPECT_FALSE(ServesAgentTls(&older));
  EXPECT_FALSE(ServesAgentTls(&other));
  EXPECT_FALSE(ServesAgentTls(nullptr));
  EXPECT_EQ(CredentialsFor(all, &mutual).client_cert_pem, "C");
  const AgentCredentials plain = CredentialsFor(all, &older);
  EXPECT_EQ(plain.token, "t");
  EXPECT_EQ(plain.ca_pem, "");
  EXPECT_EQ(plain.client_key_pem, "");
}

TEST(AgentCredentialsTest, TheCacheReadsOnceAndAgainWhenTlsIsAskedOfATokenOnlySecret) {
  OneSecretReader reader;
  AgentCredentialsCache cache(&reader);
  ClusterSpec c;
  c.name = "c";
  c.ns = "ns";
  c.uid = "u1";
  EXPECT_TRUE(absl::IsNotFound(cache.Get(c).status()));

  reader.secret = AgentTokenSecret(c, {{kAgentSecretToken, "t0k"}});
  ASSERT_TRUE(cache.Get(c).ok());
  ASSERT_TRUE(cache.Get(c).ok());
  EXPECT_EQ(reader.reads, 2);  // the NotFound, then once

  // Another reconciler added TLS since: a pod serving it makes this one look again.
  auto tls = NewAgentTls(absl::Now());
  ASSERT_TRUE(tls.ok());
  auto data = *tls;
  data[kAgentSecretToken] = "t0k";
  reader.secret = AgentTokenSecret(c, data);
  auto fresh = cache.Get(c, /*tls=*/true);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->ca_pem, tls->at(kAgentSecretCa));
  EXPECT_EQ(reader.reads, 3);
  EXPECT_TRUE(cache.Get(c, true).ok());
  EXPECT_EQ(reader.reads, 3);
}

}  // namespace
}  // namespace ringkeeper
