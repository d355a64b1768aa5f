#include "operator/data_center_join.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "operator/tokens.h"

namespace ringkeeper {
namespace {

using Json = nlohmann::json;

const char kNts[] = "org.apache.cassandra.locator.NetworkTopologyStrategy";
const char kSimple[] = "org.apache.cassandra.locator.SimpleStrategy";

// A cluster whose dc1 holds everything: system keyspaces as the operator leaves them, a user
// keyspace of each strategy, and one already replicated to dc2.
std::map<std::string, Json> Keyspaces() {
  return {
      {"system_auth", {{"class", kNts}, {"dc1", "3"}}},
      {"system_distributed", {{"class", kNts}, {"dc1", "3"}}},
      {"system_traces", {{"class", kSimple}, {"replication_factor", "2"}}},
      {"system_schema", {{"class", "org.apache.cassandra.locator.LocalStrategy"}}},
      {"system", {{"class", "org.apache.cassandra.locator.LocalStrategy"}}},
      {"shop", {{"class", kNts}, {"dc1", "3"}}},
      {"orders", {{"class", kNts}, {"dc1", "3"}, {"dc2", "1"}}},
      {"legacy", {{"class", kSimple}, {"replication_factor", "3"}}},
  };
}

TEST(DataCenterJoinTest, UserKeyspacesAreTheOnesCassandraDidNotMake) {
  EXPECT_TRUE(IsUserKeyspace("shop"));
  EXPECT_TRUE(IsUserKeyspace("systemic"));  // only "system" and "system_*" are Cassandra's
  EXPECT_FALSE(IsUserKeyspace("system"));
  EXPECT_FALSE(IsUserKeyspace("system_auth"));
  EXPECT_FALSE(IsUserKeyspace("system_views"));
}

TEST(DataCenterJoinTest, OnlyUserKeyspacesOnSimpleStrategyBlockAJoin) {
  // system_traces on SimpleStrategy is the operator's to convert, not a reason to refuse.
  EXPECT_EQ(DataCenterBlindKeyspaces(Keyspaces()), std::vector<std::string>{"legacy"});
  auto fixed = Keyspaces();
  fixed["legacy"] = {{"class", kNts}, {"dc1", "3"}};
  EXPECT_TRUE(DataCenterBlindKeyspaces(fixed).empty());
}

TEST(DataCenterJoinTest, KeyspacesReplicatedInADataCenter) {
  EXPECT_EQ(KeyspacesReplicatedIn(Keyspaces(), "dc2"), std::vector<std::string>{"orders"});
  EXPECT_EQ(KeyspacesReplicatedIn(Keyspaces(), "dc1"),
            (std::vector<std::string>{"orders", "shop"}));
  EXPECT_TRUE(KeyspacesReplicatedIn(Keyspaces(), "dc3").empty());
  auto zero = Keyspaces();
  zero["shop"]["dc3"] = "0";  // named with no replicas is not replicated there
  EXPECT_TRUE(KeyspacesReplicatedIn(zero, "dc3").empty());
}

TEST(DataCenterJoinTest, UserReplicationAddsTheDataCenterAndKeepsTheOthers) {
  const auto changes = PlanUserReplication(Keyspaces(), "dc2", 2);
  // shop only: orders already replicates to dc2 (its factor there is the user's), legacy is on
  // SimpleStrategy (refused before), system keyspaces are the operator's own business.
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].keyspace, "shop");
  EXPECT_EQ(changes[0].factors, (Json{{"dc1", 3}, {"dc2", 2}}));
  EXPECT_EQ(changes[0].steps, std::vector<std::string>{"shop 0→2 in dc2"});
  EXPECT_TRUE(PlanUserReplication(Keyspaces(), "dc1", 3).empty());
}

TEST(DataCenterJoinTest, TokenOffsetAvoidsTheRingsTokens) {
  const auto tokens = EvenlyInterleavedTokens(2, 16);
  std::set<int64_t> taken;
  EXPECT_EQ(FreeTokenOffset(2, 16, taken, 1), 1);
  // A ring of the same shape at offsets 1 and 2: the next free one is 3.
  for (int64_t offset : {1, 2}) {
    for (const auto& member : tokens) {
      for (int64_t t : member) taken.insert(t + offset);
    }
  }
  EXPECT_EQ(FreeTokenOffset(2, 16, taken, 1), 3);
  EXPECT_EQ(FreeTokenOffset(2, 16, taken, 0), 0);
  // One token in the way is enough to move on.
  EXPECT_EQ(FreeTokenOffset(2, 16, {tokens[1][5] + 7}, 7), 8);
}

}  // namespace
}  // namespace ringkeeper
