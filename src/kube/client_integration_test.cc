// kube::Client against the real kube-apiserver of test/env/kube-env.sh.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/log.h"
#include "gtest/gtest.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/informer.h"
#include "kube/testing/test_env.h"
#include "spdlog/sinks/ostream_sink.h"

namespace kube {
namespace {

using testing::AdminClient;
using testing::CreateNamespace;
using testing::WaitFor;

Object ConfigMap(const std::string& ns, const std::string& name, Json data) {
  Object o;
  o.set_api_version("v1").set_kind("ConfigMap").set_namespace(ns).set_name(name);
  o.json()["data"] = std::move(data);
  return o;
}

class ClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = AdminClient();
    ns_ = CreateNamespace(*client_, "client");
  }
  void TearDown() override { (void)client_->Delete(resources::kNamespaces, "", ns_); }
  std::unique_ptr<Client> client_;
  std::string ns_;
};

TEST_F(ClientIntegrationTest, VersionAndDiscovery) {
  auto version = client_->ServerVersion();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->rfind("v1.", 0), 0u) << *version;
  EXPECT_TRUE(client_->HasResource("", "v1", "pods").value_or(false));
  EXPECT_TRUE(client_->HasResource("coordination.k8s.io", "v1", "leases").value_or(false));
  // An optional integration that is not installed: false, not an error.
  auto monitoring = client_->HasResource("monitoring.coreos.com", "v1", "servicemonitors");
  ASSERT_TRUE(monitoring.ok()) << monitoring.status();
  EXPECT_FALSE(*monitoring);
  EXPECT_FALSE(client_->HasResource("apps", "v1", "nosuchthings").value_or(true));
}

TEST_F(ClientIntegrationTest, CreateGetUpdateWithTypedErrors) {
  auto created = client_->Create(resources::kConfigMaps, ConfigMap(ns_, "a", {{"k", "1"}}));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->uid().empty());

  auto again = client_->Create(resources::kConfigMaps, ConfigMap(ns_, "a", {{"k", "1"}}));
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();

  Object stale = *created;
  Object fresh = *created;
  fresh.json()["data"]["k"] = "2";
  auto updated = client_->Update(resources::kConfigMaps, fresh);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_NE(updated->resource_version(), created->resource_version());

  stale.json()["data"]["k"] = "3";
  auto conflict = client_->Update(resources::kConfigMaps, stale);
  EXPECT_TRUE(IsConflict(conflict.status())) << conflict.status();
  EXPECT_EQ(client_->Get(resources::kConfigMaps, ns_, "a")->json()["data"]["k"], "2");

  auto missing = client_->Get(resources::kConfigMaps, ns_, "missing");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();

  auto invalid = client_->Create(resources::kConfigMaps, ConfigMap(ns_, "Not_Valid", {}));
  ASSERT_TRUE(IsInvalid(invalid.status())) << invalid.status();
  auto causes = Causes(invalid.status());
  ASSERT_FALSE(causes.empty());
  EXPECT_EQ(causes[0].field, "metadata.name");
}

TEST_F(ClientIntegrationTest, ListWithSelectorsAndPages) {
  for (int i = 0; i < 25; ++i) {
    Object cm = ConfigMap(ns_, absl::StrCat("cm-", i), {{"i", std::to_string(i)}});
    cm.set_label("set", "paged").set_label("parity", i % 2 == 0 ? "even" : "odd");
    ASSERT_TRUE(client_->Create(resources::kConfigMaps, cm).ok());
  }
  ListOptions first;
  first.label_selector = "set=paged";
  first.limit = 10;
  auto page = client_->ListPage(resources::kConfigMaps, ns_, first);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), 10u);
  EXPECT_FALSE(page->continue_token.empty());
  EXPECT_EQ(page->items[0].kind(), "ConfigMap");  // filled in for list items

  auto all = client_->List(resources::kConfigMaps, ns_, first);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->items.size(), 25u);
  EXPECT_FALSE(all->resource_version.empty());

  ListOptions even;
  even.label_selector = "set=paged,parity=even";
  EXPECT_EQ(client_->List(resources::kConfigMaps, ns_, even)->items.size(), 13u);

  ListOptions by_name;
  by_name.field_selector = "metadata.name=cm-7";
  auto one = client_->List(resources::kConfigMaps, ns_, by_name);
  ASSERT_EQ(one->items.size(), 1u);
  EXPECT_EQ(one->items[0].json()["data"]["i"], "7");
}

