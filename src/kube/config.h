// kube::RestConfig: where the API server is and how to authenticate to it, loaded from a
// kubeconfig file or from a pod's service account.
//
// A RestConfig is a value; its TokenSource is shared and thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kube {

// Supplies the bearer token for each request. Implementations are thread-safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual absl::StatusOr<std::string> Token() = 0;
};

class StaticTokenSource : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> Token() override { return token_; }

 private:
  const std::string token_;
};

// Reads the token from a file and reads it again when the file changes (kubelet rotates
// projected service-account tokens in place) or after `max_age`, whichever comes first.
class FileTokenSource : public TokenSource {
 public:
  explicit FileTokenSource(std::string path, absl::Duration max_age = absl::Minutes(1))
      : path_(std::move(path)), max_age_(max_age) {}
  absl::StatusOr<std::string> Token() override;

 private:
  const std::string path_;
  const absl::Duration max_age_;
  std::mutex mu_;
  std::string token_;
  absl::Time read_at_ = absl::InfinitePast();
  int64_t mtime_ns_ = -1;
};

struct RestConfig {
  std::string server;  // "https://127.0.0.1:6443", no trailing slash
  std::string ca_pem;  // empty: the system trust store
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;
  // The name the server's certificate is verified against; empty: the server's host.
  std::string tls_server_name;
  std::shared_ptr<TokenSource> token_source;  // null: no bearer token
  std::string ns = "default";                 // the context's (or pod's) namespace
  std::string user_agent = "ringkeeper";
  absl::Duration timeout = absl::Seconds(30);  // per request, watches excepted
  // Responses larger than this are refused with ResourceExhausted instead of filling memory.
  size_t max_response_bytes = size_t{512} << 20;
  int max_retries = 5;  // for 429/503 responses, each after the server's Retry-After
};

// Loads `path`; `context` empty means current-context. Supports client certificates and
// keys (files or -data), bearer tokens (inline or tokenFile), certificate-authority(-data)
// and insecure-skip-tls-verify. Relative file paths are relative to the kubeconfig's folder.
absl::StatusOr<RestConfig> LoadKubeconfig(const std::string& path, absl::string_view context = "");

struct InClusterPaths {
  std::string token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string ns = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

// From KUBERNETES_SERVICE_HOST/PORT and the pod's service-account files.
absl::StatusOr<RestConfig> InClusterConfig(const InClusterPaths& paths = {});

// $KUBECONFIG if set, else in-cluster if KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
absl::StatusOr<RestConfig> LoadDefaultConfig();

}  // namespace kube
