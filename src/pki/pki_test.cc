#include "pki/pki.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ringkeeper::pki {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

KeyPair Ca(const std::string& name = "ringkeeper ca") {
  auto ca = MakeCertificateAuthority(name, kNow, absl::Hours(24 * 3650));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return *ca;
}

TEST(Pki, TheCaIsSelfSignedAndACa) {
  const KeyPair ca = Ca();
  auto info = Inspect(ca.cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->subject_common_name, "ringkeeper ca");
  EXPECT_EQ(info->issuer_common_name, "ringkeeper ca");
  EXPECT_EQ(info->not_before, kNow - absl::Minutes(5));
  EXPECT_EQ(info->not_after, kNow + absl::Hours(24 * 3650));
  EXPECT_TRUE(Verify(ca.cert_pem, ca.cert_pem, kNow).ok());
  EXPECT_TRUE(KeyMatches(ca).ok());
  EXPECT_TRUE(absl::StartsWith(ca.key_pem, "-----BEGIN PRIVATE KEY-----")) << "PKCS#8";
}

TEST(Pki, AnIssuedCertificateChainsToItsCaCarriesItsNamesAndExpires) {
  const KeyPair ca = Ca();
  CertificateRequest request;
  request.common_name = "my-cluster agent";
  request.dns_names = {"my-cluster-agent.ns"};
  request.ip_addresses = {"10.96.0.7", "::1"};
  request.server = true;
  request.validity = absl::Hours(24 * 30);
  auto leaf = Issue(ca, request, kNow);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  auto info = Inspect(leaf->cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->issuer_common_name, "ringkeeper ca");
  EXPECT_EQ(info->dns_names, std::vector<std::string>{"my-cluster-agent.ns"});
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"10.96.0.7", "::1"}));
  EXPECT_EQ(info->not_after, kNow + absl::Hours(24 * 30));
  EXPECT_TRUE(KeyMatches(*leaf).ok());
  EXPECT_TRUE(Verify(leaf->cert_pem, ca.cert_pem, kNow + absl::Hours(24)).ok());
  // Past its end, before its start, or against another CA: refused, with OpenSSL's reason.
  const absl::Status expired = Verify(leaf->cert_pem, ca.cert_pem, kNow + absl::Hours(24 * 31));
  EXPECT_TRUE(absl::IsFailedPrecondition(expired)) << expired;
  EXPECT_TRUE(absl::StrContains(expired.message(), "expired")) << expired;
  EXPECT_FALSE(Verify(leaf->cert_pem, ca.cert_pem, kNow - absl::Hours(1)).ok());
  const absl::Status stranger = Verify(leaf->cert_pem, Ca("another ca").cert_pem, kNow);
  EXPECT_TRUE(absl::IsFailedPrecondition(stranger)) << stranger;
  // Keys are never reused: another certificate's key does not match.
  auto other = Issue(ca, request, kNow);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(KeyMatches({leaf->cert_pem, other->key_pem}).ok());
}

TEST(Pki, BadRequestsAreRefusedWithoutTheKeyInTheMessage) {
  const KeyPair ca = Ca();
  CertificateRequest request;
  request.common_name = "x";
  EXPECT_TRUE(absl::IsInvalidArgument(Issue(ca, request, kNow).status()));  // no use
  request.client = true;
  request.ip_addresses = {"not-an-ip"};
  EXPECT_TRUE(absl::IsInvalidArgument(Issue(ca, request, kNow).status()));
  request.ip_addresses.clear();
  const auto bad_key = Issue({ca.cert_pem, "garbage"}, request, kNow);
  EXPECT_TRUE(absl::IsInvalidArgument(bad_key.status())) << bad_key.status();
  EXPECT_FALSE(absl::StrContains(bad_key.status().message(), "garbage"));
  EXPECT_TRUE(absl::IsInvalidArgument(Inspect("not a certificate").status()));
}

// Bytes OpenSSL's own command line accepts: a client and a server certificate verify against the
// CA with `openssl verify -purpose`, as any TLS peer (Java's included) checks them.
TEST(Pki, OpenSslsCommandLineVerifiesThemForTheirPurpose) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("rk-pki-", getpid());
  fs::create_directories(dir);
  const absl::Time now = absl::Now();
  auto ca = MakeCertificateAuthority("ca", now, absl::Hours(24));
  ASSERT_TRUE(ca.ok());
  CertificateRequest server, client;
  server.common_name = "server";
  server.dns_names = {"agent"};
  server.server = true;
  client.common_name = "operator";
  client.client = true;
  auto s = Issue(*ca, server, now);
  auto c = Issue(*ca, client, now);
  ASSERT_TRUE(s.ok() && c.ok());
  std::ofstream(dir / "ca.pem") << ca->cert_pem;
  std::ofstream(dir / "server.pem") << s->cert_pem;
  std::ofstream(dir / "client.pem") << c->cert_pem;
  auto verify = [&](const char* purpose, const char* file) {
    const std::string cmd =
        absl::StrCat("openssl verify -purpose ", purpose, " -CAfile ", (dir / "ca.pem").string(),
                     " ", (dir / file).string(), " >/dev/null 2>&1");
    const int rc = std::system(cmd.c_str());
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
  };
  EXPECT_TRUE(verify("sslserver", "server.pem"));
  EXPECT_TRUE(verify("sslclient", "client.pem"));
  EXPECT_FALSE(verify("sslserver", "client.pem"));  // a client certificate serves no TLS
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ringkeeper::pki
