// Scenarios of a Cluster created from a backup (spec.restoreFrom, restore_from.cc): nothing is
// created while the backup cannot be read or does not fit; then every member starts on its
// source node's tokens with the restore request in its settings, the Restore is created once
// the Cluster is Ready, and its end is the Restored condition.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/restore.h"
#include "backup/layout.h"
#include "kube/resource.h"
#include "operator/storage_access.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

// Objects by key; only Get is used by the Cluster reconciler.
class MapStorage : public BackupStorage {
 public:
  absl::Status Put(const S3LocationSpec&, const StorageCredentials&, const std::string& key,
                   const std::string& body) override {
    objects[key] = body;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Get(const S3LocationSpec&, const StorageCredentials& credentials,
                                  const std::string& key) override {
    if (credentials.access_key_id != "AK") return absl::PermissionDeniedError("bad key");
    auto it = objects.find(key);
    if (it == objects.end()) return absl::NotFoundError(key);
    return it->second;
  }
  absl::StatusOr<std::vector<StoredObject>> List(const S3LocationSpec&, const StorageCredentials&,
                                                 const std::string&) override {
    return std::vector<StoredObject>{};
  }
  absl::Status Delete(const S3LocationSpec&, const StorageCredentials&,
                      const std::vector<std::string>&) override {
    return absl::OkStatus();
  }
  std::map<std::string, std::string> objects;
};

std::string SourceNode(int i) { return "old-dc1-r1-" + std::to_string(i); }

std::vector<std::string> TokensOf(int i) {
  return {std::to_string(-9000 + i * 1000), std::to_string(1000 + i * 1000)};
}

class RestoreFrom : public Scenario {
 protected:
  RestoreFrom() {
    backup_storage = &storage;
    RestartOperator();
  }

  // The backup b1 of cluster "old": an index and a manifest per node (dc1/r1).
  void StoreBackup(int nodes, const std::string& dc = "dc1") {
    backup::Index index{"b1", "old", "ns", "t0", "t1", {}, 0};
    for (int i = 0; i < nodes; ++i) {
      backup::Manifest m;
      m.backup = "b1";
      m.cluster = "old";
      m.dc = dc;
      m.rack = "r1";
      m.node = SourceNode(i);
      m.tokens = TokensOf(i);
      m.keyspaces["bk1"] = {{{"class", "NetworkTopologyStrategy"}, {dc, "3"}}, true};
      const std::string key = backup::ManifestKey({"", "old", m.node}, "b1");
      storage.objects[key] = backup::ToJson(m);
      index.nodes.push_back({m.node, dc, "r1", key, 10});
    }
    storage.objects[backup::IndexKey("", "old", "b1")] = backup::ToJson(index);
  }

  void Create() {
    world.UserCreate(res::kSecrets, {{"metadata", {{"name", "s3-keys"}, {"namespace", "ns"}}},
                                     {"data",
                                      {{"accessKeyId", absl::Base64Escape("AK")},
                                       {"secretAccessKey", absl::Base64Escape("SK")}}}});
    Json cluster = ClusterManifest(3);
    cluster["spec"]["storageLocations"] = {{{"name", "s3"},
                                            {"s3",
                                             {{"endpoint", "http://s3:9000"},
                                              {"bucket", "backups"},
                                              {"credentialsSecret", {{"name", "s3-keys"}}}}}}};
    cluster["spec"]["restoreFrom"] = {
        {"storageLocation", "s3"}, {"cluster", "old"}, {"backup", "b1"}};
    key = world.CreateCluster(cluster);
  }

  Json Restored() const { return world.Condition(condition::kRestored); }

  // Member `pod`'s settings as the members ConfigMap holds them (null when absent).
  Json SettingsOf(const std::string& pod) const {
    kube::ObjectPtr cm = world.Find(res::kConfigMaps, "c-dc1-r1-members");
    if (!cm || !cm->json()["data"].contains(pod + ".json")) return nullptr;
    return Json::parse(cm->json()["data"][pod + ".json"].get<std::string>());
  }

  // `n` passes, each without error (nothing to wait for: what they do is checked after).
  void RunPasses(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(Pass().ok()) << "pass " << i;
  }