TEST_F(ClientIntegrationTest, ServerSideApplyIsIdempotentAndOwnsFields) {
  ApplyOptions ours{"ringkeeper", false};
  auto first =
      client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "applied", {{"a", "1"}}), ours);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second =
      client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "applied", {{"a", "1"}}), ours);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->resource_version(), first->resource_version()) << "a no-op apply wrote";

  auto changed =
      client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "applied", {{"a", "2"}}), ours);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->resource_version(), first->resource_version());

  // Another manager claiming our field conflicts unless it forces.
  ApplyOptions theirs{"someone-else", false};
  auto contested =
      client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "applied", {{"a", "9"}}), theirs);
  EXPECT_TRUE(IsConflict(contested.status())) << contested.status();
  theirs.force = true;
  auto forced =
      client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "applied", {{"a", "9"}}), theirs);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(forced->json()["data"]["a"], "9");

  // Fields we did not apply are left alone: another manager's key survives our apply.
  auto merged =
      client_->MergePatch(resources::kConfigMaps, ns_, "applied", {{"data", {{"theirs", "x"}}}});
  ASSERT_TRUE(merged.ok());
  ApplyOptions forced_ours{"ringkeeper", true};
  auto reapplied =
      client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "applied", {{"a", "1"}}), forced_ours);
  ASSERT_TRUE(reapplied.ok()) << reapplied.status();
  EXPECT_EQ(reapplied->json()["data"]["theirs"], "x");
  EXPECT_EQ(reapplied->json()["data"]["a"], "1");

  EXPECT_EQ(client_->Apply(resources::kConfigMaps, ConfigMap(ns_, "x", {}), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientIntegrationTest, MergePatchSetsAndRemovesKeys) {
  ASSERT_TRUE(
      client_->Create(resources::kConfigMaps, ConfigMap(ns_, "p", {{"a", "1"}, {"b", "2"}})).ok());
  auto patched = client_->MergePatch(resources::kConfigMaps, ns_, "p",
                                     {{"data", {{"a", nullptr}, {"c", "3"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_FALSE(patched->json()["data"].contains("a"));
  EXPECT_EQ(patched->json()["data"]["c"], "3");
  EXPECT_TRUE(absl::IsNotFound(
      client_->MergePatch(resources::kConfigMaps, ns_, "nope", {{"data", {}}}).status()));
}

TEST_F(ClientIntegrationTest, DeletePreconditionsAndPropagation) {
  auto created = client_->Create(resources::kConfigMaps, ConfigMap(ns_, "d", {}));
  ASSERT_TRUE(created.ok());
  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  EXPECT_TRUE(IsConflict(client_->Delete(resources::kConfigMaps, ns_, "d", wrong_uid)));
  DeleteOptions stale_rv;
  stale_rv.precondition_resource_version = "1";
  EXPECT_TRUE(IsConflict(client_->Delete(resources::kConfigMaps, ns_, "d", stale_rv)));
  DeleteOptions exact;
  exact.precondition_uid = created->uid();
  exact.precondition_resource_version = created->resource_version();
  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "d", exact).ok());
  EXPECT_TRUE(absl::IsNotFound(client_->Get(resources::kConfigMaps, ns_, "d").status()));
  EXPECT_TRUE(absl::IsNotFound(client_->Delete(resources::kConfigMaps, ns_, "d")));

  // Garbage collection (the real controller-manager): a dependent goes with its owner under
  // Foreground propagation and stays, orphaned, under Orphan.
  for (const char* policy : {"Foreground", "Orphan"}) {
    auto owner = client_->Create(resources::kConfigMaps, ConfigMap(ns_, "owner", {}));
    ASSERT_TRUE(owner.ok());
    Object child = ConfigMap(ns_, "child", {});
    child.add_owner_reference({"v1", "ConfigMap", "owner", owner->uid(), true});
    ASSERT_TRUE(client_->Create(resources::kConfigMaps, child).ok());
    DeleteOptions propagation;
    propagation.propagation_policy = policy;
    ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "owner", propagation).ok());
    ASSERT_TRUE(WaitFor(
        [&] {
          return absl::IsNotFound(client_->Get(resources::kConfigMaps, ns_, "owner").status());
        },
        absl::Seconds(30)))
        << policy;
    auto remaining = client_->Get(resources::kConfigMaps, ns_, "child");
    if (std::string(policy) == "Foreground") {
      EXPECT_TRUE(absl::IsNotFound(remaining.status())) << "foreground deletion left the child";
    } else {
      ASSERT_TRUE(remaining.ok()) << remaining.status();
      ASSERT_TRUE(WaitFor(
          [&] {
            auto c = client_->Get(resources::kConfigMaps, ns_, "child");
            return c.ok() && c->owner_references().empty();
          },
          absl::Seconds(30)));
      ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "child").ok());
    }
  }
}

