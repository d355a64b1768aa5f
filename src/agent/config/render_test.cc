#include "agent/config/render.h"

#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace agent::config {
namespace {

const KnownKeys& Keys() {
  static const KnownKeys keys = ParseKnownKeys(
      "cluster_name\nseed_provider\nlisten_address\nbroadcast_address\nrpc_address\n"
      "broadcast_rpc_address\nnum_tokens\ninitial_token\nauto_bootstrap\n"
      "data_file_directories\ncommitlog_directory\nsaved_caches_directory\nhints_directory\n"
      "cdc_raw_directory\nendpoint_snitch\nauthenticator\nauthorizer\n"
      "allocate_tokens_for_local_replication_factor\nconcurrent_reads\n"
      "client_encryption_options\ncompaction_throughput\n# comment\n");
  return keys;
}

constexpr char kBase[] = R"(
cluster_name: base
num_tokens: 16
allocate_tokens_for_local_replication_factor: 3
concurrent_reads: 32
compaction_throughput: 64MiB/s
client_encryption_options:
  enabled: false
  optional: true
)";

api::InitSettings Settings() {
  api::InitSettings s;
  s.cluster_name = "prod";
  s.dc = "dc-east";
  s.rack = "r1";
  s.seeds = {"10.0.0.1", "10.0.0.2"};
  s.listen_address = "10.1.0.5";
  s.broadcast_address = "10.0.0.3";
  s.rpc_address = "0.0.0.0";
  s.num_tokens = 8;
  s.data_dir = "/var/lib/cassandra/";
  return s;
}

YAML::Node Render(absl::string_view overrides, const api::InitSettings& s = Settings()) {
  auto out = RenderCassandraYaml(kBase, overrides, s, Keys());
  EXPECT_TRUE(out.ok()) << out.status();
  return YAML::Load(out.ok() ? *out : "");
}

TEST(RenderCassandraYaml, OperatorSettingsWin) {
  YAML::Node y = Render("");
  EXPECT_EQ(y["cluster_name"].as<std::string>(), "prod");
  EXPECT_EQ(y["seed_provider"][0]["parameters"][0]["seeds"].as<std::string>(), "10.0.0.1,10.0.0.2");
  EXPECT_EQ(y["listen_address"].as<std::string>(), "10.1.0.5");
  EXPECT_EQ(y["broadcast_address"].as<std::string>(), "10.0.0.3");
  EXPECT_EQ(y["rpc_address"].as<std::string>(), "0.0.0.0");
  // rpc on all interfaces: clients must be told the sticky address.
  EXPECT_EQ(y["broadcast_rpc_address"].as<std::string>(), "10.0.0.3");
  EXPECT_EQ(y["num_tokens"].as<int>(), 8);
  EXPECT_EQ(y["endpoint_snitch"].as<std::string>(), "GossipingPropertyFileSnitch");
  EXPECT_EQ(y["data_file_directories"][0].as<std::string>(), "/var/lib/cassandra/data");
  EXPECT_EQ(y["commitlog_directory"].as<std::string>(), "/var/lib/cassandra/commitlog");
  EXPECT_EQ(y["authenticator"].as<std::string>(), "PasswordAuthenticator");
  EXPECT_TRUE(y["auto_bootstrap"].as<bool>());
}

TEST(WithSeeds, ReplacesOnlyTheSeeds) {
  auto rendered = RenderCassandraYaml(kBase, "", Settings(), Keys());
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  auto changed = WithSeeds(*rendered, {"10.0.0.1", "10.0.0.2", "10.0.0.9"});
  ASSERT_TRUE(changed.ok()) << changed.status();
  YAML::Node was = YAML::Load(*rendered), now = YAML::Load(*changed);
  EXPECT_EQ(now["seed_provider"][0]["parameters"][0]["seeds"].as<std::string>(),
            "10.0.0.1,10.0.0.2,10.0.0.9");
  EXPECT_EQ(now["seed_provider"][0]["class_name"].as<std::string>(),
            "org.apache.cassandra.locator.SimpleSeedProvider");
  // Everything else as it was.
  now["seed_provider"] = was["seed_provider"];
  YAML::Emitter a, b;
  a << was;
  b << now;
  EXPECT_EQ(std::string(a.c_str()), std::string(b.c_str()));
  // Changing them back gives the same seeds again (what the operator does after a replacement).
  auto back = WithSeeds(*changed, {"10.0.0.1", "10.0.0.2"});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(YAML::Load(*back)["seed_provider"][0]["parameters"][0]["seeds"].as<std::string>(),
            "10.0.0.1,10.0.0.2");
}

