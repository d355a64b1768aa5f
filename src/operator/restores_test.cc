// The Restore reconciler over the same small world as the Backup's: checks that fail a Restore
// with the reason before anything changes, the schema step (truncating, in place) recorded done
// before any data moves, each node fed its own files, a successor that never truncates twice.
#include "operator/restores.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "api/v1alpha1/catalogue.h"
#include "backup/layout.h"
#include "gtest/gtest.h"
#include "operator/testing/storage_world.h"

namespace ringkeeper {
namespace {

using kube::Json;
using testing::FakeWorld;
using testing::kNs;
using testing::kPods;

constexpr char kIndexKey[] = "backups/team/c1/backups/b1.json";

void AddCompleteBackup(FakeWorld& w, int nodes = 3) {
  w.backups.Upsert(std::make_shared<const kube::Object>(
      Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
           {"kind", "Backup"},
           {"metadata", {{"name", "b1"}, {"namespace", kNs}, {"resourceVersion", "1"}}},
           {"spec", {{"cluster", "c1"}, {"storageLocation", "versity"}}},
           {"status", {{"phase", "Complete"}}}}));
  backup::Index index{"b1", "c1", kNs, "t0", "t1", {}, 0};
  for (int i = 0; i < nodes; ++i) {
    // Nodes past the Cluster's three: the backup was taken at a larger size.
    const std::string node = i < 3 ? kPods[i] : absl::StrCat("c1-dc1-r1-", i);
    index.nodes.push_back({node, "dc1", "r1", "team/c1/" + node + "/manifests/b1.json", 10});
    backup::Manifest m;
    m.backup = "b1";
    m.cluster = "c1";
    m.node = node;
    m.finished = "t1";
    m.keyspaces["bk1"] = {{{"class", "NetworkTopologyStrategy"}, {"dc1", "3"}}, true};
    w.stored["backups/" + index.nodes.back().manifest] = backup::ToJson(m);
  }
  w.stored[kIndexKey] = backup::ToJson(index);
}

void AddRestore(FakeWorld& w, Json spec) {
  w.restores.Upsert(std::make_shared<const kube::Object>(Json{
      {"apiVersion", "cassandra.rook.io/v1alpha1"},
      {"kind", "Restore"},
      {"metadata", {{"name", "r1"}, {"namespace", kNs}, {"uid", "ru"}, {"resourceVersion", "1"}}},
      {"spec", std::move(spec)}}));
}

std::unique_ptr<RestoreReconciler> NewReconciler(FakeWorld& w) {
  Seams seams{&w, &w, &w, &w, &w, nullptr, &w};
  return std::make_unique<RestoreReconciler>(
      seams, &w, RestoreCaches{&w.restores, &w.backups, &w.clusters, &w.pods});
}

Json StatusOf(const FakeWorld& w) {
  return w.restores.Get("ns/r1")->json().value("status", Json::object());
}

std::vector<std::string> KindsAsked(FakeWorld& w) {
  std::vector<std::string> out;
  for (auto& [ip, a] : w.agents) {
    for (const auto& r : a.started) out.push_back(ip + " " + r.kind);
  }
  return out;
}

TEST(RestoreReconcilerTest, InPlaceSchemaFirstRecordedThenEveryNodeItsOwnFiles) {
  FakeWorld w;
  w.AddCluster(true);
  AddCompleteBackup(w);
  AddRestore(w, {{"cluster", "c1"}, {"backup", "b1"}});
  auto r = NewReconciler(w);
  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  Json s = StatusOf(w);
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["source"]["backup"], "b1");
  ASSERT_EQ(s["nodes"].size(), 3u);
  for (const Json& n : s["nodes"]) EXPECT_EQ(n["source"], n["pod"]);  // in place: its own
  EXPECT_TRUE(KindsAsked(w).empty());  // recorded before anything is asked

  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  ASSERT_EQ(KindsAsked(w), std::vector<std::string>{"10.244.0.10 restore_schema"});
  const auto& schema = w.agents["10.244.0.10"].started[0];
  EXPECT_TRUE(schema.truncate);  // in place: the tables return to the backup's state
  EXPECT_EQ(schema.source_cluster, "c1");
  EXPECT_EQ(schema.location.credentials_file, "/etc/ringkeeper/storage/versity");

  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());  // the schema step succeeds
  EXPECT_EQ(StatusOf(w)["schema"]["done"], true);
  EXPECT_EQ(KindsAsked(w).size(), 1u);  // no data before the record

  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  EXPECT_EQ(KindsAsked(w).size(), 4u);
  for (size_t i = 0; i < kPods.size(); ++i) {
    const auto& started = w.agents[absl::StrCat("10.244.0.", 10 + i)].started;
    ASSERT_FALSE(started.empty());
    EXPECT_EQ(started.back().kind, "restore");
    EXPECT_EQ(started.back().source_node, kPods[i]);
    EXPECT_TRUE(started.back().verify_tokens);
  }
  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  s = StatusOf(w);
  EXPECT_EQ(s["phase"], "Complete");
  EXPECT_EQ(s["conditions"][0]["status"], "True");
  EXPECT_TRUE(absl::StrContains(w.events.back(), "RestoreComplete"));
  auto idle = r->Reconcile({kNs, "r1"});
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->requeue_after, absl::ZeroDuration());
}

