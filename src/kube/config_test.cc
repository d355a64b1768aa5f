#include "kube/config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace kube {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rk-config-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigTest, LoadsClientCertificatesFromFilesAndData) {
  Write("ca.crt", "CA PEM");
  Write("client.crt", "CERT PEM");
  const std::string key_data = absl::Base64Escape("KEY PEM");
  const std::string path = Write("kubeconfig", R"(
apiVersion: v1
kind: Config
current-context: main
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: ca.crt
contexts:
- name: main
  context: {cluster: c1, user: admin, namespace: team}
- name: other
  context: {cluster: c1, user: tok}
users:
- name: admin
  user:
    client-certificate: client.crt
    client-key-data: )" + key_data + R"(
- name: tok
  user:
    token: abc123
)");
  auto config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, "CA PEM");
  EXPECT_EQ(config->client_cert_pem, "CERT PEM");
  EXPECT_EQ(config->client_key_pem, "KEY PEM");
  EXPECT_EQ(config->ns, "team");
  EXPECT_EQ(config->token_source, nullptr);

  auto other = LoadKubeconfig(path, "other");
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_NE(other->token_source, nullptr);
  EXPECT_EQ(other->token_source->Token().value(), "abc123");
  EXPECT_EQ(other->ns, "default");
}

TEST_F(ConfigTest, ClearErrors) {
  EXPECT_FALSE(LoadKubeconfig(dir_ + "/missing").ok());
  const std::string bad = Write("bad", "current-context: x\ncontexts: []\n");
  auto s = LoadKubeconfig(bad).status();
  EXPECT_NE(s.message().find("no context named \"x\""), absl::string_view::npos) << s;
  const std::string half = Write("half", R"(
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]
)");
  EXPECT_NE(LoadKubeconfig(half).status().message().find("without key"), absl::string_view::npos);
  const std::string not_yaml = Write("notyaml", "{{{{");
  EXPECT_EQ(LoadKubeconfig(not_yaml).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConfigTest, FileTokenIsReReadWhenRotated) {
  const std::string path = Write("token", "first\n");
  FileTokenSource source(path, absl::Hours(1));
  EXPECT_EQ(source.Token().value(), "first");
  // Rotation replaces the file (kubelet writes a new file and renames it); the mtime changes.
  const std::string next = Write("token.new", "second");
  std::filesystem::last_write_time(
      next, std::filesystem::last_write_time(path) + std::chrono::seconds(2));
  std::filesystem::rename(next, path);
  EXPECT_EQ(source.Token().value(), "second");
}

TEST_F(ConfigTest, InClusterUsesServiceAccountFiles) {
  InClusterPaths paths{Write("token", "sa-token"), Write("ca.crt", "SA CA"), Write("ns", "ops\n")};
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = InClusterConfig(paths);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->ca_pem, "SA CA");
  EXPECT_EQ(config->ns, "ops");
  EXPECT_EQ(config->token_source->Token().value(), "sa-token");
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(InClusterConfig(paths).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kube
