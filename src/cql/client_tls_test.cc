// cql::Client over TLS against a one-connection CQL server on loopback that speaks TLS with a
// certificate from pki: READY to STARTUP, a Void RESULT to a QUERY. The client connects only to
// a certificate chaining to its CA under the name it asks for.
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "cql/client.h"
#include "gtest/gtest.h"
#include "pki/pki.h"

namespace cql {
namespace {

using ringkeeper::pki::CertificateRequest;
using ringkeeper::pki::Issue;
using ringkeeper::pki::KeyPair;
using ringkeeper::pki::MakeCertificateAuthority;

// A CQL node in TLS for one connection, on its own thread.
class TlsNode {
 public:
  explicit TlsNode(const KeyPair& cert) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* c = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
    X509* x = PEM_read_bio_X509(c, nullptr, nullptr, nullptr);
    BIO_free(c);
    BIO* k = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(k, nullptr, nullptr, nullptr);
    BIO_free(k);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx_, x), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsNode() {
    thread_.join();
    ::close(listener_);
    SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  bool handshake_done() const { return handshake_done_; }

 private:
  void Serve() {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      handshake_done_ = true;
      // STARTUP -> READY, QUERY -> RESULT Void; each reply on the request's stream.
      for (const char reply_opcode : {char{0x02}, char{0x08}}) {
        char header[9];
        if (!ReadFull(ssl, header, sizeof(header))) break;
        uint32_t len = 0;
        for (int i = 5; i < 9; ++i) len = (len << 8) | static_cast<uint8_t>(header[i]);
        std::string body(len, '\0');
        if (len && !ReadFull(ssl, body.data(), len)) break;
        std::string reply = {static_cast<char>(0x84), 0, header[2], header[3], reply_opcode};
        const std::string payload =
            reply_opcode == 0x08 ? std::string("\0\0\0\x01", 4) : std::string();
        for (int s = 24; s >= 0; s -= 8) reply.push_back(static_cast<char>(payload.size() >> s));
        reply += payload;
        SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
      }
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ::close(fd);
  }
  static bool ReadFull(SSL* ssl, char* buf, size_t len) {
    size_t off = 0;
    while (off < len) {
      const int n = SSL_read(ssl, buf + off, static_cast<int>(len - off));
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  int listener_ = -1;
  int port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> handshake_done_{false};  // written by the node's thread
  std::thread thread_;
};

class CqlTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time now = absl::Now();
    auto ca = MakeCertificateAuthority("cluster CA", now, absl::Hours(24));
    auto other = MakeCertificateAuthority("another CA", now, absl::Hours(24));
    ASSERT_TRUE(ca.ok() && other.ok());
    ca_ = *ca;
    other_ca_ = *other;
    CertificateRequest node{
        .common_name = "node", .dns_names = {"c-dc1-client.ns.svc"}, .server = true};
    auto cert = Issue(ca_, node, now);
    ASSERT_TRUE(cert.ok()) << cert.status();
    node_cert_ = *cert;
  }
  KeyPair ca_, other_ca_, node_cert_;
};

TEST_F(CqlTlsTest, ConnectsAndQueriesWhenTheNodeChainsToTheCaUnderTheName) {
  TlsNode node(node_cert_);
  auto client = Client::Connect("127.0.0.1", node.port(), "u", "p", absl::Seconds(5),
                                TlsOptions{ca_.cert_pem, "c-dc1-client.ns.svc"});
  ASSERT_TRUE(client.ok()) << client.status();
  auto result = (*client)->Query("SELECT 1");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->rows.empty());
}

TEST_F(CqlTlsTest, RefusesANodeOfAnotherCa) {
  TlsNode node(node_cert_);
  auto client = Client::Connect("127.0.0.1", node.port(), "u", "p", absl::Seconds(5),
                                TlsOptions{other_ca_.cert_pem, "c-dc1-client.ns.svc"});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::IsUnavailable(client.status()));
  EXPECT_NE(client.status().message().find("unable to get local issuer"), std::string::npos)
      << client.status();
}

TEST_F(CqlTlsTest, RefusesANodeWhoseCertificateDoesNotCarryTheName) {
  TlsNode node(node_cert_);
  auto client = Client::Connect("127.0.0.1", node.port(), "u", "p", absl::Seconds(5),
                                TlsOptions{ca_.cert_pem, "somewhere-else.ns.svc"});
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("hostname mismatch"), std::string::npos)
      << client.status();
}

TEST_F(CqlTlsTest, PlainClientGetsNoCqlAnswerFromATlsNode) {
  TlsNode node(node_cert_);
  auto client = Client::Connect("127.0.0.1", node.port(), "u", "p", absl::Seconds(5));
  EXPECT_FALSE(client.ok());
  EXPECT_FALSE(node.handshake_done());
}

TEST_F(CqlTlsTest, ACaWithoutACertificateIsAnErrorNotPlainText) {
  TlsNode node(node_cert_);
  auto client = Client::Connect("127.0.0.1", node.port(), "u", "p", absl::Seconds(5),
                                TlsOptions{"not a certificate", ""});
  EXPECT_TRUE(absl::IsInvalidArgument(client.status())) << client.status();
}

}  // namespace
}  // namespace cql