TEST(RestoreReconcilerTest, ABackupOfAnotherSizeIsStreamedToTheReplicasPartByPart) {
  FakeWorld w;
  w.AddCluster(true);
  AddCompleteBackup(w, 4);  // taken at 4 nodes, restored into 3 members
  AddRestore(w, {{"cluster", "c1"}, {"backup", "b1"}});
  auto r = NewReconciler(w);
  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  Json s = StatusOf(w);
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["method"], "BulkLoad");
  ASSERT_EQ(s["nodes"].size(), 4u);  // one part per source node, the members in turn
  EXPECT_EQ(s["nodes"][3]["source"], "c1-dc1-r1-3");
  EXPECT_EQ(s["nodes"][3]["pod"], s["nodes"][0]["pod"]);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());  // the schema
  ASSERT_EQ(StatusOf(w)["schema"]["done"], true);

  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  std::vector<agent::api::OperationRequest> loads;
  for (auto& [ip, a] : w.agents) {
    for (const auto& q : a.started) {
      if (q.kind == "restore") loads.push_back(q);
    }
  }
  ASSERT_EQ(loads.size(), 3u);  // one part per agent at a time: the fourth waits
  for (const auto& q : loads) {
    EXPECT_TRUE(q.load);
    EXPECT_EQ(q.run, "ru");  // the Restore's uid: a later Restore of b1 runs again
    EXPECT_NE(q.source_node, "c1-dc1-r1-3");
  }
  for (int i = 0; i < 4 && StatusOf(w)["phase"] != "Complete"; ++i) {
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  }
  EXPECT_EQ(StatusOf(w)["phase"], "Complete");
  // The fourth part went to the first member's agent (10.244.0.10), after its first part.
  std::vector<std::string> fourth;
  for (auto& [ip, a] : w.agents) {
    for (const auto& q : a.started) {
      if (q.kind == "restore" && q.source_node == "c1-dc1-r1-3") fourth.push_back(ip);
    }
  }
  EXPECT_EQ(fourth, std::vector<std::string>{"10.244.0.10"});
}

TEST(RestoreReconcilerTest, ASuccessorNeverTruncatesOnceTheSchemaStepIsRecordedDone) {
  FakeWorld w;
  w.AddCluster(true);
  AddCompleteBackup(w);
  AddRestore(w, {{"cluster", "c1"}, {"backup", "b1"}});
  auto r = NewReconciler(w);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  ASSERT_EQ(StatusOf(w)["schema"]["done"], true);
  // The operator and every agent restart: nothing remembers the schema operation.
  for (auto& [ip, a] : w.agents) a.ops.clear();
  r = NewReconciler(w);
  for (int i = 0; i < 4 && StatusOf(w)["phase"] != "Complete"; ++i) {
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  }
  EXPECT_EQ(StatusOf(w)["phase"], "Complete");
  int schema_steps = 0;
  for (const auto& k : KindsAsked(w)) schema_steps += absl::EndsWith(k, "restore_schema");
  EXPECT_EQ(schema_steps, 1);
}