TEST(WithSeeds, BadInputIsRefusedByName) {
  auto rendered = RenderCassandraYaml(kBase, "", Settings(), Keys());
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(WithSeeds(*rendered, {}).status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string bad : {"", "10.0.0.1,10.0.0.2", "a b", "x\nseeds: y"}) {
    auto out = WithSeeds(*rendered, {"10.0.0.1", bad});
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(WithSeeds(*rendered, {"a,b"}).status().message().find("\"a,b\""), std::string::npos);
  // Host names and IPv6 addresses are fine.
  EXPECT_TRUE(WithSeeds(*rendered, {"rk-dc1-r1-0.ns.svc", "fd00::1"}).ok());
  // A file init did not render.
  auto other = WithSeeds("seed_provider:\n- class_name: com.example.Seeds\n", {"10.0.0.1"});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WithSeeds("{", {"10.0.0.1"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RenderCassandraYaml, UserOverridesMergeNestedMaps) {
  YAML::Node y = Render("concurrent_reads: 64\nclient_encryption_options:\n  enabled: true\n");
  EXPECT_EQ(y["concurrent_reads"].as<int>(), 64);
  EXPECT_TRUE(y["client_encryption_options"]["enabled"].as<bool>());
  EXPECT_TRUE(y["client_encryption_options"]["optional"].as<bool>());
  EXPECT_EQ(y["compaction_throughput"].as<std::string>(), "64MiB/s");
}

TEST(RenderCassandraYaml, UnknownOverrideKeyIsRefusedByName) {
  auto out =
      RenderCassandraYaml(kBase, "concurrent_reads: 1\nconcurent_writes: 8\n", Settings(), Keys());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(out.status().message()).find("concurent_writes"), std::string::npos)
      << out.status().message();
}

TEST(RenderCassandraYaml, OperatorOwnedOverrideIsRefused) {
  auto out = RenderCassandraYaml(kBase, "cluster_name: other\n", Settings(), Keys());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(std::string(out.status().message()).find("cluster_name"), std::string::npos)
      << out.status().message();
  EXPECT_NE(std::string(out.status().message()).find("set by the operator"), std::string::npos)
      << out.status().message();
}

TEST(RenderCassandraYaml, MalformedOverridesAreNamed) {
  auto out = RenderCassandraYaml(kBase, "a: [b\n", Settings(), Keys());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(std::string(out.status().message()).find("overrides: malformed YAML"),
            std::string::npos)
      << out.status().message();
  out = RenderCassandraYaml(kBase, "- a\n- b\n", Settings(), Keys());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(std::string(out.status().message()).find("not a YAML map"), std::string::npos)
      << out.status().message();
}

TEST(RenderCassandraYaml, UnknownBaseKeyIsRefused) {
  auto out = RenderCassandraYaml("bogus_key: 1\n", "", Settings(), Keys());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(std::string(out.status().message()).find("bogus_key"), std::string::npos)
      << out.status().message();
}

TEST(RenderCassandraYaml, InitialTokensReplaceAllocation) {
  auto s = Settings();
  s.initial_tokens = {"-9223372036854775808", "0"};
  YAML::Node y = Render("", s);
  EXPECT_EQ(y["initial_token"].as<std::string>(), "-9223372036854775808,0");
  EXPECT_EQ(y["num_tokens"].as<int>(), 2);
  EXPECT_FALSE(y["allocate_tokens_for_local_replication_factor"]);
}

TEST(RenderCassandraYaml, MissingIdentityIsRefused) {
  auto s = Settings();
  s.seeds.clear();
  EXPECT_FALSE(RenderCassandraYaml(kBase, "", s, Keys()).ok());
  s = Settings();
  s.cluster_name.clear();
  EXPECT_FALSE(RenderCassandraYaml(kBase, "", s, Keys()).ok());
}

TEST(RenderCassandraYaml, Deterministic) {
  auto a = RenderCassandraYaml(kBase, "concurrent_reads: 2", Settings(), Keys());
  auto b = RenderCassandraYaml(kBase, "concurrent_reads: 2", Settings(), Keys());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, *b);
}

TEST(RenderRackDc, WritesDcAndRack) {
  EXPECT_EQ(RenderRackDc(Settings()),
            "# Rendered by ringkeeper-agent init.\ndc=dc-east\nrack=r1\nprefer_local=false\n");
}

TEST(DecideStartMode, Table) {
  auto s = Settings();
  EXPECT_EQ(DecideStartMode(false, s), StartMode::kExisting);
  EXPECT_EQ(DecideStartMode(true, s), StartMode::kFresh);
  s.member_joined_before = true;
  EXPECT_EQ(DecideStartMode(true, s), StartMode::kReplace);
  EXPECT_EQ(DecideStartMode(false, s), StartMode::kExisting);
  s.restore.backup = "b1";
  EXPECT_EQ(DecideStartMode(true, s), StartMode::kRestore);
}

TEST(HeapBytesFor, HalfClamped) {
  constexpr int64_t kMiB = 1 << 20;
  EXPECT_EQ(HeapBytesFor(int64_t{4} << 30), int64_t{2} << 30);
  EXPECT_EQ(HeapBytesFor(300 * kMiB), 256 * kMiB);
  EXPECT_EQ(HeapBytesFor(int64_t{64} << 30), int64_t{16} << 30);
  EXPECT_EQ(HeapBytesFor(1001 * kMiB + 7), 500 * kMiB);
}

TEST(JolokiaJarForJava, Java17AndLaterKeepTheJarJava11TakesItsSiblingJava8IsRefused) {
  const std::string jar = "/opt/ringkeeper/jolokia-agent.jar";
  const std::string java11 = "/opt/ringkeeper/jolokia-agent-java11.jar";
  EXPECT_EQ(*JolokiaJarForJava(jar, "17\n"), jar);
  EXPECT_EQ(*JolokiaJarForJava(jar, "21"), jar);
  EXPECT_EQ(*JolokiaJarForJava(jar, "11\n"), java11);
  // Unread (java failed in the base-config container): the jar that runs on any Java 11+.
  EXPECT_EQ(*JolokiaJarForJava(jar, ""), java11);
  EXPECT_EQ(*JolokiaJarForJava(jar, "garbage"), java11);
  const auto java8 = JolokiaJarForJava(jar, "1.8");
  EXPECT_TRUE(absl::IsFailedPrecondition(java8.status())) << java8.status();
  EXPECT_NE(java8.status().message().find("Java 1.8"), std::string::npos) << java8.status();
}

TEST(RenderJvmOptions, HeapJolokiaAndReplace) {
  auto s = Settings();
  s.jolokia_jar = "/opt/jolokia.jar";
  std::string fresh = RenderJvmOptions(s, int64_t{2} << 30, StartMode::kFresh);
  EXPECT_NE(std::string(fresh).find("-Xms1024m\n-Xmx1024m\n"), std::string::npos) << fresh;
  EXPECT_NE(std::string(fresh).find("-javaagent:/opt/jolokia.jar=host=127.0.0.1,port=8778"),
            std::string::npos)
      << fresh;
  EXPECT_EQ(std::string(fresh).find("replace_address"), std::string::npos);
  std::string replace = RenderJvmOptions(s, int64_t{2} << 30, StartMode::kReplace);
  EXPECT_NE(std::string(replace).find("-Dcassandra.replace_address_first_boot=10.0.0.3\n"),
            std::string::npos)
      << replace;
  s.heap_bytes = 512 << 20;
  EXPECT_NE(std::string(RenderJvmOptions(s, int64_t{8} << 30, StartMode::kFresh)).find("-Xmx512m"),
            std::string::npos)
      << RenderJvmOptions(s, int64_t{8} << 30, StartMode::kFresh);
}

TEST(RenderJvmOptions, APendingReplayReplaysTheRestoredTablesOnly) {
  auto s = Settings();
  EXPECT_EQ(RenderJvmOptions(s, int64_t{2} << 30, StartMode::kExisting).find("replayList"),
            std::string::npos);
  s.replay.run = "uid-1";
  s.replay.tables = {"pit.t", "pit.u"};
  const std::string jvm = RenderJvmOptions(s, int64_t{2} << 30, StartMode::kExisting);
  EXPECT_NE(jvm.find("-Dcassandra.replayList=pit.t,pit.u\n"), std::string::npos) << jvm;
}

}  // namespace
}  // namespace agent::config
