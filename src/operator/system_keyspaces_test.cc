#include "operator/system_keyspaces.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

using Json = nlohmann::json;

ClusterSpec Spec(const std::map<std::string, int>& members_per_dc) {
  ClusterSpec spec;
  for (const auto& [dc, members] : members_per_dc) {
    DataCenterSpec d;
    d.name = dc;
    RackSpec rack;
    rack.name = "r1";
    rack.members = members;
    d.racks.push_back(rack);
    spec.dcs.push_back(d);
  }
  return spec;
}

// What Cassandra 5.0 creates: system_auth at SimpleStrategy 1, the others at 3 and 2.
std::map<std::string, Json> Fresh() {
  return {
      {"system_auth",
       {{"class", "org.apache.cassandra.locator.SimpleStrategy"}, {"replication_factor", "1"}}},
      {"system_distributed",
       {{"class", "org.apache.cassandra.locator.SimpleStrategy"}, {"replication_factor", "3"}}},
      {"system_traces",
       {{"class", "org.apache.cassandra.locator.SimpleStrategy"}, {"replication_factor", "2"}}},
      {"system_schema", {{"class", "org.apache.cassandra.locator.LocalStrategy"}}},
  };
}

Json Nts(const std::map<std::string, std::string>& factors) {
  Json j = {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}};
  for (const auto& [dc, f] : factors) j[dc] = f;
  return j;
}

TEST(SystemKeyspaces, TargetIsMinOfThreeAndDcSize) {
  EXPECT_EQ(SystemReplicationFactor(Spec({{"dc1", 0}}).dcs[0]), 1);
  EXPECT_EQ(SystemReplicationFactor(Spec({{"dc1", 1}}).dcs[0]), 1);
  EXPECT_EQ(SystemReplicationFactor(Spec({{"dc1", 2}}).dcs[0]), 2);
  EXPECT_EQ(SystemReplicationFactor(Spec({{"dc1", 3}}).dcs[0]), 3);
  EXPECT_EQ(SystemReplicationFactor(Spec({{"dc1", 12}}).dcs[0]), 3);
}

TEST(SystemKeyspaces, ReplicationInReadsEachStrategy) {
  EXPECT_EQ(ReplicationIn(Nts({{"dc1", "3"}, {"dc2", "2"}}), "dc2"), 2);
  EXPECT_EQ(ReplicationIn(Nts({{"dc1", "3"}}), "dc9"), 0);
  EXPECT_EQ(ReplicationIn(Fresh()["system_distributed"], "any"), 3);
  EXPECT_EQ(ReplicationIn(Fresh()["system_schema"], "dc1"), 0);
  EXPECT_EQ(ReplicationIn(Json(), "dc1"), 0);
  EXPECT_EQ(ReplicationIn(Json{{"class", 5}}, "dc1"), 0);  // malformed: no factor, no throw
}

TEST(SystemKeyspaces, NewClusterGoesStraightToTarget) {
  auto changes = PlanSystemReplication(Fresh(), Spec({{"dc1", 3}}), /*serving=*/false);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].keyspace, "system_auth");
  EXPECT_EQ(changes[0].factors, (Json{{"dc1", 3}}));
  EXPECT_EQ(changes[0].steps, std::vector<std::string>{"system_auth 1→3 in dc1"});
  // Already 3 under SimpleStrategy: the factor stays, the strategy becomes per-DC.
  EXPECT_EQ(changes[1].keyspace, "system_distributed");
  EXPECT_EQ(changes[1].factors, (Json{{"dc1", 3}}));
  EXPECT_EQ(changes[1].steps,
            std::vector<std::string>{"system_distributed to NetworkTopologyStrategy"});
  EXPECT_EQ(changes[2].factors, (Json{{"dc1", 3}}));
}

