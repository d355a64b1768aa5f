#include "operator/agent_credentials.h"

#include "agent/api/api.h"
#include "api/v1alpha1/naming.h"
#include "base/status_macros.h"
#include "kube/resource.h"
#include "pki/pki.h"

namespace ringkeeper {
namespace {

namespace res = kube::resources;

// Plain HTTP with the bearer token.
AgentCredentials TokenOnly(const std::string& token) {
  AgentCredentials c;
  c.token = token;
  return c;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> NewAgentTls(absl::Time now) {
  ASSIGN_OR_RETURN(pki::KeyPair ca, pki::MakeCertificateAuthority("ringkeeper agents CA", now,
                                                                  absl::Hours(24 * 365 * 10)));
  const absl::Duration validity = absl::Hours(24 * 365 * 5);
  pki::CertificateRequest agents{.common_name = agent::api::kAgentTlsName,
                                 .dns_names = {agent::api::kAgentTlsName},
                                 .server = true,
                                 .client = true,
                                 .validity = validity};
  ASSIGN_OR_RETURN(pki::KeyPair agent, pki::Issue(ca, agents, now));
  pki::CertificateRequest operator_request{
      .common_name = agent::api::kOperatorTlsName, .client = true, .validity = validity};
  ASSIGN_OR_RETURN(pki::KeyPair op, pki::Issue(ca, operator_request, now));
  return std::map<std::string, std::string>{
      {kAgentSecretCa, ca.cert_pem},           {kAgentSecretCaKey, ca.key_pem},
      {kAgentSecretCert, agent.cert_pem},      {kAgentSecretKey, agent.key_pem},
      {kAgentSecretOperatorCert, op.cert_pem}, {kAgentSecretOperatorKey, op.key_pem}};
}

AgentCredentials AgentCredentialsOf(const kube::Json& secret) {
  AgentCredentials c;
  c.token = kube::SecretData(secret, kAgentSecretToken);
  c.ca_pem = kube::SecretData(secret, kAgentSecretCa);
  c.client_cert_pem = kube::SecretData(secret, kAgentSecretOperatorCert);
  c.client_key_pem = kube::SecretData(secret, kAgentSecretOperatorKey);
  if (c.ca_pem.empty() || c.client_cert_pem.empty() || c.client_key_pem.empty()) {
    return TokenOnly(c.token);
  }
  c.server_name = agent::api::kAgentTlsName;
  return c;
}

bool ServesAgentTls(const kube::Object* pod) {
  if (pod == nullptr) return false;
  const kube::Json annotations = kube::FieldAt(pod->json(), {"metadata", "annotations"});
  return kube::StringField(annotations, kAnnotationAgentTls) == kAgentTlsMutual;
}

AgentCredentials CredentialsFor(const AgentCredentials& all, const kube::Object* pod) {
  if (ServesAgentTls(pod)) return all;
  return TokenOnly(all.token);
}

absl::StatusOr<AgentCredentials> AgentCredentialsCache::Get(const ClusterSpec& cluster, bool tls) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_uid_.find(cluster.uid);
    if (it != by_uid_.end() && (!tls || !it->second.ca_pem.empty())) return it->second;
  }
  ASSIGN_OR_RETURN(kube::Object secret,
                   reader_->Get(res::kSecrets, cluster.ns, AgentTokenSecretName(cluster)));
  AgentCredentials credentials = AgentCredentialsOf(secret.json());
  Put(cluster.uid, credentials);
  return credentials;
}

void AgentCredentialsCache::Put(const std::string& cluster_uid,
                                const AgentCredentials& credentials) {
  std::lock_guard<std::mutex> lock(mu_);
  by_uid_[cluster_uid] = credentials;
}

}  // namespace ringkeeper
