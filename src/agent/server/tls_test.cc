// `agent serve` over mTLS, with certificates made by the openssl CLI at test time: the handshake
// refuses a client without a certificate or with one from another CA; the right certificate
// still needs the bearer token; only the operator's certificate reaches past the ring; the peers
// asked for their view of this node are verified by the agents' shared name.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/node/fake_node_control.h"
#include "agent/server/serving_for_test.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace agent::server {
namespace {

namespace fs = std::filesystem;

// Runs a shell command (openssl); true on exit status 0.
bool Sh(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("rk-agent-tls-", getpid());
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    // Two CAs; a server cert (IP SAN 127.0.0.1) and a client cert from the first, a client
    // cert from the second.
    for (const char* ca : {"ca", "other-ca"}) {
      ASSERT_TRUE(Sh(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=",
                                  ca, " -keyout ", d, "/", ca, ".key -out ", d, "/", ca, ".pem")));
    }
    auto issue = [&](const std::string& name, const std::string& ca, const std::string& ext) {
      return Sh(absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj /CN=", name, " -keyout ", d,
                             "/", name, ".key -out ", d, "/", name, ".csr")) &&
             Sh(absl::StrCat("printf '", ext, "' > ", d, "/", name,
                             ".ext && openssl x509 -req -in ", d, "/", name, ".csr -CA ", d, "/",
                             ca, ".pem -CAkey ", d, "/", ca,
                             ".key -CAcreateserial -days 1 -extfile ", d, "/", name, ".ext -out ",
                             d, "/", name, ".pem"));
    };
    // The agents' shared certificate: server and client (peers ask each other for the ring).
    ASSERT_TRUE(issue("server", "ca",
                      absl::StrCat("subjectAltName=IP:127.0.0.1,DNS:", api::kAgentTlsName,
                                   "\\nextendedKeyUsage=serverAuth,clientAuth")));
    ASSERT_TRUE(issue("client", "ca", "extendedKeyUsage=clientAuth"));
    ASSERT_TRUE(issue(api::kOperatorTlsName, "ca", "extendedKeyUsage=clientAuth"));
    ASSERT_TRUE(issue("stranger", "other-ca", "extendedKeyUsage=clientAuth"));
    std::ofstream(dir_ / "token") << "s3cret\n";

    ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = port_ = 19090 + (getpid() % 1000);
    o.token_file = (dir_ / "token").string();
    o.tls_cert = d + "/server.pem";
    o.tls_key = d + "/server.key";
    o.client_ca = d + "/ca.pem";
    o.health_port = port_ + 1;
    o.peer_agent_port = port_ + 2;
    options_ = o;
    serving_ = std::make_unique<ServingForTest>(o, &node_);
  }
  void TearDown() override {
    serving_.reset();
    fs::remove_all(dir_);
  }
  // GET `path` over HTTPS (server verified against our CA), as `client` ("" = no cert).
  httplib::Result Get(const std::string& path, const std::string& client,
                      const std::string& token = "s3cret") {
    const std::string d = dir_.string();
    httplib::SSLClient c("127.0.0.1", port_, client.empty() ? "" : d + "/" + client + ".pem",
                         client.empty() ? "" : d + "/" + client + ".key");
    c.set_ca_cert_path((d + "/ca.pem").c_str());
    c.enable_server_certificate_verification(true);
    c.set_connection_timeout(5, 0);
    return c.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
  }

  // /readyz on the health port of a server with `o`.
  static httplib::Result Readyz(const ServerOptions& o) {
    httplib::Client plain("127.0.0.1", o.health_port);
    plain.set_read_timeout(10, 0);
    return plain.Get(api::kReadyz);
  }

  node::FakeNodeControl node_;
  fs::path dir_;
  int port_ = 0;
  ServerOptions options_;
  std::unique_ptr<ServingForTest> serving_;
};

TEST_F(TlsTest, ClientWithoutCertificateIsRefusedAtHandshake) {
  auto r = Get(api::kRing, "");
  EXPECT_FALSE(r);
  auto health = Get(api::kHealthz, "");  // mTLS covers the anonymous routes too
  EXPECT_FALSE(health);
}

TEST_F(TlsTest, CertificateFromAnotherCaIsRefused) { EXPECT_FALSE(Get(api::kRing, "stranger")); }

TEST_F(TlsTest, RightCertificateStillNeedsTheToken) {
  auto ok = Get(api::kRing, "client");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  auto no_token = Get(api::kRing, "client", "wrong");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
}

