// How the operator reaches a Cluster's agents: the Secret `<cluster>-agent-token` it makes at
// the Cluster's first pass holds the bearer token and the Cluster's own agent PKI:
//
//   token                       the bearer token every agent route but the probes requires
//   ca.crt, ca.key              a CA for this Cluster's agents only (the key never leaves the
//                               Secret: the pods' volume projects the keys below by name)
//   tls.crt, tls.key            the agents' shared certificate: server (DNS kAgentTlsName) and
//                               client (peers ask each other for the ring)
//   operator.crt, operator.key  the operator's client certificate (subject kOperatorTlsName),
//                               the only one the agents let past the ring
//
// A Secret made before the agents spoke TLS has the token only: the operator adds the rest once
// (EnsureSecrets) before any template asks for it. A pod serves mutual TLS when its template said
// so (the annotation kAnnotationAgentTls); pods from older templates are spoken to in plain HTTP
// with the token until the roll that the template change starts has replaced them.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/cluster.h"
#include "kube/object.h"
#include "operator/seams.h"

namespace ringkeeper {

// The pod template's annotation saying its agent serves mutual TLS only (value "mutual").
inline constexpr char kAnnotationAgentTls[] = "cassandra.rook.io/agent-tls";
inline constexpr char kAgentTlsMutual[] = "mutual";

// The Secret's keys.
inline constexpr char kAgentSecretToken[] = "token";
inline constexpr char kAgentSecretCa[] = "ca.crt";
inline constexpr char kAgentSecretCaKey[] = "ca.key";
inline constexpr char kAgentSecretCert[] = "tls.crt";
inline constexpr char kAgentSecretKey[] = "tls.key";
inline constexpr char kAgentSecretOperatorCert[] = "operator.crt";
inline constexpr char kAgentSecretOperatorKey[] = "operator.key";

// A new CA, the agents' and the operator's certificates (the Secret's keys but the token),
// valid from `now`. The CA for ten years; the certificates it issues for five (no pod reads its
// certificate again while it runs: renewal rolls the pods, and is not built yet).
absl::StatusOr<std::map<std::string, std::string>> NewAgentTls(absl::Time now);

// The credentials in the Secret's (base64) data; without TLS when its keys are missing.
AgentCredentials AgentCredentialsOf(const kube::Json& secret);

// Whether `pod` (its metadata is enough: the pod cache keeps it) serves mutual TLS.
bool ServesAgentTls(const kube::Object* pod);

// `all` as `pod` takes them: without the certificates when it serves plain HTTP.
AgentCredentials CredentialsFor(const AgentCredentials& all, const kube::Object* pod);

// The Secret read once per Cluster, then remembered by its uid. Thread-safe.
class AgentCredentialsCache {
 public:
  explicit AgentCredentialsCache(ObjectReader* reader) : reader_(reader) {}

  // NotFound while the Secret does not exist; the reader's error when it cannot be read. What
  // the Secret has (maybe no token: the Cluster's reconciler puts that right).
  // Remembered credentials without TLS are read again when `tls` is asked for (another reader
  // of the Secret may have added it since).
  absl::StatusOr<AgentCredentials> Get(const ClusterSpec& cluster, bool tls = false);
  // What the caller has just written.
  void Put(const std::string& cluster_uid, const AgentCredentials& credentials);

 private:
  ObjectReader* reader_;
  std::mutex mu_;
  std::map<std::string, AgentCredentials> by_uid_;
};

}  // namespace ringkeeper
