#include "kube/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace kube {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Finds the entry called `name` in a kubeconfig list (clusters, users, contexts) and returns
// its inner map (`field`).
absl::StatusOr<YAML::Node> Named(const YAML::Node& root, const char* list, const char* field,
                                 const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& e : entries) {
      if (e["name"] && e["name"].as<std::string>() == name) {
        if (e[field] && e[field].IsMap()) return e[field];
        return YAML::Node(YAML::NodeType::Map);
      }
    }
  }
  return absl::NotFoundError(absl::StrCat("kubeconfig has no ", field, " named \"", name, "\""));
}

std::string Str(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.as<std::string>() : "";
}

// Reads `<key>-data` (base64) or the file named by `<key>`, relative to `dir`.
absl::StatusOr<std::string> PemField(const YAML::Node& map, const std::string& key,
                                     const std::filesystem::path& dir) {
  std::string data = Str(map, (key + "-data").c_str());
  if (!data.empty()) {
    std::string pem;
    if (!absl::Base64Unescape(data, &pem)) {
      return absl::InvalidArgumentError(absl::StrCat(key, "-data is not valid base64"));
    }
    return pem;
  }
  std::string file = Str(map, key.c_str());
  if (file.empty()) return std::string();
  std::filesystem::path p(file);
  if (p.is_relative()) p = dir / p;
  return ReadFile(p.string());
}

}  // namespace

absl::StatusOr<std::string> FileTokenSource::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t mtime = MtimeNs(path_);
  if (token_.empty() || mtime != mtime_ns_ || absl::Now() - read_at_ > max_age_) {
    auto text = ReadFile(path_);
    if (!text.ok()) {
      // Keep serving the last good token through a rotation's brief absence.
      if (!token_.empty()) return token_;
      return base::Annotate(text.status(), "read service-account token");
    }
    token_ = std::string(absl::StripAsciiWhitespace(*text));
    mtime_ns_ = mtime;
    read_at_ = absl::Now();
  }
  return token_;
}

absl::StatusOr<RestConfig> LoadKubeconfig(const std::string& path, absl::string_view context) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", path, ": ", e.what()));
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::string context_name(context);
  if (context_name.empty()) context_name = Str(root, "current-context");
  if (context_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", path, ": no current-context"));
  }
  ASSIGN_OR_RETURN(YAML::Node ctx, Named(root, "contexts", "context", context_name));
  ASSIGN_OR_RETURN(YAML::Node cluster, Named(root, "clusters", "cluster", Str(ctx, "cluster")));
  RestConfig config;
  config.server = std::string(absl::StripSuffix(Str(cluster, "server"), "/"));
  if (config.server.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", path, ": cluster has no server"));
  }
  config.insecure_skip_tls_verify = Str(cluster, "insecure-skip-tls-verify") == "true";
  ASSIGN_OR_RETURN(config.ca_pem, PemField(cluster, "certificate-authority", dir));
  if (!Str(ctx, "namespace").empty()) config.ns = Str(ctx, "namespace");

  const std::string user_name = Str(ctx, "user");
  if (!user_name.empty()) {
    ASSIGN_OR_RETURN(YAML::Node user, Named(root, "users", "user", user_name));
    ASSIGN_OR_RETURN(config.client_cert_pem, PemField(user, "client-certificate", dir));
    ASSIGN_OR_RETURN(config.client_key_pem, PemField(user, "client-key", dir));
    if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("kubeconfig user \"", user_name, "\": client certificate without key"));
    }
    if (!Str(user, "token").empty()) {
      config.token_source = std::make_shared<StaticTokenSource>(Str(user, "token"));
    } else if (!Str(user, "tokenFile").empty()) {
      std::filesystem::path p(Str(user, "tokenFile"));
      if (p.is_relative()) p = dir / p;
      config.token_source = std::make_shared<FileTokenSource>(p.string());
    }
  }
  return config;
}

absl::StatusOr<RestConfig> InClusterConfig(const InClusterPaths& paths) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr) {
    return absl::FailedPreconditionError(
        "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  RestConfig config;
  std::string h(host);
  if (h.find(':') != std::string::npos) h = absl::StrCat("[", h, "]");  // IPv6
  config.server = absl::StrCat("https://", h, ":", port);
  ASSIGN_OR_RETURN(config.ca_pem, ReadFile(paths.ca));
  auto token_source = std::make_shared<FileTokenSource>(paths.token);
  RETURN_IF_ERROR(token_source->Token().status());
  config.token_source = std::move(token_source);
  if (auto ns = ReadFile(paths.ns); ns.ok()) {
    config.ns = std::string(absl::StripAsciiWhitespace(*ns));
  }
  return config;
}

absl::StatusOr<RestConfig> LoadDefaultConfig() {
  if (const char* kc = std::getenv("KUBECONFIG"); kc != nullptr && *kc != '\0') {
    std::string first(kc);
    first = first.substr(0, first.find(':'));
    return LoadKubeconfig(first);
  }
  if (std::getenv("KUBERNETES_SERVICE_HOST") != nullptr) return InClusterConfig();
  const char* home = std::getenv("HOME");
  return LoadKubeconfig(absl::StrCat(home ? home : "", "/.kube/config"));
}

}  // namespace kube
