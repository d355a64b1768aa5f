// The tls step: spec.tls put in force (node_tls.h has the rules).
//
// What the nodes run is recorded in status.tls {client, internode, caSecret, notAfter} and set
// at creation; within the pass spec.tls is brought to it, so the config and the templates below
// say what the nodes run. The CA is read (the operator's own made once; a user's checked), the
// nodes' certificate issued or renewed into the node Secret before any pod needs it; a renewal
// changes the config hash, which rolls the pods one at a time (RollPods). A refusal (condition
// TLSRefused) changes nothing the nodes run.
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/resource.h"
#include "operator/desired.h"
#include "operator/node_tls.h"
#include "operator/pass.h"
#include "operator/reconciler.h"

namespace ringkeeper {
namespace {

using kube::Json;
namespace res = kube::resources;

}  // namespace

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureTls(Pass& p) {
  // What the nodes run: status.tls; a cluster not created yet takes the spec; one created
  // before spec.tls existed runs without.
  const Json& recorded = kube::FieldAt(p.old_status, {"tls"});
  TlsSpec running;
  if (recorded.is_object()) {
    running = p.spec.tls;
    running.enabled = true;
    running.client = recorded.value("client", false);
    running.internode = recorded.value("internode", false);
  } else if (p.brand_new) {
    running = p.spec.tls;
  }
  if (running.enabled != p.spec.tls.enabled || running.client != p.spec.tls.client ||
      running.internode != p.spec.tls.internode) {
    auto says = [](const TlsSpec& t) {
      return t.enabled ? absl::StrCat("client ", t.client ? "on" : "off", ", internode ",
                                      t.internode ? "on" : "off")
                       : std::string("off");
    };
    Refuse(p, condition::kTlsRefused, reason::kTlsChangeRefused,
           absl::StrCat("spec.tls asks encryption ", says(p.spec.tls), "; the nodes run ",
                        says(running),
                        ", set at creation (switching a running cluster without losing requests "
                        "needs a migration through optional encryption, not built): nothing "
                        "changes"));
    p.spec.tls = running;  // the CA Secret named is still the spec's (running copied it)
  }
  if (!p.spec.tls.enabled) return Flow::kContinue;

  const absl::Time now = seams_.clock->Now();
  const std::string ca_name = CaSecretName(p.spec);
  auto node_secret = seams_.reader->Get(res::kSecrets, p.spec.ns, NodeTlsSecretName(p.spec));
  if (!node_secret.ok() && !absl::IsNotFound(node_secret.status())) return node_secret.status();
  // The nodes' certificate and the CA it was issued by, kept beside it.
  const std::string node_cert =
      node_secret.ok() ? kube::SecretData(node_secret->json(), kNodeTlsCert) : "";
  const std::string node_ca =
      node_secret.ok() ? kube::SecretData(node_secret->json(), kNodeTlsCa) : "";

  // The CA: the operator's made once; the user's (or a hand-edited one) checked.
  auto ca_secret = seams_.reader->Get(res::kSecrets, p.spec.ns, ca_name);
  if (absl::IsNotFound(ca_secret.status()) && p.spec.tls.ca_secret.empty()) {
    ASSIGN_OR_RETURN(pki::KeyPair made, pki::MakeCertificateAuthority(p.spec.name + " CA", now,
                                                                      absl::Hours(24 * 365 * 10)));
    auto created = seams_.writer->Create(
        res::kSecrets,
        OwnedSecret(p.spec, ca_name, {{"ca.crt", made.cert_pem}, {"ca.key", made.key_pem}}));
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
    return Flow::kWait;  // read back by the next pass
  }
  absl::StatusOr<pki::KeyPair> ca =
      ca_secret.ok() ? CaFromSecret(ca_secret->json(), ca_name, now)
                     : absl::StatusOr<pki::KeyPair>(absl::FailedPreconditionError(
                           absl::StrCat("Secret ", ca_name, ": ", ca_secret.status().message())));
  if (!ca.ok() && !absl::IsFailedPrecondition(ca.status()) && !absl::IsNotFound(ca.status())) {
    return ca.status();
  }

  std::string why =
      node_cert.empty() ? "" : RenewalReason(node_cert, ca.ok() ? ca->cert_pem : "", p.spec, now);
  if (ca.ok() && !node_cert.empty() && recorded.is_object() && node_ca != ca->cert_pem) {
    // Another CA for a running cluster: nodes on either side of the roll would not trust each
    // other (the trust bundle that would bridge it is not built). Asked of the CA the node
    // Secret records, not of a verification, which an expired certificate fails as well.
    ca = absl::FailedPreconditionError(
        absl::StrCat("Secret ", ca_name,
                     " holds another CA than the one the nodes' certificate is from: "
                     "changing the CA of a running cluster is not supported"));
  }
  if (!ca.ok()) {
    Refuse(p, condition::kTlsRefused, reason::kCaRefused,
           absl::StrCat(ca.status().message(), node_cert.empty()
                                                   ? "; no node is given a certificate"
                                                   : "; the nodes keep their certificate"));
    if (node_cert.empty()) {
      // Nothing to start the nodes with: a new cluster waits (no pod is created); a running one
      // has its certificate (else it could not run encrypted).
      return Flow::kWait;
    }
    why.clear();  // nothing is renewed from a refused CA
  }

  std::string serving = node_cert, serving_ca = node_ca;
  const bool issue = ca.ok() && (node_cert.empty() || !why.empty());
  if (issue) {
    ASSIGN_OR_RETURN(auto data, IssueNodeTls(*ca, p.spec, now));
    RETURN_IF_ERROR(
        seams_.writer->Apply(res::kSecrets, OwnedSecret(p.spec, NodeTlsSecretName(p.spec), data))
            .status());
    serving = data[kNodeTlsCert];
    serving_ca = ca->cert_pem;
  }
  auto info = pki::Inspect(serving);
  const std::string until =
      info.ok() ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", info->not_after, absl::UTCTimeZone()) : "";
  if (issue && node_cert.empty()) {
    Event(p, false, reason::kCertificatesIssued,
          absl::StrCat("the nodes' certificate issued by ", ca_name, ", valid until ", until));
  } else if (issue) {
    Event(p, false, reason::kCertificatesRenewed,
          absl::StrCat("the nodes' certificate renewed (", why, "), valid until ", until,
                       "; the pods roll one at a time to take it"));
  }

  p.node_tls_hash = HashOf(Json(serving));
  p.tls = {
      {"client", p.spec.tls.client}, {"internode", p.spec.tls.internode}, {"caSecret", ca_name}};
  if (!until.empty()) p.tls["notAfter"] = until;
  if (p.spec.tls.client) p.cql_tls = {serving_ca, NodeTlsServerName(p.spec)};
  return Flow::kContinue;
}

}  // namespace ringkeeper