TEST(SystemKeyspaces, ServingClusterGrowsOneStepAtATime) {
  std::map<std::string, Json> current = {{"system_auth", Nts({{"dc1", "1"}})},
                                         {"system_distributed", Nts({{"dc1", "1"}})},
                                         {"system_traces", Nts({{"dc1", "1"}})}};
  const ClusterSpec spec = Spec({{"dc1", 3}});
  auto changes = PlanSystemReplication(current, spec, /*serving=*/true);
  ASSERT_EQ(changes.size(), 3u);
  for (const auto& c : changes) EXPECT_EQ(c.factors, (Json{{"dc1", 2}})) << c.keyspace;
  for (auto& [ks, r] : current) r = Nts({{"dc1", "2"}});
  changes = PlanSystemReplication(current, spec, true);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].steps, std::vector<std::string>{"system_auth 2→3 in dc1"});
  for (auto& [ks, r] : current) r = Nts({{"dc1", "3"}});
  EXPECT_TRUE(PlanSystemReplication(current, spec, true).empty());
}

TEST(SystemKeyspaces, NeverLowersAndKeepsOtherDcs) {
  std::map<std::string, Json> current = {
      {"system_auth", Nts({{"dc1", "5"}, {"other", "3"}})},
      {"system_distributed", Nts({{"dc1", "1"}, {"other", "3"}})}};
  auto changes = PlanSystemReplication(current, Spec({{"dc1", 2}}), true);
  ASSERT_EQ(changes.size(), 1u);  // system_auth above target: left alone
  EXPECT_EQ(changes[0].keyspace, "system_distributed");
  EXPECT_EQ(changes[0].factors, (Json{{"dc1", 2}, {"other", 3}}));
}

TEST(SystemKeyspaces, NewDcStartsFromZero) {
  std::map<std::string, Json> current = {{"system_auth", Nts({{"dc1", "3"}})}};
  auto changes = PlanSystemReplication(current, Spec({{"dc1", 3}, {"dc2", 3}}), true);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].factors, (Json{{"dc1", 3}, {"dc2", 1}}));
  EXPECT_EQ(changes[0].steps, std::vector<std::string>{"system_auth 0→1 in dc2"});
}

TEST(SystemKeyspaces, ADataCenterThatLeftIsDroppedTheOthersKept) {
  std::map<std::string, Json> current = {{"system_auth", Nts({{"dc1", "3"}, {"dc3", "1"}})},
                                         {"system_traces", Nts({{"dc1", "3"}})},
                                         {"e2e", Nts({{"dc1", "1"}, {"dc3", "1"}})}};
  auto changes = SystemReplicationWithout(current, "dc3");
  ASSERT_EQ(changes.size(), 1u);  // system_traces does not name dc3; e2e is the user's
  EXPECT_EQ(changes[0].keyspace, "system_auth");
  EXPECT_EQ(changes[0].factors, (Json{{"dc1", 3}}));
  EXPECT_EQ(changes[0].steps, std::vector<std::string>{"system_auth 1→0 in dc3"});
  EXPECT_TRUE(SystemReplicationWithout(current, "dc9").empty());
}

TEST(SystemKeyspaces, IgnoresOtherKeyspacesAndMissingOnes) {
  std::map<std::string, Json> current = {{"e2e", Nts({{"dc1", "1"}})},
                                         {"system_schema", Fresh()["system_schema"]}};
  EXPECT_TRUE(PlanSystemReplication(current, Spec({{"dc1", 3}}), true).empty());
}

TEST(SystemKeyspaces, RepairOnlyWhatHoldsDataAndHasReplicas) {
  EXPECT_TRUE(RepairAfterChange("system_auth", Json{{"dc1", 2}}, false));
  EXPECT_TRUE(RepairAfterChange("system_auth", Json{{"dc1", 1}, {"dc2", 3}}, true));
  EXPECT_FALSE(RepairAfterChange("system_auth", Json{{"dc1", 1}}, true));  // one replica
  // One in each of two data centers: two copies (a joining data center gets its logins).
  EXPECT_TRUE(RepairAfterChange("system_auth", Json{{"dc1", 1}, {"dc2", 1}}, true));
  EXPECT_FALSE(RepairAfterChange("system_distributed", Json{{"dc1", 3}}, false));
  EXPECT_TRUE(RepairAfterChange("system_distributed", Json{{"dc1", 3}}, true));
  EXPECT_FALSE(RepairAfterChange("system_traces", Json{{"dc1", 3}}, true));
}

}  // namespace
}  // namespace ringkeeper
