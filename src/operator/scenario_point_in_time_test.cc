// Scenarios of commit log archiving and a restore to a point in time on the Cluster's side
// (point_in_time.cc): an archiving Cluster's members carry the location in their settings and
// their agents ship; a Restore that records a member Restarting gets that pod restarted as a
// Restart operation with the replay in its settings, and only that pod.
#include <map>
#include <string>

#include "absl/strings/escaping.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/restore.h"
#include "kube/resource.h"
#include "operator/testing/scenario.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;

class PointInTime : public Scenario {
 protected:
  void CreateArchiving() {
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
    cluster["spec"]["commitLogArchive"] = {{"storageLocation", "s3"}};
    key = world.CreateCluster(cluster);
    ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
  }

  Json SettingsOf(const std::string& pod) const {
    kube::ObjectPtr cm = world.Find(res::kConfigMaps, "c-dc1-r1-members");
    if (!cm || !cm->json()["data"].contains(pod + ".json")) return nullptr;
    return Json::parse(cm->json()["data"][pod + ".json"].get<std::string>());
  }

  std::string UidOf(const std::string& pod) const {
    kube::ObjectPtr p = world.Find(res::kPods, pod);
    return p ? p->uid() : "";
  }

  // A Running Restore to a point in time whose member `pod` is recorded Restarting.
  void RestoreRestarting(const std::string& pod) {
    Json nodes = Json::array();
    for (int i = 0; i < 3; ++i) {
      nodes.push_back({{"pod", PodOf(i)},
                       {"source", PodOf(i)},
                       {"phase", "Done"},
                       {"replay", PodOf(i) == pod ? "Restarting" : "Pending"}});
      if (PodOf(i) == pod) nodes.back()["replayPodUid"] = UidOf(pod);
    }
    world.UserCreate(
        kRestores,
        {{"metadata", {{"name", "r1"}, {"namespace", "ns"}, {"uid", "r1-uid"}}},
         {"spec", {{"cluster", "c"}, {"backup", "b1"}, {"pointInTime", "2026-12-05T00:00:30Z"}}},
         {"status",
          {{"phase", "Running"},
           {"pointInTime",
            {{"target", "2026-12-05T00:00:30Z"},
             {"since", "2026-12-05T00:00:00Z"},
             {"tables", {"bk1.t"}}}},
           {"nodes", nodes}}}});
  }
};

TEST_F(PointInTime, AnArchivingClusterShipsItsSegmentsFromEveryMember) {
  CreateArchiving();
  for (int i = 0; i < 3; ++i) {
    const Json s = SettingsOf(PodOf(i));
    EXPECT_EQ(s["commitlog_archive"]["bucket"], "backups") << s.dump();
    EXPECT_EQ(s["commitlog_archive"]["credentials_file"], "/etc/ringkeeper/storage/s3");
    EXPECT_EQ(s["replay"]["run"], "");
  }
  // The agents read the credentials from the Secret the pods mount, and their settings file.
  EXPECT_NE(world.Find(res::kSecrets, "c-storage-credentials"), nullptr);
  const Json sts = world.Find(res::kStatefulSets, "c-dc1-r1")->json();
  const Json& agent = sts["spec"]["template"]["spec"]["containers"][1];
  EXPECT_NE(agent["args"].dump().find("--settings=/etc/ringkeeper/members/$(POD_NAME).json"),
            std::string::npos)
      << agent["args"].dump();
  EXPECT_NE(agent["volumeMounts"].dump().find("\"/etc/cassandra\""), std::string::npos);
  ExpectQuiet();
}

TEST_F(PointInTime, TheMemberRecordedRestartsWithItsReplayAndNoOtherDoes) {
  CreateArchiving();
  const std::string old0 = UidOf(PodOf(0)), old1 = UidOf(PodOf(1)), old2 = UidOf(PodOf(2));
  RestoreRestarting(PodOf(1));
  Json replay;
  ASSERT_TRUE(
      RunUntil([&] { return UidOf(PodOf(1)) != old1 && !UidOf(PodOf(1)).empty() && Ready(); }, 80,
               [&] {
                 const Json s = SettingsOf(PodOf(1));
                 if (replay.is_null() && s.is_object() && s["replay"]["run"] != "")
                   replay = s["replay"];
               }))
      << world.Status().dump(2);
  ASSERT_TRUE(replay.is_object());
  EXPECT_EQ(replay["run"], world.Find(kRestores, "r1")->uid());
  EXPECT_EQ(replay["source_node"], PodOf(1));
  EXPECT_EQ(replay["source_cluster"], "c");
  EXPECT_EQ(replay["point_in_time_unix"], 1796428830);
  EXPECT_EQ(replay["since_unix"], 1796428800);
  EXPECT_EQ(replay["tables"], Json::array({"bk1.t"}));
  EXPECT_EQ(SettingsOf(PodOf(0))["replay"]["run"], "");  // the others carry none
  EXPECT_TRUE(world.HasEvent(reason::kReplayingCommitLog));
  EXPECT_EQ(UidOf(PodOf(0)), old0);
  EXPECT_EQ(UidOf(PodOf(2)), old2);
  // The successor is not restarted again: the Restore decides whether it replayed.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(UidOf(PodOf(0)), old0);
  EXPECT_EQ(UidOf(PodOf(2)), old2);
  ExpectQuiet();
}

}  // namespace
}  // namespace ringkeeper::testing
