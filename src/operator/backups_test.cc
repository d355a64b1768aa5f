// The Backup reconciler over small fakes: the checks that fail a Backup before anything is
// taken, the nodes recorded before any agent is asked, progress and completion, an agent that
// forgets its operation, a node that fails, credentials that never reach the pods.
#include "operator/backups.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "backup/layout.h"
#include "gtest/gtest.h"
#include "kube/resource.h"
#include "kube/store.h"

namespace ringkeeper {
namespace {

namespace res = kube::resources;
using kube::Json;

constexpr char kNs[] = "ns";
const std::vector<std::string> kPods = {"c1-dc1-r1-0", "c1-dc1-r1-1", "c1-dc1-r1-2"};

// One pod's agent: backups run for `ticks` polls, then succeed (or fail with `fail`).
struct FakeAgentState {
  std::map<std::string, agent::api::Operation> ops;
  std::vector<agent::api::OperationRequest> started;
  int ticks = 1;
  std::string fail;              // the message a backup fails with
  bool credentials_unreadable = false;
};

class FakeAgent : public NodeAgent {
 public:
  explicit FakeAgent(FakeAgentState* s) : s_(s) {}
  absl::StatusOr<agent::api::NodeInfo> NodeInfo() override { return agent::api::NodeInfo{}; }
  absl::StatusOr<agent::api::Ring> Ring() override { return agent::api::Ring{}; }
  absl::StatusOr<agent::api::ConfigKeys> ConfigKeys() override {
    return absl::NotFoundError("none");
  }
  absl::StatusOr<agent::api::Operation> Start(const agent::api::OperationRequest& r) override {
    if (s_->credentials_unreadable) {
      return absl::UnavailableError(
          "the storage location's credentials are not readable yet: no such file");
    }
    for (const auto& [id, op] : s_->ops) {
      if (op.backup == r.backup && op.state != agent::api::kStateFailed) return op;
    }
    s_->started.push_back(r);
    agent::api::Operation op;
    op.id = absl::StrCat("backup-", s_->started.size());
    op.kind = r.kind;
    op.backup = r.backup;
    op.state = agent::api::kStateRunning;
    s_->ops[op.id] = op;
    return op;
  }
  absl::StatusOr<agent::api::Operation> Operation(const std::string& id) override {
    auto it = s_->ops.find(id);
    if (it == s_->ops.end()) return absl::NotFoundError("no operation " + id);
    agent::api::Operation& op = it->second;
    if (op.state == agent::api::kStateRunning) {
      op.files_done += 5;
      op.files_skipped += 2;
      op.bytes_total += 1000;
      op.bytes_sent += 400;
      if (--s_->ticks <= 0) {
        op.state = s_->fail.empty() ? agent::api::kStateSucceeded : agent::api::kStateFailed;
        op.message = s_->fail;
        op.files_total = op.files_done;
        op.manifest = absl::StrCat("c1/pod/manifests/", op.backup, ".json");
      }
    }
    return op;
  }