TEST_F(ClientIntegrationTest, AuthenticationAndRbacAreEnforced) {
  auto by_token = testing::ClientFor("kubeconfig-token");
  EXPECT_TRUE(by_token->Get(resources::kNamespaces, "", ns_).ok());
  auto limited = testing::ClientFor("kubeconfig-limited");
  auto secrets = limited->List(resources::kSecrets, "");
  EXPECT_TRUE(IsForbidden(secrets.status())) << secrets.status();
  RestConfig anonymous = client_->config();
  anonymous.client_cert_pem.clear();
  anonymous.client_key_pem.clear();
  anonymous.token_source = nullptr;
  Client nobody(anonymous);
  EXPECT_TRUE(IsUnauthorized(nobody.Get(resources::kNamespaces, "", ns_).status()));
  // A CA that is not a certificate is a configuration error; a certificate that did not sign
  // the server's (here: the client's own) fails the TLS handshake.
  RestConfig not_a_ca = client_->config();
  not_a_ca.ca_pem = "-----BEGIN CERTIFICATE-----\nnot a ca\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(Client(not_a_ca).ServerVersion().status().code(), absl::StatusCode::kInvalidArgument);
  RestConfig wrong_ca = client_->config();
  ASSERT_FALSE(wrong_ca.client_cert_pem.empty());
  wrong_ca.ca_pem = wrong_ca.client_cert_pem;
  EXPECT_EQ(Client(wrong_ca).ServerVersion().status().code(), absl::StatusCode::kUnavailable);
  // The server's name is checked against its certificate (IP:127.0.0.1, DNS:localhost, ...):
  // "localhost" is named there; "127.1" reaches the same server but is no name it has.
  ASSERT_TRUE(absl::StartsWith(client_->config().server, "https://127.0.0.1:"));
  RestConfig by_name = client_->config();
  absl::StrReplaceAll({{"127.0.0.1", "localhost"}}, &by_name.server);
  EXPECT_TRUE(Client(by_name).ServerVersion().ok());
  RestConfig unnamed = client_->config();
  absl::StrReplaceAll({{"127.0.0.1", "127.1"}}, &unnamed.server);
  EXPECT_EQ(Client(unnamed).ServerVersion().status().code(), absl::StatusCode::kUnavailable);
}

