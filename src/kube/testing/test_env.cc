#include "kube/testing/test_env.h"

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kube::testing {
namespace {

std::string RequireEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name
                  << " is not set: start the test environment with `bash test/env/kube-env.sh up`"
                     " and load it with `eval \"$(bash test/env/kube-env.sh env)\"`";
    std::abort();
  }
  return v;
}

std::unique_ptr<Client> Load(const std::string& path) {
  auto config = LoadKubeconfig(path);
  if (!config.ok()) {
    ADD_FAILURE() << config.status();
    std::abort();
  }
  return std::make_unique<Client>(*config);
}

}  // namespace

std::unique_ptr<Client> AdminClient() { return Load(RequireEnv("KUBECONFIG")); }

std::unique_ptr<Client> ClientFor(const std::string& kubeconfig_name) {
  const std::filesystem::path admin(RequireEnv("KUBECONFIG"));
  return Load((admin.parent_path() / kubeconfig_name).string());
}

std::string CreateNamespace(Client& client, const std::string& prefix) {
  static std::mt19937 rng(std::random_device{}());
  std::string name =
      absl::StrCat(prefix, "-", std::uniform_int_distribution<int>(100000, 999999)(rng));
  Object ns;
  ns.set_api_version("v1").set_kind("Namespace").set_name(name);
  auto created = client.Create(resources::kNamespaces, ns);
  EXPECT_TRUE(created.ok()) << created.status();
  return name;
}

absl::Status RunEnvScript(const std::string& subcommand) {
  const std::string script = RequireEnv("RINGKEEPER_ENV_SCRIPT");
  const std::string cmd = absl::StrCat("bash '", script, "' ", subcommand);
  const int rc = std::system(cmd.c_str());
  if (rc != 0) return absl::InternalError(absl::StrCat(cmd, " exited with ", rc));
  return absl::OkStatus();
}

bool WaitFor(const std::function<bool()>& predicate, absl::Duration timeout,
             absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(interval));
  }
  return predicate();
}

}  // namespace kube::testing