  MapStorage storage;
};

TEST_F(RestoreFrom, NothingIsCreatedUntilTheBackupIsThereThenMembersStartOnItsTokens) {
  Create();
  RunPasses(4);
  EXPECT_TRUE(world.List(res::kStatefulSets).empty());
  EXPECT_TRUE(world.List(res::kPods).empty());
  Json c = Restored();
  ASSERT_TRUE(c.is_object()) << world.Status().dump(2);
  EXPECT_EQ(c["status"], "False");
  EXPECT_EQ(c["reason"], reason::kBackupNotFound) << c.dump();
  EXPECT_NE(c["message"].get<std::string>().find("old/backups/b1.json"), std::string::npos);
  EXPECT_TRUE(world.HasEvent(reason::kBackupNotFound));

  // The backup appears (it finished, or its location was fixed): the Cluster goes on by itself.
  StoreBackup(3);
  std::map<std::string, Json> first_settings;
  ASSERT_TRUE(RunUntil([&] { return Ready(); }, 80,
                       [&] {
                         for (int i = 0; i < 3; ++i) {
                           if (!first_settings.contains(PodOf(i)) &&
                               !SettingsOf(PodOf(i)).is_null()) {
                             first_settings[PodOf(i)] = SettingsOf(PodOf(i));
                           }
                         }
                       }))
      << world.Status().dump(2);
  for (int i = 0; i < 3; ++i) {
    const Json& s = first_settings[PodOf(i)];
    ASSERT_TRUE(s.is_object()) << PodOf(i);
    EXPECT_EQ(s["initial_tokens"], Json(TokensOf(i))) << s.dump();
    EXPECT_EQ(s["auto_bootstrap"], false);
    EXPECT_EQ(s["restore"]["backup"], "b1");
    EXPECT_EQ(s["restore"]["source_cluster"], "old");
    EXPECT_EQ(s["restore"]["source_node"], SourceNode(i));
    EXPECT_EQ(s["restore"]["location"]["credentials_file"], "/etc/ringkeeper/storage/s3");
  }
  const Json nodes = world.StatusField("restoreFrom")["nodes"];
  ASSERT_EQ(nodes.size(), 3u) << world.StatusField("restoreFrom").dump();
  EXPECT_EQ(nodes[2]["pod"], PodOf(2));
  EXPECT_EQ(nodes[2]["source"], SourceNode(2));
  // The init containers read the location's credentials from the Secret the pods mount.
  EXPECT_NE(world.Find(res::kSecrets, "c-storage-credentials"), nullptr);
  EXPECT_TRUE(world.HasEvent(reason::kRestorePlanned));

  // Ready: the Restore is created, owned by the Cluster; joined members no longer restore.
  ASSERT_TRUE(RunUntil([&] { return world.Find(kRestores, "c-restore") != nullptr; }, 5));
  const Json restore = world.Find(kRestores, "c-restore")->json();
  EXPECT_EQ(restore["spec"]["cluster"], "c");
  EXPECT_EQ(restore["spec"]["source"]["backup"], "b1");
  EXPECT_EQ(restore["spec"]["source"]["cluster"], "old");
  EXPECT_EQ(restore["metadata"]["ownerReferences"][0]["kind"], "Cluster");
  ASSERT_TRUE(RunUntil([&] { return Restored()["reason"] == reason::kRestoring; }, 5));
  EXPECT_EQ(Restored()["status"], "False");
  EXPECT_EQ(SettingsOf(PodOf(0))["restore"]["backup"], "") << SettingsOf(PodOf(0)).dump();

  // The Restore completes: Restored, once.
  Json done = restore;
  done["status"] = {{"phase", "Complete"},
                    {"nodes", {{{"pod", PodOf(0)}, {"source", SourceNode(0)}, {"bytes", 10}}}}};
  world.UserCreate(kRestores, done);
  ASSERT_TRUE(RunUntil([&] { return Restored()["status"] == "True"; }, 3));
  EXPECT_EQ(Restored()["reason"], reason::kRestoreComplete);
  EXPECT_EQ(world.StatusField("restoreFrom")["phase"], restore_from_phase::kComplete);
  EXPECT_TRUE(world.HasEvent(reason::kRestoreComplete));
  ExpectQuiet();
}

TEST_F(RestoreFrom, ABackupOfAnotherSizeOrDataCenterCreatesNothing) {
  StoreBackup(2);
  Create();
  RunPasses(3);
  EXPECT_EQ(Restored()["reason"], reason::kSizeMismatch) << Restored().dump();
  EXPECT_TRUE(world.List(res::kStatefulSets).empty());

  storage.objects.clear();
  StoreBackup(3, "dc9");
  RunPasses(3);
  EXPECT_EQ(Restored()["reason"], reason::kDataCenterMismatch) << Restored().dump();
  EXPECT_TRUE(world.List(res::kStatefulSets).empty());
  EXPECT_TRUE(world.List(res::kPods).empty());
}

TEST_F(RestoreFrom, AFailedRestoreIsReportedAndDeletingItStartsAnother) {
  StoreBackup(3);
  Create();
  ASSERT_TRUE(RunUntil([&] { return world.Find(kRestores, "c-restore") != nullptr; }));
  Json failed = world.Find(kRestores, "c-restore")->json();
  failed["status"] = {{"phase", "Failed"}, {"reason", "NodeRestoreFailed"}, {"message", "disk"}};
  world.UserCreate(kRestores, failed);
  ASSERT_TRUE(RunUntil([&] { return Restored()["reason"] == reason::kRestoreFailed; }, 3));
  EXPECT_NE(Restored()["message"].get<std::string>().find("delete it to try again"),
            std::string::npos);
  world.UserDelete(kRestores, "c-restore");
  ASSERT_TRUE(RunUntil([&] { return world.Find(kRestores, "c-restore") != nullptr; }, 3));
  EXPECT_EQ(Restored()["reason"], reason::kRestoring);
}

}  // namespace
}  // namespace ringkeeper::testing