 private:
  FakeAgentState* s_;
};

class FakeWorld : public ObjectReader,
                  public ObjectWriter,
                  public StatusWriter,
                  public EventSink,
                  public NodeAgents,
                  public Clock,
                  public BackupStorage {
 public:
  // ObjectReader: Secrets.
  absl::StatusOr<kube::Object> Get(const kube::Resource& r, const std::string& ns,
                                   const std::string& name) override {
    auto it = secrets.find(name);
    if (r.kind != "Secret" || ns != kNs || it == secrets.end()) {
      return absl::NotFoundError(name + " not found");
    }
    return kube::Object(it->second);
  }
  absl::StatusOr<kube::Object> Apply(const kube::Resource& r, const Json& object) override {
    applied.push_back(r.kind + "/" + object["metadata"]["name"].get<std::string>());
    secrets[object["metadata"]["name"].get<std::string>()] = object;
    return kube::Object(object);
  }
  absl::StatusOr<kube::Object> Create(const kube::Resource& r, const Json& object) override {
    return Apply(r, object);
  }
  absl::Status Delete(const kube::Resource&, const std::string&, const std::string&,
                      const std::string&, Deletion) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<kube::Object> UpdateStatus(const kube::Resource& r,
                                            const kube::Object& object) override {
    if (r.kind != "Backup") return absl::InvalidArgumentError("not a Backup");
    ++status_writes;
    Json j = object.json();
    j["metadata"]["resourceVersion"] = std::to_string(++resource_version);
    backups.Upsert(std::make_shared<const kube::Object>(j));
    return kube::Object(j);
  }
  void Event(const kube::Object&, bool warning, const std::string& reason,
             const std::string& message) override {
    events.push_back(absl::StrCat(warning ? "Warning " : "Normal ", reason, ": ", message));
  }
  std::shared_ptr<NodeAgent> For(const std::string& address, const std::string& token) override {
    EXPECT_EQ(token, "agent-token");
    return std::make_shared<FakeAgent>(&agents[address]);
  }
  absl::Time Now() const override { return now; }
  absl::Status Put(const S3LocationSpec& location, const StorageCredentials& credentials,
                   const std::string& key, const std::string& body) override {
    EXPECT_EQ(credentials.access_key_id, "AKID");
    if (!put_error.ok()) return put_error;
    stored[location.bucket + "/" + key] = body;
    return absl::OkStatus();
  }

  static Json SecretOf(const std::string& name, std::map<std::string, std::string> data) {
    Json d = Json::object();
    for (const auto& [k, v] : data) d[k] = absl::Base64Escape(v);
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}, {"namespace", kNs}}},
            {"data", d}};
  }

  void AddCluster(bool ready) {
    Json members = Json::array();
    for (const auto& pod : kPods) members.push_back({{"pod", pod}, {"rack", "r1"}, {"state", "UN"}});
    Json cluster = {
        {"apiVersion", "cassandra.rook.io/v1alpha1"},
        {"kind", "Cluster"},
        {"metadata", {{"name", "c1"}, {"namespace", kNs}, {"uid", "cu1"}, {"resourceVersion", "1"}}},
        {"spec",
         {{"version", "5.0.9"},
          {"dataCenter",
           {{"name", "dc1"},
            {"racks", {{{"name", "r1"}, {"members", 3}}}}}},
          {"storageLocations",
           {{{"name", "versity"},
             {"s3",
              {{"endpoint", "http://10.244.0.1:7070"},
               {"bucket", "backups"},
               {"prefix", "team"},
               {"credentialsSecret", {{"name", "s3-creds"}}}}}}}}}},
        {"status",
         {{"dataCenters", {{{"name", "dc1"}, {"members", members}}}},
          {"conditions",
           {{{"type", "Ready"},
             {"status", ready ? "True" : "False"},
             {"reason", ready ? "AllMembersUp" : "MembersNotUp"},
             {"message", ready ? "" : "1 of 3 members down"}}}}}}};
    clusters.Upsert(std::make_shared<const kube::Object>(cluster));
    for (size_t i = 0; i < kPods.size(); ++i) {
      pods.Upsert(std::make_shared<const kube::Object>(
          Json{{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata", {{"name", kPods[i]}, {"namespace", kNs}}},
               {"status", {{"podIP", absl::StrCat("10.244.0.", 10 + i)}}}}));
    }
  }

  void AddBackup(const std::string& location = "versity") {
    backups.Upsert(std::make_shared<const kube::Object>(
        Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
             {"kind", "Backup"},
             {"metadata",
              {{"name", "b1"}, {"namespace", kNs}, {"uid", "bu1"}, {"resourceVersion", "1"}}},
             {"spec", {{"cluster", "c1"}, {"storageLocation", location}}}}));
  }

  Json Status() const { return backups.Get("ns/b1")->json()["status"]; }
  size_t Asked() const {
    size_t n = 0;
    for (const auto& [ip, a] : agents) n += a.started.size();
    return n;
  }

  kube::Store backups, clusters, pods;
  std::map<std::string, Json> secrets = {
      {"s3-creds", SecretOf("s3-creds", {{"accessKeyId", "AKID"}, {"secretAccessKey", "SK"}})},
      {"c1-agent-token", SecretOf("c1-agent-token", {{"token", "agent-token"}})}};
  std::map<std::string, FakeAgentState> agents;  // by pod IP
  std::map<std::string, std::string> stored;     // bucket/key -> body
  absl::Status put_error;
  std::vector<std::string> applied, events;
  int status_writes = 0;
  int64_t resource_version = 10;
  absl::Time now = absl::FromUnixSeconds(1796400000);
};

