#include "operator/scale_down.h"

#include "api/v1alpha1/catalogue.h"
#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using Json = nlohmann::json;

Json Nts(const std::map<std::string, std::string>& dcs) {
  Json j = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}};
  for (const auto& [dc, rf] : dcs) j[dc] = rf;
  return j;
}

Json Simple(const std::string& rf) {
  return {{"class", "org.apache.cassandra.locator.SimpleStrategy"}, {"replication_factor", rf}};
}

TEST(ReplicationRefusalTest, NetworkTopologyCountsTheDataCenter) {
  const std::map<std::string, Json> ks = {{"shop", Nts({{"dc1", "3"}, {"dc2", "1"}})}};
  EXPECT_FALSE(ReplicationRefusal(ks, "dc1", 3, 4));
  auto refusal = ReplicationRefusal(ks, "dc1", 2, 10);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->reason, reason::kReplicationFactor);
  EXPECT_EQ(refusal->message,
            "keyspace shop has replication factor 3 in dc1: the data center would have 2 members");
  EXPECT_FALSE(ReplicationRefusal(ks, "dc2", 1, 3));
}

TEST(ReplicationRefusalTest, SimpleStrategyCountsTheWholeCluster) {
  const std::map<std::string, Json> ks = {{"legacy", Simple("3")}};
  // dc2 shrinks to 1 member but the cluster keeps 4: SimpleStrategy's replicas span DCs.
  EXPECT_FALSE(ReplicationRefusal(ks, "dc2", 1, 4));
  auto refusal = ReplicationRefusal(ks, "dc2", 1, 2);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->message,
            "keyspace legacy (SimpleStrategy) has replication factor 3: the cluster would have 2 "
            "members");
}

TEST(ReplicationRefusalTest, SystemKeyspacesAndLocalStrategyDoNotBlockAndTheLargestIsNamed) {
  const std::map<std::string, Json> ks = {
      {"system_auth", Nts({{"dc1", "3"}})},
      {"system_distributed", Nts({{"dc1", "3"}})},
      {"system_traces", Nts({{"dc1", "3"}})},
      {"system", {{"class", "org.apache.cassandra.locator.LocalStrategy"}}},
      {"a", Nts({{"dc1", "2"}})},
      {"b", Nts({{"dc1", "3"}})}};
  EXPECT_FALSE(ReplicationRefusal(ks, "dc1", 3, 3));
  auto refusal = ReplicationRefusal(ks, "dc1", 1, 1);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->message.find("keyspace b "), std::string::npos) << refusal->message;
}

TEST(LowerSystemReplicationTest, OnlyTheShrinkingDataCenterAboveItsNewSize) {
  const std::map<std::string, Json> ks = {{"system_auth", Nts({{"dc1", "3"}, {"dc2", "3"}})},
                                          {"system_distributed", Nts({{"dc1", "2"}, {"dc2", "3"}})},
                                          {"system_traces", Simple("2")},
                                          {"shop", Nts({{"dc1", "3"}})}};
  auto changes = LowerSystemReplication(ks, "dc1", 2);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].keyspace, "system_auth");
  EXPECT_EQ(changes[0].factors, (Json{{"dc1", 2}, {"dc2", 3}}));
  EXPECT_EQ(changes[0].steps, std::vector<std::string>{"system_auth 3→2 in dc1"});
  EXPECT_TRUE(LowerSystemReplication(ks, "dc1", 3).empty());
  EXPECT_EQ(LowerSystemReplication(ks, "dc2", 0)[0].factors["dc2"], 1);  // never to 0
}

Member At(const std::string& pod, const std::string& rack, int64_t used, int64_t total,
          int64_t load = 0) {
  static const auto kPod = std::make_shared<const kube::Object>(Json::object());
  Member m;
  m.pod = pod;
  m.dc = "dc1";
  m.rack = rack;
  m.pod_object = kPod;
  agent::api::NodeInfo info;
  info.load_bytes = load;
  info.data_volume_used_bytes = used;
  info.data_volume_total_bytes = total;
  m.info = info;
  return m;
}

constexpr int64_t kGi = int64_t{1} << 30;

TEST(DiskRefusalTest, TheLeavingNodesRackPeersTakeItsData) {
  // r1's peers are at 80%: 4 Gi leaving over 2 of them is 2 Gi each, 90% of 10 Gi crossed.
  // Spread over all 5 others (the old estimate, 0.8 Gi each) it would have fit.
  std::vector<Member> members = {
      At("r1-0", "r1", 8 * kGi, 10 * kGi),          At("r1-1", "r1", 8 * kGi, 10 * kGi),
      At("r1-2", "r1", 1 * kGi, 10 * kGi, 4 * kGi), At("r2-0", "r2", 1 * kGi, 10 * kGi),
      At("r2-1", "r2", 1 * kGi, 10 * kGi),          At("r2-2", "r2", 1 * kGi, 10 * kGi)};
  auto refusal = DiskRefusal(members, members[2]);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->reason, reason::kDiskSpace);
  EXPECT_EQ(refusal->message,
            "r1-0 would be over 90% full after taking its share (1/2, same rack) of r1-2's data");
  // The same node in r2 leaves: r2's peers have room.
  members[5].info->load_bytes = 4 * kGi;
  EXPECT_FALSE(DiskRefusal(members, members[5]));
}

TEST(DiskRefusalTest, ALastMemberOfItsRackSpreadsOverTheDataCenter) {
  std::vector<Member> members = {At("a-0", "a", 5 * kGi, 10 * kGi),
                                 At("b-0", "b", 5 * kGi, 10 * kGi),
                                 At("c-0", "c", 1 * kGi, 10 * kGi, 6 * kGi)};
  EXPECT_FALSE(DiskRefusal(members, members[2]));  // 3 Gi each: 8 of 10
  members[2].info->load_bytes = 9 * kGi;
  auto refusal = DiskRefusal(members, members[2]);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->message.find("(1/2, same DC)"), std::string::npos) << refusal->message;
}

TEST(DiskRefusalTest, UnknownFiguresRefuseNeverGuess) {
  std::vector<Member> members = {At("r1-0", "r1", 1 * kGi, 0), At("r1-1", "r1", 1, 10 * kGi, 1)};
  auto refusal = DiskRefusal(members, members[1]);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->reason, reason::kDiskUnknown);
  EXPECT_NE(refusal->message.find("r1-0"), std::string::npos) << refusal->message;
  members[0].info.reset();  // its agent does not answer
  EXPECT_EQ(DiskRefusal(members, members[1])->reason, reason::kDiskUnknown);
  members[1].info.reset();  // the leaving node's own load unknown
  EXPECT_EQ(DiskRefusal(members, members[1])->reason, reason::kDiskUnknown);
}

}  // namespace
}  // namespace ringkeeper
