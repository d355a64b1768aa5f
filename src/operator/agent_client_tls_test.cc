// The operator's agent client over mutual TLS, against the real agent server (`agent serve`'s
// Server over a fake node), with certificates the operator's own pki makes: the agent is known by
// the name its certificate carries (not the address dialled), and refuses an operator without a
// certificate of the Cluster's CA; an operator refuses an agent whose certificate is another CA's
// or another name's.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/node/fake_node_control.h"
#include "agent/server/serving_for_test.h"
#include "gtest/gtest.h"
#include "operator/agent_client.h"
#include "pki/pki.h"

namespace ringkeeper {
namespace {

namespace fs = std::filesystem;

constexpr char kAgentName[] = "c-agent.ns.ringkeeper";

class AgentClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("rk-agent-client-tls-", getpid());
    fs::create_directories(dir_);
    const absl::Time now = absl::Now();
    ca_ = *pki::MakeCertificateAuthority("c ca", now, absl::Hours(24));
    pki::CertificateRequest server;
    server.common_name = "c agent";
    server.dns_names = {kAgentName};
    server.server = true;
    pki::CertificateRequest client;
    client.common_name = "ringkeeper-operator";
    client.client = true;
    const pki::KeyPair agent = *pki::Issue(ca_, server, now);
    operator_ = *pki::Issue(ca_, client, now);
    auto write = [&](const char* name, const std::string& text) {
      std::ofstream(dir_ / name) << text;
      return (dir_ / name).string();
    };
    agent::server::ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = port_ = 20090 + (getpid() % 1000);
    o.token_file = write("token", "s3cret\n");
    o.tls_cert = write("agent.pem", agent.cert_pem);
    o.tls_key = write("agent.key", agent.key_pem);
    o.client_ca = write("ca.pem", ca_.cert_pem);
    serving_ = std::make_unique<agent::server::ServingForTest>(o, &node_);
  }
  void TearDown() override {
    serving_.reset();
    fs::remove_all(dir_);
  }
  AgentCredentials Credentials() const {
    return {.token = "s3cret",
            .ca_pem = ca_.cert_pem,
            .server_name = kAgentName,
            .client_cert_pem = operator_.cert_pem,
            .client_key_pem = operator_.key_pem};
  }
  absl::StatusOr<agent::api::Ring> RingWith(const AgentCredentials& c) {
    return AgentClient("127.0.0.1", c, absl::Seconds(5), port_).Ring();
  }

  agent::node::FakeNodeControl node_;
  fs::path dir_;
  int port_ = 0;
  pki::KeyPair ca_, operator_;
  std::unique_ptr<agent::server::ServingForTest> serving_;
};

TEST_F(AgentClientTlsTest, TheOperatorsCertificateAndTheAgentsNameMakeTheConnection) {
  auto ring = RingWith(Credentials());
  EXPECT_TRUE(ring.ok()) << ring.status();
  // The certificate still needs the token.
  AgentCredentials wrong_token = Credentials();
  wrong_token.token = "guess";
  EXPECT_FALSE(RingWith(wrong_token).ok());
}

TEST_F(AgentClientTlsTest, TheAgentRefusesAnOperatorWithoutTheClustersCertificate) {
  AgentCredentials none = Credentials();
  none.client_cert_pem.clear();
  none.client_key_pem.clear();
  auto r = RingWith(none);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  const pki::KeyPair stranger_ca =
      *pki::MakeCertificateAuthority("another ca", absl::Now(), absl::Hours(24));
  pki::CertificateRequest client;
  client.common_name = "ringkeeper-operator";
  client.client = true;
  const pki::KeyPair stranger = *pki::Issue(stranger_ca, client, absl::Now());
  AgentCredentials other = Credentials();
  other.client_cert_pem = stranger.cert_pem;
  other.client_key_pem = stranger.key_pem;
  EXPECT_TRUE(absl::IsUnavailable(RingWith(other).status()));
}

TEST_F(AgentClientTlsTest, TheOperatorRefusesAnAgentOfAnotherNameOrCa) {
  AgentCredentials other_name = Credentials();
  other_name.server_name = "d-agent.ns.ringkeeper";
  EXPECT_TRUE(absl::IsUnavailable(RingWith(other_name).status()));
  AgentCredentials other_ca = Credentials();
  other_ca.ca_pem =
      pki::MakeCertificateAuthority("another ca", absl::Now(), absl::Hours(24))->cert_pem;
  EXPECT_TRUE(absl::IsUnavailable(RingWith(other_ca).status()));
  // Plain HTTP to a TLS agent gets nothing.
  AgentCredentials plain;
  plain.token = "s3cret";
  EXPECT_FALSE(RingWith(plain).ok());
}

}  // namespace
}  // namespace ringkeeper