std::unique_ptr<BackupReconciler> NewReconciler(FakeWorld& w) {
  Seams seams{&w, &w, &w, &w, &w, nullptr, &w};
  return std::make_unique<BackupReconciler>(seams, &w,
                                            BackupCaches{&w.backups, &w.clusters, &w.pods});
}

class BackupReconcilerTest : public ::testing::Test {
 protected:
  std::unique_ptr<BackupReconciler> NewReconciler() { return ringkeeper::NewReconciler(w_); }
  absl::StatusOr<kube::Result> Pass() { return reconciler_->Reconcile({kNs, "b1"}); }

  FakeWorld w_;
  std::unique_ptr<BackupReconciler> reconciler_ = NewReconciler();
};

TEST_F(BackupReconcilerTest, NodesRecordedFirstThenAskedThenIndexWrittenLast) {
  w_.AddCluster(true);
  w_.AddBackup();
  ASSERT_TRUE(Pass().ok());
  // The record comes before any action: a crash here loses nothing.
  EXPECT_EQ(w_.Status()["phase"], "Running");
  ASSERT_EQ(w_.Status()["nodes"].size(), 3u);
  EXPECT_EQ(w_.Asked(), 0u);

  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Asked(), 3u);
  ASSERT_EQ(w_.applied, std::vector<std::string>{"Secret/c1-storage-credentials"});
  std::string file;
  ASSERT_TRUE(absl::Base64Unescape(
      w_.secrets["c1-storage-credentials"]["data"]["versity"].get<std::string>(), &file));
  EXPECT_EQ(file, "AKID\nSK\n");
  const agent::api::OperationRequest& asked = w_.agents["10.244.0.10"].started[0];
  EXPECT_EQ(asked.backup, "b1");
  EXPECT_EQ(asked.location.endpoint, "http://10.244.0.1:7070");
  EXPECT_EQ(asked.location.bucket, "backups");
  EXPECT_EQ(asked.location.prefix, "team");
  EXPECT_EQ(asked.location.credentials_file, "/etc/ringkeeper/storage/versity");
  for (const Json& n : w_.Status()["nodes"]) EXPECT_EQ(n["phase"], "Running") << n;
  EXPECT_TRUE(w_.stored.empty());

  ASSERT_TRUE(Pass().ok());  // every agent reports success
  const Json s = w_.Status();
  EXPECT_EQ(s["phase"], "Complete");
  EXPECT_EQ(s["bytes"], 3000);
  EXPECT_EQ(s["bytesSent"], 1200);
  EXPECT_EQ(s["index"], "s3://backups/team/c1/backups/b1.json");
  EXPECT_EQ(s["conditions"][0]["type"], "Complete");
  EXPECT_EQ(s["conditions"][0]["status"], "True");
  ASSERT_EQ(w_.stored.count("backups/team/c1/backups/b1.json"), 1u);
  auto index = backup::ParseIndex(w_.stored["backups/team/c1/backups/b1.json"]);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->nodes.size(), 3u);
  EXPECT_EQ(index->nodes[0].manifest, "c1/pod/manifests/b1.json");
  EXPECT_EQ(index->bytes, 3000);
  EXPECT_TRUE(absl::StrContains(w_.events.back(), "BackupComplete"));

  // Finished: the next pass reads nothing from the agents and writes nothing.
  const int writes = w_.status_writes;
  auto done = Pass();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->requeue_after, absl::ZeroDuration());
  EXPECT_EQ(w_.status_writes, writes);
  EXPECT_EQ(w_.Asked(), 3u);
}

TEST_F(BackupReconcilerTest, ASuccessorCarriesOnFromTheRecordAndAnAgentThatForgotIsAskedAgain) {
  w_.AddCluster(true);
  w_.AddBackup();
  for (const char* ip : {"10.244.0.10", "10.244.0.11", "10.244.0.12"}) w_.agents[ip].ticks = 3;
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(w_.Asked(), 3u);
  // The operator restarts (a new reconciler, nothing in memory) and one agent restarted too.
  reconciler_ = NewReconciler();
  w_.agents["10.244.0.11"].ops.clear();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.agents["10.244.0.10"].started.size(), 1u);  // not asked twice
  EXPECT_EQ(w_.Status()["nodes"][1]["phase"], "Pending");
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.agents["10.244.0.11"].started.size(), 2u);  // asked again
  for (int i = 0; i < 5 && w_.Status()["phase"] != "Complete"; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Status()["phase"], "Complete");
  EXPECT_EQ(w_.stored.size(), 1u);
}