// The agents' certificate is a client one too (peers ask each other for the ring): the CA alone
// does not let it, or any other it issued, drain or decommission a node.
TEST_F(TlsTest, OnlyTheOperatorsCertificateReachesPastTheRing) {
  for (const std::string& client : {std::string("client"), std::string("server")}) {
    auto ring = Get(api::kRing, client);
    ASSERT_TRUE(ring) << client << ": " << httplib::to_string(ring.error());
    EXPECT_EQ(ring->status, 200) << client;
    auto node = Get(api::kNodeInfo, client);
    ASSERT_TRUE(node);
    EXPECT_EQ(node->status, 403) << client;
    EXPECT_NE(node->body.find("the operator's certificate"), std::string::npos) << node->body;
  }
  const std::string d = dir_.string();
  httplib::SSLClient peer("127.0.0.1", port_, d + "/server.pem", d + "/server.key");
  peer.set_ca_cert_path((d + "/ca.pem").c_str());
  auto drain = peer.Post(api::kOperations, {{"Authorization", "Bearer s3cret"}},
                         R"({"kind":"drain"})", "application/json");
  ASSERT_TRUE(drain);
  EXPECT_EQ(drain->status, 403);

  auto node = Get(api::kNodeInfo, api::kOperatorTlsName);
  ASSERT_TRUE(node) << httplib::to_string(node.error());
  EXPECT_EQ(node->status, 200);
  EXPECT_EQ(Get(api::kNodeInfo, api::kOperatorTlsName, "wrong")->status, 401);
}

// Ready asks the peers for their view of this node: over mTLS, at the peer's address, the peer's
// certificate verified against the agents' shared name (no certificate knows the addresses).
TEST_F(TlsTest, PeersAreAskedOverMutualTlsAndVerifiedByTheAgentsName) {
  // A peer at 127.0.0.2 on the peer port, whose ring has this node UN.
  node_.extra_endpoints = {{"127.0.0.2", "dc1", "r1", "U", "N", "h2", 1, 1.0, 16}};
  node::FakeNodeControl peer_node;
  ServerOptions peer = options_;
  peer.listen_address = "127.0.0.2";
  peer.port = options_.peer_agent_port;
  peer.health_port = 0;
  ServingForTest peer_serving(peer, &peer_node);

  auto ready = Readyz(options_);
  ASSERT_TRUE(ready) << httplib::to_string(ready.error());
  EXPECT_EQ(ready->status, 200) << ready->body;

  // Verified against another name, the same peer is not believed.
  ServerOptions doubting = options_;
  doubting.port = port_ + 3;
  doubting.health_port = port_ + 4;
  doubting.peer_server_name = "somebody-else";
  ServingForTest doubting_serving(doubting, &node_);
  auto not_ready = Readyz(doubting);
  ASSERT_TRUE(not_ready) << httplib::to_string(not_ready.error());
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_NE(not_ready->body.find("peers see ?"), std::string::npos) << not_ready->body;
}

TEST_F(TlsTest, PlainHttpGetsNoAnswer) {
  httplib::Client plain("127.0.0.1", port_);
  plain.set_read_timeout(5, 0);
  auto r = plain.Get(api::kHealthz);
  EXPECT_TRUE(!r || r->status != 200);
}

// The kubelet's probes and Prometheus have no client certificate: the anonymous routes, and
// only they, also answer in plain HTTP on the health port.
TEST_F(TlsTest, TheHealthPortServesTheAnonymousRoutesOnlyInPlainHttp) {
  httplib::Client plain("127.0.0.1", port_ + 1);
  plain.set_read_timeout(5, 0);
  auto health = plain.Get(api::kHealthz);
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  auto metrics = plain.Get(api::kMetrics);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("ringkeeper_agent_node_reachable"), std::string::npos);
  auto ready = plain.Get(api::kReadyz);
  ASSERT_TRUE(ready);
  EXPECT_NE(ready->status, 404);
  // The API is not there, with the token or without.
  auto ring = plain.Get(api::kRing, {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->status, 404);
  httplib::Client post("127.0.0.1", port_ + 1);
  auto op = post.Post(api::kOperations, {{"Authorization", "Bearer s3cret"}}, R"({"kind":"drain"})",
                      "application/json");
  ASSERT_TRUE(op);
  EXPECT_EQ(op->status, 404);
}

TEST(TlsOptions, UnloadableFilesAreAnErrorNotPlainHttp) {
  node::FakeNodeControl node;
  ServerOptions o;
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  Server server(o, &node);
  EXPECT_EQ(server.Run().code(), absl::StatusCode::kInvalidArgument);
  o.tls_key.clear();
  Server half(o, &node);
  EXPECT_EQ(half.Run().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agent::server