// In-cluster configuration with real service-account tokens from the TokenRequest API; the
// token file is re-read when it changes, as kubelet rotates projected tokens in place.
TEST_F(ClientIntegrationTest, InClusterConfigRereadsRotatedTokens) {
  auto token_for = [&](const std::string& sa) -> std::string {
    Object account;
    account.set_api_version("v1").set_kind("ServiceAccount").set_namespace(ns_).set_name(sa);
    EXPECT_TRUE(client_->Create(resources::kServiceAccounts, account).ok());
    Object request;
    request.set_api_version("authentication.k8s.io/v1").set_kind("TokenRequest");
    request.json()["spec"] = {{"expirationSeconds", 600}};
    auto issued =
        client_->CreateSubresource(resources::kServiceAccounts, ns_, sa, "token", request);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? issued->String("/status/token") : "";
  };
  // "reader" may read ConfigMaps in the namespace; "nobody" may not.
  Object binding;
  binding.set_api_version("rbac.authorization.k8s.io/v1")
      .set_kind("RoleBinding")
      .set_namespace(ns_)
      .set_name("reader-view");
  binding.json()["roleRef"] = {
      {"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "view"}};
  binding.json()["subjects"] = {
      {{"kind", "ServiceAccount"}, {"name", "reader"}, {"namespace", ns_}}};
  const Resource role_bindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
                               true};
  ASSERT_TRUE(client_->Create(role_bindings, binding).ok());
  const std::string reader = token_for("reader"), nobody = token_for("nobody");
  ASSERT_FALSE(reader.empty());

  char dir_template[] = "/tmp/rk-incluster-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
  };
  write("token", reader);
  write("ca.crt", client_->config().ca_pem);
  write("namespace", ns_);
  const std::string server = client_->config().server;  // https://127.0.0.1:PORT
  const std::string host_port = server.substr(server.find("//") + 2);
  setenv("KUBERNETES_SERVICE_HOST", host_port.substr(0, host_port.rfind(':')).c_str(), 1);
  setenv("KUBERNETES_SERVICE_PORT", host_port.substr(host_port.rfind(':') + 1).c_str(), 1);
  auto config = InClusterConfig({dir + "/token", dir + "/ca.crt", dir + "/namespace"});
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ns, ns_);
  Client in_cluster(*config);
  // The authorizer learns of the new RoleBinding through its own cache: wait for it.
  EXPECT_TRUE(WaitFor([&] { return in_cluster.List(resources::kConfigMaps, ns_).ok(); },
                      absl::Seconds(10)));

  // Rotation: the file now holds another account's token (new mtime); the next request uses it.
  write("token.next", nobody);
  std::filesystem::last_write_time(
      dir + "/token.next",
      std::filesystem::last_write_time(dir + "/token") + std::chrono::seconds(2));
  std::filesystem::rename(dir + "/token.next", dir + "/token");
  auto refused = in_cluster.List(resources::kConfigMaps, ns_);
  EXPECT_TRUE(IsForbidden(refused.status())) << refused.status();
  std::filesystem::remove_all(dir);
}

// A Secret's value must never reach the logs, whatever the verb and at the chattiest level.
TEST_F(ClientIntegrationTest, SecretValuesNeverReachLogs) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  base::AddLogSink(sink);
  const auto saved_level = spdlog::get_level();
  spdlog::set_level(spdlog::level::trace);

  const std::string value = "hunter2-" + ns_;
  Object secret;
  secret.set_api_version("v1").set_kind("Secret").set_namespace(ns_).set_name("s");
  secret.json()["stringData"] = {{"password", value}};
  InformerOptions options;
  options.ns = ns_;
  Informer informer(*client_, resources::kSecrets, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  ASSERT_TRUE(client_->Create(resources::kSecrets, secret).ok());
  ASSERT_TRUE(client_->Get(resources::kSecrets, ns_, "s").ok());
  ASSERT_TRUE(client_->List(resources::kSecrets, ns_).ok());
  ASSERT_TRUE(client_->Apply(resources::kSecrets, secret, {"ringkeeper", true}).ok());
  ASSERT_TRUE(
      WaitFor([&] { return informer.store().Get(ns_ + "/s") != nullptr; }, absl::Seconds(10)));
  // A failing request logs its error; the error must not carry the body either.
  (void)client_->Create(resources::kSecrets, secret);
  informer.Stop();

  spdlog::set_level(saved_level);
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::find(sinks.begin(), sinks.end(), sink));

  const std::string logs = captured.str();
  EXPECT_NE(logs.find("/secrets"), std::string::npos)
      << "nothing was logged: the test proves nothing";
  EXPECT_EQ(logs.find(value), std::string::npos);
  EXPECT_EQ(logs.find(absl::Base64Escape(value)), std::string::npos);
}

}  // namespace
}  // namespace kube
