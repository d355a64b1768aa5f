// A certificate authority and the certificates it issues, in PEM: what the operator makes for a
// Cluster's TLS, so that TLS works out of the box without cert-manager. Keys are ECDSA P-256
// (fast to make: the operator makes a few per Cluster, and tests make many); certificates are
// X.509 v3 signed with SHA-256, with the extensions verifiers check (basic constraints, key usage,
// extended key usage, subject alternative names, key identifiers).
//
// Pure functions over OpenSSL; thread-safe. Private keys are returned to the caller only, never
// logged or put in an error message.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringkeeper::pki {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: kept in a Kubernetes Secret
};

// A self-signed CA certificate valid from `now` (a few minutes back, for clocks that lag) for
// `validity`.
absl::StatusOr<KeyPair> MakeCertificateAuthority(const std::string& common_name, absl::Time now,
                                                 absl::Duration validity);

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("10.0.0.1", "::1")
  bool server = false;                    // extended key usage serverAuth
  bool client = false;                    // extended key usage clientAuth
  absl::Duration validity = absl::Hours(24 * 365);
};

// A certificate for `request`, signed by `ca`. InvalidArgument when the CA's PEM does not parse
// or the request names no use (neither server nor client) or a bad IP address.
absl::StatusOr<KeyPair> Issue(const KeyPair& ca, const CertificateRequest& request, absl::Time now);

// What a certificate says about itself.
struct CertificateInfo {
  std::string subject_common_name;
  std::string issuer_common_name;
  absl::Time not_before, not_after;
  bool is_ca = false;
  std::vector<std::string> dns_names, ip_addresses;
};
absl::StatusOr<CertificateInfo> Inspect(const std::string& cert_pem);

// OK when `cert_pem` chains to `ca_pem` and is valid at `now`; else FailedPrecondition with
// OpenSSL's reason ("certificate has expired", "unable to get local issuer certificate").
absl::Status Verify(const std::string& cert_pem, const std::string& ca_pem, absl::Time now);

// The private key belongs to the certificate.
absl::Status KeyMatches(const KeyPair& pair);

}  // namespace ringkeeper::pki
