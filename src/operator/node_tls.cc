#include "operator/node_tls.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/naming.h"
#include "base/status_macros.h"

namespace ringkeeper {
namespace {

using kube::Json;

}  // namespace

absl::StatusOr<pki::KeyPair> CaFromSecret(const Json& secret, const std::string& name,
                                          absl::Time now) {
  pki::KeyPair ca{kube::SecretData(secret, "ca.crt"), kube::SecretData(secret, "ca.key")};
  if (ca.cert_pem.empty() || ca.key_pem.empty()) {
    ca = {kube::SecretData(secret, "tls.crt"), kube::SecretData(secret, "tls.key")};
  }
  if (ca.cert_pem.empty() || ca.key_pem.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Secret ", name, " has no CA: keys ca.crt and ca.key (or tls.crt and tls.key)"));
  }
  auto info = pki::Inspect(ca.cert_pem);
  if (!info.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Secret ", name, ": the CA certificate does not parse: ", info.status().message()));
  }
  if (!info->is_ca) {
    return absl::FailedPreconditionError(absl::StrCat("Secret ", name, ": the certificate (",
                                                      info->subject_common_name, ") is not a CA"));
  }
  if (absl::Status matches = pki::KeyMatches(ca); !matches.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Secret ", name, ": the key is not the CA certificate's: ", matches.message()));
  }
  if (absl::Status valid = pki::Verify(ca.cert_pem, ca.cert_pem, now); !valid.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Secret ", name, ": the CA certificate (valid ", absl::FormatTime(info->not_before), " to ",
        absl::FormatTime(info->not_after), ") cannot sign now: ", valid.message()));
  }
  return ca;
}

std::vector<std::string> NodeDnsNames(const ClusterSpec& c) {
  std::vector<std::string> names;
  for (const auto& dc : c.dcs) {
    for (const std::string& suffix : {std::string(".svc"), std::string(".svc.cluster.local")}) {
      names.push_back(absl::StrCat(ClientServiceName(c, dc.name), ".", c.ns, suffix));
      names.push_back(absl::StrCat("*.", HeadlessServiceName(c, dc.name), ".", c.ns, suffix));
    }
  }
  return names;
}

std::string NodeTlsServerName(const ClusterSpec& c) {
  return c.dcs.empty() ? "" : absl::StrCat(ClientServiceName(c, c.dcs[0].name), ".", c.ns, ".svc");
}

std::string RenewalReason(const std::string& cert_pem, const std::string& ca_pem,
                          const ClusterSpec& c, absl::Time now) {
  auto info = pki::Inspect(cert_pem);
  if (!info.ok()) return "the nodes' certificate does not parse";
  if (!pki::Verify(cert_pem, ca_pem, now).ok()) return "it is not valid under the CA now";
  std::vector<std::string> have = info->dns_names, want = NodeDnsNames(c);
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  if (have != want) return "the data centers' names changed";
  if (info->not_after - now < c.tls.renew_before) {
    return absl::StrCat("it ends ", absl::FormatTime(info->not_after, absl::UTCTimeZone()),
                        ", within spec.tls.renewBefore");
  }
  // pki backdates a certificate 5 minutes (clocks that lag): its window is validity + 5 min.
  const absl::Duration issued = info->not_after - info->not_before - absl::Minutes(5);
  if (absl::AbsDuration(issued - c.tls.validity) > absl::Minutes(1)) {
    return absl::StrCat("spec.tls.certificateValidity is now ",
                        absl::FormatDuration(c.tls.validity));
  }
  return "";
}

absl::StatusOr<std::map<std::string, std::string>> IssueNodeTls(const pki::KeyPair& ca,
                                                                const ClusterSpec& c,
                                                                absl::Time now) {
  pki::CertificateRequest request{.common_name = c.name + " nodes",
                                  .dns_names = NodeDnsNames(c),
                                  .server = true,
                                  .client = true,
                                  .validity = c.tls.validity};
  ASSIGN_OR_RETURN(pki::KeyPair node, pki::Issue(ca, request, now));
  return std::map<std::string, std::string>{{kNodeTlsCa, ca.cert_pem},
                                            {kNodeTlsPem, node.key_pem + node.cert_pem},
                                            {kNodeTlsCert, node.cert_pem}};
}

Json EncryptionOptions(const TlsSpec& tls) {
  Json out = Json::object();
  if (!tls.enabled) return out;
  // PEM files, no keystore passwords (Cassandra 4.1+); Cassandra re-reads them when they change.
  const Json factory = {{"class_name", "org.apache.cassandra.security.PEMBasedSslContextFactory"}};
  const std::string pem = absl::StrCat(kNodeTlsDir, "/", kNodeTlsPem);
  const std::string ca = absl::StrCat(kNodeTlsDir, "/", kNodeTlsCa);
  if (tls.internode) {
    out["server_encryption_options"] = {
        {"internode_encryption", "all"},  {"optional", false}, {"require_client_auth", true},
        {"ssl_context_factory", factory}, {"keystore", pem},   {"truststore", ca}};
  }
  if (tls.client) {
    out["client_encryption_options"] = {{"enabled", true},
                                        {"optional", false},
                                        {"ssl_context_factory", factory},
                                        {"keystore", pem},
                                        {"truststore", ca}};
  }
  return out;
}

}  // namespace ringkeeper