TEST(BackupChecksTest, ChecksFailTheBackupWithTheReasonBeforeAnythingIsTaken) {
  struct Case {
    const char* name;
    std::function<void(FakeWorld&)> setup;
    const char* reason;
    const char* message_part;
  };
  const Case cases[] = {
      {"no cluster", [](FakeWorld& w) { w.AddBackup(); }, reason::kClusterNotFound,
       "Cluster c1 not found in namespace ns"},
      {"no location",
       [](FakeWorld& w) {
         w.AddCluster(true);
         w.AddBackup("elsewhere");
       },
       reason::kStorageLocationNotFound, "no storage location \"elsewhere\" (it has: versity)"},
      {"not ready",
       [](FakeWorld& w) {
         w.AddCluster(false);
         w.AddBackup();
       },
       reason::kClusterNotReady, "1 of 3 members down"},
      {"no credentials",
       [](FakeWorld& w) {
         w.AddCluster(true);
         w.AddBackup();
         w.secrets.erase("s3-creds");
       },
       reason::kCredentialsNotFound, "Secret s3-creds"},
      {"a key missing",
       [](FakeWorld& w) {
         w.AddCluster(true);
         w.AddBackup();
         w.secrets["s3-creds"] = FakeWorld::SecretOf("s3-creds", {{"accessKeyId", "AKID"}});
       },
       reason::kCredentialsNotFound, "secretAccessKey"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeWorld w_;
    auto reconciler = NewReconciler(w_);
    c.setup(w_);
    auto result = reconciler->Reconcile({kNs, "b1"});
    ASSERT_TRUE(result.ok()) << result.status();
    const Json s = w_.Status();
    EXPECT_EQ(s["phase"], "Failed");
    EXPECT_EQ(s["reason"], c.reason);
    EXPECT_TRUE(absl::StrContains(s["message"].get<std::string>(), c.message_part)) << s;
    EXPECT_EQ(s["conditions"][1]["type"], "Failed");
    EXPECT_EQ(s["conditions"][1]["status"], "True");
    EXPECT_EQ(w_.Asked(), 0u);
    EXPECT_TRUE(w_.stored.empty());
    EXPECT_TRUE(w_.applied.empty());
    ASSERT_FALSE(w_.events.empty());
    EXPECT_TRUE(absl::StartsWith(w_.events.back(), "Warning BackupFailed")) << w_.events.back();
    EXPECT_EQ(result->requeue_after, absl::ZeroDuration());
  }
}

TEST_F(BackupReconcilerTest, ANodeThatFailsFailsTheBackupAndNoIndexIsWritten) {
  w_.AddCluster(true);
  w_.AddBackup();
  w_.agents["10.244.0.12"].fail = "backup: no such bucket: backups";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  const Json s = w_.Status();
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["reason"], reason::kNodeBackupFailed);
  EXPECT_EQ(s["message"], "c1-dc1-r1-2: backup: no such bucket: backups");
  EXPECT_EQ(s["nodes"][2]["phase"], "Failed");
  EXPECT_TRUE(w_.stored.empty());
}

TEST_F(BackupReconcilerTest, AnIndexThatCannotBeWrittenIsRetriedNeverTakenForComplete) {
  w_.AddCluster(true);
  w_.AddBackup();
  w_.put_error = absl::UnavailableError("connection refused");
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(Pass().ok());
  auto third = Pass();
  EXPECT_FALSE(third.ok());  // retried with backoff
  EXPECT_EQ(w_.Status()["phase"], "Running");
  w_.put_error = absl::OkStatus();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Status()["phase"], "Complete");
}

TEST_F(BackupReconcilerTest, CredentialsThatNeverReachThePodsFailTheBackupAfterTheBound) {
  w_.AddCluster(true);
  w_.AddBackup();
  for (auto ip : {"10.244.0.10", "10.244.0.11", "10.244.0.12"}) {
    w_.agents[ip].credentials_unreadable = true;
  }
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Status()["phase"], "Running");  // kubelet may refresh the volume yet
  EXPECT_TRUE(absl::StrContains(w_.Status()["nodes"][0]["message"].get<std::string>(),
                                "not readable yet"));
  w_.now += absl::Minutes(5);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Status()["phase"], "Failed");
  EXPECT_EQ(w_.Status()["reason"], reason::kCredentialsNotMounted);
}

}  // namespace
}  // namespace ringkeeper
