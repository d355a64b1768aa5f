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
#include "operator/testing/storage_world.h"

namespace ringkeeper {
namespace {

using testing::FakeWorld;
using testing::kNs;
using testing::kPods;

namespace res = kube::resources;
using kube::Json;

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
  const Json status = w_.Status();  // a range-for over a temporary's member would dangle
  for (const Json& n : status["nodes"]) EXPECT_EQ(n["phase"], "Running") << n;
  EXPECT_EQ(w_.stored.count("backups/team/c1/backups/b1.json"), 0u);  // no index yet

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
  EXPECT_EQ(index->nodes[0].manifest, "team/c1/c1-dc1-r1-0/manifests/b1.json");
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

// The operator mounts no volume: a filesystem location's index and manifests go through the
// members' agents, which write the files themselves.
TEST_F(BackupReconcilerTest, AFilesystemLocationIsReachedThroughTheAgents) {
  w_.AddCluster(true);
  w_.AddFilesystemLocation();
  w_.AddBackup("nfs");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  const agent::api::OperationRequest& asked = w_.agents["10.244.0.10"].started[0];
  EXPECT_EQ(asked.location.path, "/var/lib/ringkeeper/locations/nfs");
  EXPECT_EQ(asked.location.prefix, "team");
  EXPECT_EQ(asked.location.endpoint, "");
  EXPECT_EQ(asked.location.credentials_file, "");
  const Json s = w_.Status();
  ASSERT_EQ(s["phase"], "Complete") << s;
  EXPECT_EQ(s["index"], "filesystem://nfs/team/c1/backups/b1.json");
  EXPECT_EQ(w_.stored.count("/var/lib/ringkeeper/locations/nfs/team/c1/backups/b1.json"), 1u);
  EXPECT_EQ(s["verification"]["passed"], true) << s;
  EXPECT_GT(w_.agents["10.244.0.10"].storage_calls, 0) << "the first member answers";
  EXPECT_EQ(w_.agents["10.244.0.11"].storage_calls, 0);
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
  EXPECT_EQ(w_.stored.count("backups/team/c1/backups/b1.json"), 1u);
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
  EXPECT_EQ(w_.stored.count("backups/team/c1/backups/b1.json"), 0u);  // no index
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

// A file a manifest lists but the location lacks (purged beside the backup): the backup fails,
// never taken for complete.
TEST_F(BackupReconcilerTest, AFileListedButNotStoredFailsTheBackup) {
  w_.AddCluster(true);
  w_.AddBackup();
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(Pass().ok());
  // The agents succeed on the next poll; one of their files is then gone.
  w_.put_error = absl::UnavailableError("held");  // the index cannot be written this pass
  EXPECT_FALSE(Pass().ok());
  for (auto it = w_.stored.begin(); it != w_.stored.end(); ++it) {
    if (it->first.find("/c1-dc1-r1-1/data/") != std::string::npos) {
      w_.stored.erase(it);
      break;
    }
  }
  w_.put_error = absl::OkStatus();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Status()["phase"], "Failed");
  EXPECT_TRUE(absl::StrContains(w_.Status()["message"].get<std::string>(),
                                "listed in a manifest but not stored whole"));
  EXPECT_TRUE(absl::StrContains(w_.Status()["message"].get<std::string>(), ": not stored"));
  EXPECT_EQ(w_.stored.count("backups/team/c1/backups/b1.json"), 0u);
}

// Verified at completion; then again whenever the annotation gets a new value: a file gone or
// changed since is named (Verified False, a Warning event); whole again, Verified True.
TEST_F(BackupReconcilerTest, AVerificationOnRequestNamesWhatIsMissingOrChanged) {
  w_.AddCluster(true);
  w_.AddBackup();
  for (int i = 0; i < 4 && w_.Status()["phase"] != "Complete"; ++i) ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(w_.Status()["phase"], "Complete");
  Json v = w_.Status()["verification"];
  EXPECT_EQ(v["passed"], true) << v;
  EXPECT_EQ(v["files"], 3);
  EXPECT_EQ(v["bytes"], 300);
  EXPECT_FALSE(v.contains("request"));

  auto annotate = [&](const std::string& value) {
    Json b = w_.backups.Get("ns/b1")->json();
    b["metadata"]["annotations"][kAnnotationVerify] = value;
    b["metadata"]["resourceVersion"] = "99" + value;
    w_.backups.Upsert(std::make_shared<const kube::Object>(b));
  };
  std::string gone, changed;
  for (const auto& [key, body] : w_.stored) {
    if (key.find("/data/") == std::string::npos) continue;
    (gone.empty() ? gone : changed) = key;
  }
  const std::string gone_body = w_.stored[gone];
  w_.stored.erase(gone);
  w_.etags[changed] = "0123456789abcdef0123456789abcdef";  // not the file's MD5
  annotate("t1");
  ASSERT_TRUE(Pass().ok());
  v = w_.Status()["verification"];
  EXPECT_EQ(v["request"], "t1");
  EXPECT_EQ(v["passed"], false);
  EXPECT_EQ(v["files"], 1);
  ASSERT_EQ(v["problems"].size(), 2u) << v;
  EXPECT_TRUE(absl::StrContains(v["problems"].dump(), "not stored"));
  EXPECT_TRUE(absl::StrContains(v["problems"].dump(), "stored with ETag 0123456789abcdef"));
  Json verified;
  const Json status = w_.Status();
  for (const Json& c : status["conditions"]) {
    if (c["type"] == "Verified") verified = c;
  }
  EXPECT_EQ(verified["status"], "False") << status["conditions"];
  EXPECT_TRUE(absl::StrContains(w_.events.back(), reason::kBackupVerifyFailed));
  EXPECT_EQ(w_.Status()["phase"], "Complete");  // a verification never changes the backup

  const size_t events = w_.events.size();
  ASSERT_TRUE(Pass().ok());  // answered: not verified again for the same value
  EXPECT_EQ(w_.events.size(), events);

  w_.stored[gone] = gone_body;
  w_.etags.erase(changed);
  annotate("t2");
  ASSERT_TRUE(Pass().ok());
  v = w_.Status()["verification"];
  EXPECT_EQ(v["request"], "t2");
  EXPECT_EQ(v["passed"], true) << v;
  EXPECT_TRUE(absl::StrContains(w_.events.back(), reason::kBackupVerified));
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
  EXPECT_TRUE(
      absl::StrContains(w_.Status()["nodes"][0]["message"].get<std::string>(), "not readable yet"));
  w_.now += absl::Minutes(5);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(w_.Status()["phase"], "Failed");
  EXPECT_EQ(w_.Status()["reason"], reason::kCredentialsNotMounted);
}

}  // namespace
}  // namespace ringkeeper
