#include "agent/server/server.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "agent/node/fake_node_control.h"
#include "agent/server/serving_for_test.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace agent::server {
namespace {

using json = nlohmann::json;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = std::filesystem::temp_directory_path() / "rk-agent-token";
    std::ofstream(token_file_) << "s3cret\n";
    ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 18090 + (getpid() % 1000);
    o.token_file = token_file_.string();
    o.cluster = "c";
    keys_file_ = std::filesystem::temp_directory_path() / "rk-agent-config-keys";
    std::filesystem::remove(keys_file_);
    o.config_keys_file = keys_file_.string();
    locations_ =
        std::filesystem::temp_directory_path() / ("rk-agent-locations-" + std::to_string(getpid()));
    std::filesystem::create_directories(locations_ / "fs1");
    o.locations_dir = locations_.string();
    conf_dir_ = locations_ / "conf";
    std::filesystem::create_directories(conf_dir_);
    std::ofstream(conf_dir_ / "cassandra.yaml")
        << "cluster_name: c\nseed_provider:\n- class_name: "
           "org.apache.cassandra.locator.SimpleSeedProvider\n  parameters:\n  - seeds: "
           "10.0.0.1,10.0.0.2\nnum_tokens: 16\n";
    o.conf_dir = conf_dir_.string();
    options_ = o;
    port_ = o.port;
    serving_ = std::make_unique<ServingForTest>(o, &node_, [this] { return schema_; });
  }
  void TearDown() override {
    node_.Release();
    serving_.reset();
    std::filesystem::remove_all(locations_);
  }
  httplib::Result Get(const std::string& path, const std::string& token = "s3cret") {
    httplib::Client c("127.0.0.1", port_);
    return c.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
  }
  httplib::Result Post(const std::string& path, const std::string& body,
                       const std::string& token = "s3cret") {
    httplib::Client c("127.0.0.1", port_);
    return c.Post(path.c_str(), {{"Authorization", "Bearer " + token}}, body, "application/json");
  }

  // The state of the operation `started` (a POST kOperations answer) once it left running,
  // polled for at most 5 s ("running" when it did not end by then).
  std::string StateWhenDone(const httplib::Result& started) {
    const std::string path =
        std::string(api::kOperations) + "/" + json::parse(started->body)["id"].get<std::string>();
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    std::string state = json::parse(Get(path)->body)["state"];
    while (state == api::kStateRunning && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
      state = json::parse(Get(path)->body)["state"];
    }
    return state;
  }

  httplib::Result Put(const std::string& path, const std::string& body,
                      const std::string& token = "s3cret") {
    httplib::Client c("127.0.0.1", port_);
    return c.Put(path.c_str(), {{"Authorization", "Bearer " + token}}, body, "application/json");
  }
  std::string ConfFile() {
    std::ifstream in(conf_dir_ / "cassandra.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  node::FakeNodeControl node_;
  ServerOptions options_;
  std::filesystem::path conf_dir_;
  absl::StatusOr<cql::SchemaVersions> schema_ = absl::UnavailableError("cql: connect refused");
  std::filesystem::path token_file_, keys_file_, locations_;
  int port_;
  std::unique_ptr<ServingForTest> serving_;
};

TEST_F(ServerTest, WrongOrMissingTokenIs401AndNothingIsDone) {
  auto r = Post(api::kOperations, R"({"kind":"decommission"})", "wrong");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  httplib::Client c("127.0.0.1", port_);
  EXPECT_EQ(c.Get(api::kRing)->status, 401);
  EXPECT_EQ(c.Get("/nope")->status, 401);  // unknown routes do not leak either
  EXPECT_EQ(node_.decommissions.load(), 0);
  EXPECT_EQ(Get(api::kRing)->status, 200);
}

// The operator's way to make a same-address replacement learn the ring: its peers list it as a
// seed for a while (api::SeedList).
TEST_F(ServerTest, SeedsAreWrittenToCassandraYamlAndReloaded) {
  const std::string before = ConfFile();
  EXPECT_EQ(Put(api::kSeeds, R"({"seeds":["10.0.0.1","10.0.0.2","10.0.0.9"]})", "wrong")->status,
            401);
  EXPECT_EQ(ConfFile(), before);
  node_.seeds_now = {"10.0.0.2:7000", "10.0.0.9:7000"};
  auto r = Put(api::kSeeds, R"({"seeds":["10.0.0.1","10.0.0.2","10.0.0.9"]})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["seeds"], json::array({"10.0.0.2:7000", "10.0.0.9:7000"}));
  EXPECT_EQ(node_.seed_reloads, 1);
  const std::string after = ConfFile();
  EXPECT_NE(after.find("seeds: 10.0.0.1,10.0.0.2,10.0.0.9"), std::string::npos) << after;
  EXPECT_NE(after.find("num_tokens: 16"), std::string::npos) << after;
  EXPECT_FALSE(std::filesystem::exists(conf_dir_ / "cassandra.yaml.ringkeeper-tmp"));
  // Told the same again (the operator repeats itself on every pass): same file, reloaded.
  r = Put(api::kSeeds, R"({"seeds":["10.0.0.1","10.0.0.2","10.0.0.9"]})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(ConfFile(), after);
  EXPECT_EQ(node_.seed_reloads, 2);
  // Bad input: refused by name, nothing written, nothing reloaded.
  for (const std::string bad : {R"({"seeds":[]})", R"({"seeds":["10.0.0.1,10.0.0.5"]})",
                                R"({"seeds":["x y"]})", R"({"seeds":"10.0.0.1"})", "{"}) {
    auto refused = Put(api::kSeeds, bad);
    EXPECT_EQ(refused->status, 400) << bad << ": " << refused->body;
  }
  EXPECT_EQ(ConfFile(), after);
  EXPECT_EQ(node_.seed_reloads, 2);
  // Cassandra down: the file is what it starts with next, and the answer says it did not reload.
  node_.reachable = false;
  r = Put(api::kSeeds, R"({"seeds":["10.0.0.1"]})");
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("seeds written; reload"), std::string::npos) << r->body;
  EXPECT_NE(ConfFile().find("seeds: 10.0.0.1\n"), std::string::npos) << ConfFile();
}

TEST_F(ServerTest, SeedsNeedTheConfFolder) {
  ServerOptions o = options_;
  o.conf_dir = "";
  o.port = port_ + 1;
  ServingForTest other(o, &node_);
  httplib::Client c("127.0.0.1", port_ + 1);
  auto r = c.Put(api::kSeeds, {{"Authorization", "Bearer s3cret"}}, R"({"seeds":["10.0.0.1"]})",
                 "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_NE(r->body.find("--conf-dir"), std::string::npos) << r->body;
  EXPECT_EQ(node_.seed_reloads, 0);
}

// The operator's way to a filesystem location: only with the token, only under the mounts.
TEST_F(ServerTest, StorageServesMountedFilesystemLocationsOnly) {
  const std::string location = json{{"path", (locations_ / "fs1").string()}}.dump();
  auto put = Post(
      api::kStorage,
      R"({"op":"put","key":"c/backups/b.json","body_base64":"e30=","location":)" + location + "}",
      "wrong");
  EXPECT_EQ(put->status, 401);
  EXPECT_FALSE(std::filesystem::exists(locations_ / "fs1" / "c"));
  put = Post(
      api::kStorage,
      R"({"op":"put","key":"c/backups/b.json","body_base64":"e30=","location":)" + location + "}");
  ASSERT_EQ(put->status, 200) << put->body;
  auto get =
      Post(api::kStorage, R"({"op":"get","key":"c/backups/b.json","location":)" + location + "}");
  ASSERT_EQ(get->status, 200) << get->body;
  EXPECT_EQ(json::parse(get->body)["body_base64"], "e30=");  // "{}"
  auto list = Post(api::kStorage, R"({"op":"list","prefix":"c/","location":)" + location + "}");
  ASSERT_EQ(list->status, 200) << list->body;
  const json objects = json::parse(list->body)["objects"];
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0]["key"], "c/backups/b.json");
  EXPECT_EQ(objects[0]["size"], 2);
  EXPECT_EQ(objects[0]["etag"], "99914b932bd37a50b983c5e7c90ae93b");  // MD5 of "{}"
  auto missing = Post(api::kStorage, R"({"op":"get","key":"c/none","location":)" + location + "}");
  EXPECT_EQ(missing->status, 404);
  auto del = Post(api::kStorage,
                  R"({"op":"delete","keys":["c/backups/b.json"],"location":)" + location + "}");
  ASSERT_EQ(del->status, 200) << del->body;
  EXPECT_FALSE(std::filesystem::exists(locations_ / "fs1" / "c" / "backups" / "b.json"));
  // Anywhere else in the container, an S3 location, a key that climbs out: refused.
  for (const std::string& bad : std::vector<std::string>{
           R"({"op":"get","key":"etc/passwd","location":{"path":"/"}})",
           R"({"op":"get","key":"x","location":{"path":")" + locations_.string() + R"(/../x"}})",
           R"({"op":"get","key":"x","location":{"path":")" + locations_.string() + R"("}})",
           R"({"op":"get","key":"x","location":{"endpoint":"http://s3","bucket":"b"}})",
           R"({"op":"get","key":"../../x","location":)" + location + "}",
           R"({"op":"chmod","key":"x","location":)" + location + "}"}) {
    auto r = Post(api::kStorage, bad);
    EXPECT_EQ(r->status, 400) << bad << ": " << r->body;
  }
}

TEST_F(ServerTest, RangesOfAKeyspace) {
  auto r = Get(std::string(api::kRanges) + "?keyspace=ks");
  ASSERT_EQ(r->status, 200) << r->body;
  const api::RangeMap map = json::parse(r->body).get<api::RangeMap>();
  ASSERT_EQ(map.ranges.size(), 1u);
  EXPECT_EQ(map.ranges[0].endpoints, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(Get(std::string(api::kRanges) + "?keyspace=nope")->status, 404);
  EXPECT_EQ(Get(api::kRanges)->status, 400);
  EXPECT_EQ(Get(std::string(api::kRanges) + "?keyspace=ks", "wrong")->status, 401);
}

TEST_F(ServerTest, HealthAndMetricsAreAnonymous) {
  httplib::Client c("127.0.0.1", port_);
  EXPECT_EQ(c.Get(api::kHealthz)->status, 200);
  auto m = c.Get(api::kMetrics);
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("x{cluster=\"c\",datacenter=\"\",rack=\"\",pod=\"\"} 1"),
            std::string::npos);
  EXPECT_EQ(c.Get(api::kReadyz)->status, 200);  // single-node ring, UN
}

TEST_F(ServerTest, UnknownRouteIs404) {
  auto r = Get("/v1/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("no route GET /v1/nope"), std::string::npos);
  EXPECT_EQ(Get(std::string(api::kOperations) + "/repair-99")->status, 404);
}

TEST_F(ServerTest, SecondDecommissionIs409) {
  auto first = Post(api::kOperations, R"({"kind":"decommission"})");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 202);
  auto second = Post(api::kOperations, R"({"kind":"decommission"})");
  EXPECT_EQ(second->status, 409);
  EXPECT_EQ(Post(api::kOperations, R"({"kind":"drain"})")->status, 409);
  node_.Release();
  EXPECT_EQ(StateWhenDone(first), api::kStateSucceeded);
}

TEST_F(ServerTest, StoppedRepairEndsStoppedNotSucceeded) {
  node_.repair_runs = true;
  auto repair = Post(api::kOperations, R"({"kind":"repair","keyspace":"ks"})");
  ASSERT_EQ(repair->status, 202);
  const std::string id = json::parse(repair->body)["id"];
  const std::string path = std::string(api::kOperations) + "/" + id;
  auto state = [&] { return json::parse(Get(path)->body)["state"].get<std::string>(); };
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(state(), api::kStateRunning);
  ASSERT_EQ(Post(api::kOperations, R"({"kind":"stop_repairs"})")->status, 202);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (state() == api::kStateRunning && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  auto op = json::parse(Get(path)->body).get<api::Operation>();
  EXPECT_EQ(op.state, api::kStateStopped);
  EXPECT_EQ(op.message, "Terminate session is called");
  EXPECT_EQ(op.repair_command, 7);
}

// A repair asked twice for the same run (the operator did not record the first answer) is one
// repair; a preview's result is read into the operation.
TEST_F(ServerTest, RepairOfOneRunStartsOnceAndReportsItsPreview) {
  node_.repair_result =
      "Repair preview completed successfully; Preview complete\n"
      "Total estimated streaming: 4 ranges, 2 sstables, 2.000KiB bytes\n"
      "ks.t - 4 ranges, 2 sstables, 2.000KiB bytes\n";
  const std::string body =
      R"({"kind":"repair","keyspace":"ks","ranges":["-5:7"],"repair_type":"preview",)"
      R"("datacenters":["dc1"],"run":"uid-1/ks/3/1"})";
  auto first = Post(api::kOperations, body);
  ASSERT_EQ(first->status, 202) << first->body;
  const std::string id = json::parse(first->body)["id"];
  const std::string path = std::string(api::kOperations) + "/" + id;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (json::parse(Get(path)->body)["state"] == api::kStateRunning && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  auto again = Post(api::kOperations, body);
  ASSERT_EQ(again->status, 202);
  EXPECT_EQ(json::parse(again->body)["id"], id);
  ASSERT_EQ(node_.repairs.size(), 1u);
  EXPECT_EQ(node_.repairs[0].type, api::kRepairPreview);
  EXPECT_EQ(node_.repairs[0].datacenters, std::vector<std::string>{"dc1"});
  EXPECT_EQ(node_.repairs[0].ranges, std::vector<std::string>{"-5:7"});
  auto op = json::parse(Get(path)->body).get<api::Operation>();
  EXPECT_EQ(op.state, api::kStateSucceeded);
  EXPECT_TRUE(op.preview.done);
  EXPECT_EQ(op.preview.ranges, 4);
  EXPECT_EQ(op.preview.bytes, 2048);
  EXPECT_EQ(op.preview.tables, std::vector<std::string>{"ks.t"});
  // Another run (the next attempt) is another repair.
  auto next = Post(api::kOperations, R"({"kind":"repair","keyspace":"ks","run":"uid-1/ks/3/2"})");
  ASSERT_EQ(next->status, 202);
  EXPECT_NE(json::parse(next->body)["id"], id);
}

TEST_F(ServerTest, RebuildStreamsFromItsSourceDataCenterWhichItNeeds) {
  auto bad = Post(api::kOperations, R"({"kind":"rebuild"})");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("source_dc"), std::string::npos) << bad->body;
  auto r = Post(api::kOperations, R"({"kind":"rebuild","source_dc":"dc1"})");
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(StateWhenDone(r), api::kStateSucceeded);
  EXPECT_EQ(node_.RebuiltFrom(), "dc1");
}

// A whole data center leaving: the operator asks past Cassandra's RF check, for a decommission
// only (force on anything else is refused, nothing started).
TEST_F(ServerTest, ForcedDecommissionReachesTheNodeAndForceIsForDecommissionOnly) {
  auto bad = Post(api::kOperations, R"({"kind":"drain","force":true})");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("applies to decommission only"), std::string::npos) << bad->body;
  auto r = Post(api::kOperations, R"({"kind":"decommission","force":true})");
  ASSERT_EQ(r->status, 202) << r->body;
  node_.Release();
  EXPECT_EQ(StateWhenDone(r), api::kStateSucceeded);
  EXPECT_EQ(node_.decommissions.load(), 1);
  EXPECT_EQ(node_.forced_decommissions.load(), 1);
}

TEST_F(ServerTest, UpgradeSSTablesReachesTheNodeForOneOrEveryKeyspace) {
  for (const char* body :
       {R"({"kind":"upgrade_sstables","keyspace":"ks"})", R"({"kind":"upgrade_sstables"})"}) {
    auto r = Post(api::kOperations, body);
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_EQ(StateWhenDone(r), api::kStateSucceeded);
  }
  EXPECT_EQ(node_.SSTablesUpgraded(), (std::vector<std::string>{"ks", ""}));
}

TEST_F(ServerTest, RepairOfUnknownTypeIs400) {
  auto r = Post(api::kOperations, R"({"kind":"repair","keyspace":"ks","repair_type":"quick"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("quick"), std::string::npos);
}

TEST_F(ServerTest, MalformedJsonIs400NamingTheProblem) {
  auto r = Post(api::kOperations, R"({"kind": )");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("malformed JSON"), std::string::npos);
  r = Post(api::kOperations, R"({"kind": 5})");
  EXPECT_EQ(r->status, 400);
  r = Post(api::kOperations, R"({"kind": "explode"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("explode"), std::string::npos);
  r = Post(api::kOperations, R"({"kind": "snapshot"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("tag"), std::string::npos);
}

TEST_F(ServerTest, NotReadyUntilCqlServes) {
  node_.cql_serving = false;  // UN already, native transport not yet open
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Get(api::kReadyz);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("CQL not serving"), std::string::npos) << r->body;
  node_.cql_serving = true;
  EXPECT_EQ(c.Get(api::kReadyz)->status, 200);
}

TEST_F(ServerTest, NodeUnreachableIs503WithReason) {
  node_.reachable = false;
  auto r = Get(api::kNodeInfo);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("unreachable"), std::string::npos);
  httplib::Client c("127.0.0.1", port_);
  EXPECT_EQ(c.Get(api::kReadyz)->status, 503);
}

TEST_F(ServerTest, ConfigKeysAreWhatInitWroteSortedAndNeedTheToken) {
  EXPECT_EQ(Get(api::kConfigKeys)->status, 404);  // init wrote none (yet)
  std::ofstream(keys_file_) << "num_tokens\nconcurrent_reads\n\n";
  auto r = Get(api::kConfigKeys);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body).get<api::ConfigKeys>().keys,
            (std::vector<std::string>{"concurrent_reads", "num_tokens"}));
  EXPECT_EQ(Get(api::kConfigKeys, "wrong")->status, 401);
}

