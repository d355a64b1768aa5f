// spec.tls, the pure part: which CA a Cluster's nodes are certified by, the certificate they
// share, when it is renewed, and what cassandra.yaml says to use it. The step that reads and
// writes the Secrets is ClusterReconciler::EnsureTls (node_tls_step.cc).
//
// One certificate for every node of the Cluster (server and client: internode encryption
// requires both ways), named by the client Services and the pods' names under the headless
// Services of every data center: a pod template cannot name a Secret per pod, and a shared
// name lets a client verify any node it reaches. The key never leaves the Cluster's Secrets.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "kube/object.h"
#include "pki/pki.h"

namespace ringkeeper {

// The node Secret's keys, and where the pods mount them.
inline constexpr char kNodeTlsCa[] = "ca.crt";
inline constexpr char kNodeTlsPem[] = "node.pem";  // the private key, then the certificate
inline constexpr char kNodeTlsCert[] = "tls.crt";  // the certificate alone (for inspection)
inline constexpr char kNodeTlsDir[] = "/etc/ringkeeper/tls";

// The CA in a Secret's data (base64): ca.crt + ca.key, else tls.crt + tls.key (cert-manager).
// FailedPrecondition, saying what is wrong, when neither pair is there, the key is not the
// certificate's, the certificate is not a CA or not valid at `now`.
absl::StatusOr<pki::KeyPair> CaFromSecret(const kube::Json& secret, const std::string& name,
                                          absl::Time now);

// The DNS names every node's certificate carries.
std::vector<std::string> NodeDnsNames(const ClusterSpec& c);
// The name the operator and the agents verify a node under (they dial addresses).
std::string NodeTlsServerName(const ClusterSpec& c);

// Why the nodes' certificate `cert_pem` must be issued again, "" when it need not: another CA,
// names changed, past `renew_before` before its end, or another validity asked.
std::string RenewalReason(const std::string& cert_pem, const std::string& ca_pem,
                          const ClusterSpec& c, absl::Time now);

// A new certificate for the nodes, and the node Secret's data (key -> bytes).
absl::StatusOr<std::map<std::string, std::string>> IssueNodeTls(const pki::KeyPair& ca,
                                                                const ClusterSpec& c,
                                                                absl::Time now);

// cassandra.yaml's encryption options for spec.tls (the operator's keys win over spec.config).
kube::Json EncryptionOptions(const TlsSpec& tls);

}  // namespace ringkeeper