TEST(RestoreReconcilerTest, ChecksFailTheRestoreWithTheReasonBeforeAnythingChanges) {
  struct Case {
    const char* name;
    std::function<void(FakeWorld&)> setup;
    Json spec;
    const char* reason;
    const char* message_part;
  };
  const Json by_backup = {{"cluster", "c1"}, {"backup", "b1"}};
  const Case cases[] = {
      {"no Backup", [](FakeWorld& w) { w.AddCluster(true); }, by_backup, reason::kBackupNotFound,
       "Backup b1 not found"},
      {"not ready",
       [](FakeWorld& w) {
         w.AddCluster(false);
         AddCompleteBackup(w);
       },
       by_backup, reason::kClusterNotReady, "is not Ready"},
      {"no index",
       [](FakeWorld& w) {
         w.AddCluster(true);
         AddCompleteBackup(w);
       },
       {{"cluster", "c1"},
        {"source", {{"storageLocation", "versity"}, {"cluster", "c1"}, {"backup", "b9"}}}},
       reason::kBackupNotFound,
       "no complete backup b9 of cluster c1"},
      {"keyspace",
       [](FakeWorld& w) {
         w.AddCluster(true);
         AddCompleteBackup(w);
       },
       {{"cluster", "c1"}, {"backup", "b1"}, {"keyspaces", {"bk7"}}},
       reason::kKeyspaceNotInBackup,
       "backup b1 has no keyspace bk7"},
      {"location",
       [](FakeWorld& w) {
         w.AddCluster(true);
         AddCompleteBackup(w);
       },
       {{"cluster", "c1"},
        {"source", {{"storageLocation", "gone"}, {"cluster", "c1"}, {"backup", "b1"}}}},
       reason::kStorageLocationNotFound,
       "no storage location \"gone\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeWorld w;
    c.setup(w);
    AddRestore(w, c.spec);
    auto result = NewReconciler(w)->Reconcile({kNs, "r1"});
    ASSERT_TRUE(result.ok()) << result.status();
    const Json s = StatusOf(w);
    EXPECT_EQ(s["phase"], "Failed");
    EXPECT_EQ(s["reason"], c.reason);
    EXPECT_TRUE(absl::StrContains(s["message"].get<std::string>(), c.message_part)) << s;
    EXPECT_EQ(s["conditions"][1]["status"], "True");
    EXPECT_TRUE(KindsAsked(w).empty());
    EXPECT_TRUE(w.applied.empty());
  }
}

TEST(RestoreReconcilerTest, ANodeThatFailsFailsTheRestore) {
  FakeWorld w;
  w.AddCluster(true);
  AddCompleteBackup(w);
  AddRestore(w, {{"cluster", "c1"}, {"backup", "b1"}});
  w.agents["10.244.0.11"].fail = "import into bk1.t refused the SSTables of [\"/x\"]";
  auto r = NewReconciler(w);
  for (int i = 0; i < 6 && StatusOf(w)["phase"] != "Failed"; ++i) {
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  }
  EXPECT_EQ(StatusOf(w)["phase"], "Failed");
  EXPECT_EQ(StatusOf(w)["reason"], reason::kNodeRestoreFailed);
  EXPECT_TRUE(absl::StartsWith(StatusOf(w)["message"].get<std::string>(), "c1-dc1-r1-1: import"));
}

// The Cluster archiving its commit log, and b1's index finished at `finished` (RFC 3339).
void ArchiveAndFinishBackupAt(FakeWorld& w, const std::string& finished) {
  kube::Json cluster = w.clusters.Get("ns/c1")->json();
  cluster["spec"]["commitLogArchive"] = {{"storageLocation", "versity"}};
  w.clusters.Upsert(std::make_shared<const kube::Object>(cluster));
  auto index = backup::ParseIndex(w.stored[kIndexKey]);
  ASSERT_TRUE(index.ok());
  index->started = "2026-12-04T23:59:00Z";
  index->finished = finished;
  w.stored[kIndexKey] = backup::ToJson(*index);
}

TEST(RestoreReconcilerTest, APointInTimeIsRefusedWithTheReasonBeforeAnythingIsAsked) {
  struct Case {
    bool archived;
    std::string spec_extra, point, reason;
  };
  // The world's clock is 2026-12-05T00:00:00Z.
  for (const auto& [archived, source, point, reason] :
       std::vector<Case>{{false, "", "2026-12-04T23:59:30Z", reason::kCommitLogNotArchived},
                         {true, "", "2026-12-04T23:59:00Z", reason::kPointInTimeBeforeBackup},
                         {true, "", "2026-12-05T00:00:30Z", reason::kPointInTimeInFuture},
                         {true, "other", "2026-12-04T23:59:30Z", reason::kPointInTimeNotInPlace}}) {
    FakeWorld w;
    w.now = absl::FromUnixSeconds(1796428800);
    w.AddCluster(true);
    AddCompleteBackup(w);
    if (archived) ArchiveAndFinishBackupAt(w, "2026-12-04T23:59:10Z");
    Json spec = {{"cluster", "c1"}, {"pointInTime", point}};
    if (source.empty()) {
      spec["backup"] = "b1";
    } else {  // another cluster's backup, by name
      w.stored["backups/team/other/backups/b1.json"] = w.stored[kIndexKey];
      spec["source"] = {{"storageLocation", "versity"}, {"cluster", "other"}, {"backup", "b1"}};
    }
    AddRestore(w, spec);
    auto r = NewReconciler(w);
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
    const Json s = StatusOf(w);
    EXPECT_EQ(s["phase"], "Failed") << reason;
    EXPECT_EQ(s["reason"], reason) << s.dump();
    EXPECT_TRUE(KindsAsked(w).empty()) << reason;
  }
}

TEST(RestoreReconcilerTest, APointInTimeReplaysOneMemberAtATimeAfterTheFiles) {
  FakeWorld w;
  w.now = absl::FromUnixSeconds(1796428800);
  w.AddCluster(true);
  AddCompleteBackup(w);
  ArchiveAndFinishBackupAt(w, "2026-12-04T23:59:10Z");
  // The backup holds bk1.t: the replay is limited to it.
  for (const std::string& pod : kPods) {
    const std::string key = "backups/team/c1/" + pod + "/manifests/b1.json";
    auto m = backup::ParseManifest(w.stored[key]);
    ASSERT_TRUE(m.ok());
    backup::FileEntry f;
    f.keyspace = "bk1";
    f.table = "t-5bc52802de2535edaeab188eecebb090";
    f.name = "schema.cql";
    m->files.push_back(f);
    w.stored[key] = backup::ToJson(*m);
  }
  for (size_t i = 0; i < kPods.size(); ++i) {  // pods with uids: the one that restarts
    kube::Json pod = w.pods.Get(std::string("ns/") + kPods[i])->json();
    pod["metadata"]["uid"] = "old-" + kPods[i];
    w.pods.Upsert(std::make_shared<const kube::Object>(pod));
  }
  AddRestore(w, {{"cluster", "c1"}, {"backup", "b1"}, {"pointInTime", "2026-12-04T23:59:30Z"}});
  auto r = NewReconciler(w);
  Json s;
  for (int pass = 0; pass < 6; ++pass) {  // the schema, then every member's files
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
    s = StatusOf(w);
    if (s["nodes"].is_array() && s["nodes"][0].value("replay", "") == "Restarting") break;
  }
  EXPECT_EQ(s["pointInTime"]["target"], "2026-12-04T23:59:30Z");
  EXPECT_EQ(s["pointInTime"]["since"], "2026-12-04T23:59:00Z");
  EXPECT_EQ(s["pointInTime"]["tables"], Json::array({"bk1.t"}));
  for (const Json& n : s["nodes"]) EXPECT_EQ(n["phase"], "Done");
  for (size_t i = 0; i < kPods.size(); ++i) {
    // Member i restarts (its pod recorded) while the others wait; then the next.
    s = StatusOf(w);
    for (size_t j = 0; j < kPods.size(); ++j) {
      const std::string want = j < i ? "Done" : j == i ? "Restarting" : "Pending";
      EXPECT_EQ(s["nodes"][j]["replay"], want) << i << " " << j;
    }
    EXPECT_EQ(s["nodes"][i]["replayPodUid"], "old-" + kPods[i]);
    EXPECT_EQ(s["phase"], "Running");
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());  // not replayed yet: nothing changes
    EXPECT_EQ(StatusOf(w)["nodes"][i]["replay"], "Restarting");
    w.agents[absl::StrCat("10.244.0.", 10 + i)].info.replayed = {"ru"};
    ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  }
  s = StatusOf(w);
  EXPECT_EQ(s["phase"], "Complete");
  EXPECT_TRUE(absl::StrContains(w.events.back(), "commit log replayed up to 2026-12-04T23:59:30Z"))
      << w.events.back();
}

