#include "agent/config/init.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/config/class_file.h"
#include "agent/config/config_keys.h"
#include "agent/config/java_test_util.h"
#include "gtest/gtest.h"

namespace agent::config {
namespace {
namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void Write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

class InitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("rk-init-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "base");
    Write(root_ / "base/cassandra.yaml", "cluster_name: x\nnum_tokens: 16\n");
    Write(root_ / "base/jvm17-server.options", "-XX:+UseG1GC\n");
    Write(root_ / "keys.txt",
          "cluster_name\nnum_tokens\nseed_provider\nlisten_address\n"
          "broadcast_address\nrpc_address\nauto_bootstrap\nendpoint_snitch\n"
          "data_file_directories\ncommitlog_directory\n"
          "saved_caches_directory\nhints_directory\ncdc_raw_directory\n"
          "authenticator\nauthorizer\nconcurrent_reads\n");
    settings_ = R"({"cluster_name":"c","dc":"d1","rack":"r1","seeds":["127.0.0.1","127.0.0.3"],
      "listen_address":"127.0.0.3","broadcast_address":"127.0.0.3","data_dir":")" +
                (root_ / "data").string() + R"(","jolokia_jar":"/j.jar")";
    options_.base_conf_dir = (root_ / "base").string();
    options_.out_conf_dir = (root_ / "conf").string();
    options_.settings_file = (root_ / "settings.json").string();
    options_.known_keys_file = (root_ / "keys.txt").string();
    options_.memory_limit_bytes = int64_t{1} << 30;
  }
  void TearDown() override { fs::remove_all(root_); }
  void Settings(const std::string& extra) {
    Write(root_ / "settings.json", settings_ + extra + "}");
  }

  fs::path root_;
  std::string settings_;
  InitOptions options_;
};

TEST_F(InitTest, FreshThenExistingAndIdempotent) {
  Settings("");
  auto r = RunInit(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode, StartMode::kFresh);
  const std::string yaml = Read(root_ / "conf/cassandra.yaml");
  EXPECT_NE(std::string(yaml).find("cluster_name: c"), std::string::npos) << yaml;
  EXPECT_EQ(Read(root_ / "conf/jvm17-server.options"), "-XX:+UseG1GC\n");
  EXPECT_NE(std::string(Read(root_ / "conf/cassandra-rackdc.properties")).find("dc=d1\nrack=r1"),
            std::string::npos)
      << Read(root_ / "conf/cassandra-rackdc.properties");
  EXPECT_NE(std::string(Read(root_ / "conf/jvm-ringkeeper.options")).find("-Xmx512m"),
            std::string::npos)
      << Read(root_ / "conf/jvm-ringkeeper.options");
  // Run again: same files.
  ASSERT_TRUE(RunInit(options_).ok());
  EXPECT_EQ(Read(root_ / "conf/cassandra.yaml"), yaml);
  // Data appears: existing, even if the operator says the member joined before.
  Write(root_ / "data/data/ks", "");
  Settings(R"(,"member_joined_before":true)");
  r = RunInit(options_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mode, StartMode::kExisting);
  EXPECT_EQ(Read(root_ / "conf/jvm-ringkeeper.options").find("replace_address"), std::string::npos);
}

// The base-config container writes the image's Java version beside its jar: a Java 11 image
// (Cassandra 4.x) gets the Jolokia built for Java 11, a Java 17 one keeps the jar it was given.
TEST_F(InitTest, TheJolokiaJarIsTheOneForTheImagesJava) {
  Settings("");
  fs::create_directories(root_ / "lib");
  options_.cassandra_lib_dir = (root_ / "lib").string();
  auto jvm_options = [&] { return Read(root_ / "conf/jvm-ringkeeper.options"); };
  ASSERT_TRUE(RunInit(options_).ok());  // no version written (outside a pod): kept
  EXPECT_NE(jvm_options().find("-javaagent:/j.jar="), std::string::npos) << jvm_options();
  Write(root_ / "lib/java-specification-version", "11\n");
  ASSERT_TRUE(RunInit(options_).ok());
  EXPECT_NE(jvm_options().find("-javaagent:/jolokia-agent-java11.jar="), std::string::npos)
      << jvm_options();
  Write(root_ / "lib/java-specification-version", "17\n");
  ASSERT_TRUE(RunInit(options_).ok());
  EXPECT_NE(jvm_options().find("-javaagent:/j.jar="), std::string::npos) << jvm_options();
  Write(root_ / "lib/java-specification-version", "1.8\n");
  auto r = RunInit(options_);
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
}