TEST_F(ServerTest, SchemaAgreementCountsLivePeersOnly) {
  EXPECT_EQ(Get(api::kSchema)->status, 503);  // CQL unreachable
  node_.extra_endpoints = {{"127.0.0.2", "dc1", "r1", "U", "N", "h2", 1, 0, 16},
                           {"127.0.0.3", "dc1", "r1", "D", "N", "h3", 1, 0, 16}};
  schema_ = cql::SchemaVersions{"v1", {{"127.0.0.2", "v1"}, {"127.0.0.3", "v0"}}};
  auto r = Get(api::kSchema);
  ASSERT_EQ(r->status, 200);
  auto agreement = json::parse(r->body).get<api::SchemaAgreement>();
  EXPECT_TRUE(agreement.agreed);  // 127.0.0.3 differs but is down
  EXPECT_EQ(agreement.peer_versions.size(), 2u);
  schema_ = cql::SchemaVersions{"v2", {{"127.0.0.2", "v1"}, {"127.0.0.3", "v0"}}};
  agreement = json::parse(Get(api::kSchema)->body).get<api::SchemaAgreement>();
  EXPECT_FALSE(agreement.agreed);
  EXPECT_EQ(agreement.disagreeing, std::vector<std::string>{"127.0.0.2"});
  httplib::Client c("127.0.0.1", port_);
  EXPECT_EQ(c.Get(api::kSchema)->status, 401);
}

TEST(TokenMatches, ConstantTimeCompare) {
  EXPECT_TRUE(Server::TokenMatches("abc", "abc"));
  EXPECT_FALSE(Server::TokenMatches("abd", "abc"));
  EXPECT_FALSE(Server::TokenMatches("", ""));
  EXPECT_FALSE(Server::TokenMatches("abcd", "abc"));
}

}  // namespace
}  // namespace agent::server