TEST(RestoreReconcilerTest, ASuccessorUpWithoutTheReplayRestartsAgain) {
  FakeWorld w;
  w.now = absl::FromUnixSeconds(1796428800);
  w.AddCluster(true);
  AddCompleteBackup(w);
  ArchiveAndFinishBackupAt(w, "2026-12-04T23:59:10Z");
  AddRestore(w, {{"cluster", "c1"}, {"backup", "b1"}, {"pointInTime", "2026-12-04T23:59:30Z"}});
  auto r = NewReconciler(w);
  for (int pass = 0; pass < 6; ++pass) ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  ASSERT_EQ(StatusOf(w)["nodes"][0]["replay"], "Restarting");
  // The successor pod is up (NORMAL) and has neither replayed nor prepared the run: its
  // settings were read before they carried the replay. It is recorded to restart in turn.
  kube::Json pod = w.pods.Get(std::string("ns/") + kPods[0])->json();
  pod["metadata"]["uid"] = "successor";
  w.pods.Upsert(std::make_shared<const kube::Object>(pod));
  auto& agent = w.agents["10.244.0.10"];
  agent.info.operation_mode = "NORMAL";
  agent.info.replaying = {"ru"};  // prepared, Cassandra replaying: it is left alone
  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  EXPECT_EQ(StatusOf(w)["nodes"][0].value("replayPodUid", ""), "");
  agent.info.replaying.clear();
  ASSERT_TRUE(r->Reconcile({kNs, "r1"}).ok());
  EXPECT_EQ(StatusOf(w)["nodes"][0]["replayPodUid"], "successor");
  EXPECT_EQ(StatusOf(w)["nodes"][0]["replay"], "Restarting");
}

}  // namespace
}  // namespace ringkeeper