TEST_F(InitTest, EmptyVolumeOfJoinedMemberReplacesItsOwnAddress) {
  Settings(R"(,"member_joined_before":true)");
  auto r = RunInit(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode, StartMode::kReplace);
  EXPECT_NE(std::string(Read(root_ / "conf/jvm-ringkeeper.options"))
                .find("-Dcassandra.replace_address_first_boot=127.0.0.3\n"),
            std::string::npos)
      << Read(root_ / "conf/jvm-ringkeeper.options");
  // Its own address is no seed while it replaces (a seed never bootstraps).
  EXPECT_NE(std::string(Read(root_ / "conf/cassandra.yaml")).find("seeds: 127.0.0.1\n"),
            std::string::npos)
      << Read(root_ / "conf/cassandra.yaml");
}

TEST_F(InitTest, RestoreCallsTheHook) {
  Settings(R"(,"restore":{"backup":"b1"})");
  auto r = RunInit(options_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  bool called = false;
  options_.restore = [&](const api::InitSettings& s) {
    called = s.restore.backup == "b1";
    return absl::OkStatus();
  };
  r = RunInit(options_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(called);
  EXPECT_EQ(r->mode, StartMode::kRestore);
}

TEST_F(InitTest, UnknownOverrideFailsWithKeyName) {
  Settings("");
  Write(root_ / "over.yaml", "concurrent_reads: 4\nnot_a_real_key: 1\n");
  options_.overrides_file = (root_ / "over.yaml").string();
  auto r = RunInit(options_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("not_a_real_key"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(root_ / "conf/cassandra.yaml"));
}

// The official image has no config-keys.txt: the keys come from the jar holding Config.class,
// which the base-config container copies into /base-conf/lib.
TEST_F(InitTest, KeysFileAbsentDerivesKeysFromTheCassandraJar) {
  Settings("");
  Write(root_ / "over.yaml", "concurrent_reads: 4\n");
  options_.overrides_file = (root_ / "over.yaml").string();
  options_.known_keys_file = (root_ / "absent.txt").string();
  EXPECT_EQ(RunInit(options_).status().code(), absl::StatusCode::kNotFound);

  testing::ClassBuilder b;
  for (const char* key : {"cluster_name", "num_tokens", "seed_provider", "listen_address",
                          "broadcast_address", "rpc_address", "auto_bootstrap", "endpoint_snitch",
                          "data_file_directories", "commitlog_directory", "saved_caches_directory",
                          "hints_directory", "cdc_raw_directory", "authenticator", "authorizer"}) {
    b.Field(kAccPublic, key);
  }
  b.Field(kAccPublic, "concurrent_reads", {b.Replaces("old_reads")});
  fs::create_directories(root_ / "lib");
  Write(root_ / "lib/apache-cassandra-5.0.9.jar",
        testing::MakeZip(
            {{std::string(kConfigClassEntry), b.Build("org/apache/cassandra/config/Config")}}));
  options_.cassandra_lib_dir = (root_ / "lib").string();
  options_.keys_out_file = (root_ / "config-keys.txt").string();
  auto r = RunInit(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->keys_source, (root_ / "lib/apache-cassandra-5.0.9.jar").string());
  EXPECT_EQ(r->key_count, 17u);
  // Written for the sidecar to serve, one a line.
  const std::string written = Read(root_ / "config-keys.txt");
  EXPECT_EQ(std::count(written.begin(), written.end(), '\n'), 17);
  EXPECT_NE(("\n" + written).find("\nconcurrent_reads\n"), std::string::npos) << written;
  EXPECT_NE(Read(root_ / "conf/cassandra.yaml").find("concurrent_reads: 4"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "conf/apache-cassandra-5.0.9.jar"));
  // The old name of a renamed key is known too; an unknown key is still refused.
  Write(root_ / "over.yaml", "old_reads: 4\n");
  EXPECT_TRUE(RunInit(options_).ok());
  Write(root_ / "over.yaml", "not_a_real_key: 4\n");
  EXPECT_EQ(RunInit(options_).status().code(), absl::StatusCode::kInvalidArgument);

  // A keys file that exists wins over the jar.
  options_.known_keys_file = (root_ / "keys.txt").string();
  options_.overrides_file.clear();
  r = RunInit(options_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->keys_source, (root_ / "keys.txt").string());
}

TEST_F(InitTest, MalformedSettingsAreInvalidArgument) {
  Write(root_ / "settings.json", "{nope");
  EXPECT_EQ(RunInit(options_).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agent::config
