#include "repair/segments.h"

#include <algorithm>
#include <limits>
#include <random>
#include <set>

#include "gtest/gtest.h"

namespace repair {
namespace {

constexpr TokenCount kRing = static_cast<TokenCount>(1) << 64;
constexpr Token kMin = std::numeric_limits<Token>::min();

// The ranges of a ring of `tokens` (sorted), each replicated on its owner and the next rf - 1
// owners clockwise (SimpleStrategy's placement), owners "n0", "n1"... by token index % nodes.
std::vector<ReplicatedRange> Ring(std::vector<Token> tokens, int nodes, int rf) {
  std::sort(tokens.begin(), tokens.end());
  std::vector<ReplicatedRange> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    ReplicatedRange r;
    r.range = {tokens[(i + tokens.size() - 1) % tokens.size()], tokens[i]};
    std::set<std::string> replicas;
    for (size_t j = i; replicas.size() < static_cast<size_t>(std::min(rf, nodes)); ++j) {
      replicas.insert("n" + std::to_string(j % tokens.size() % nodes));
    }
    r.replicas.assign(replicas.begin(), replicas.end());
    out.push_back(r);
  }
  return out;
}

// Every segment's ranges, together, tile the ring exactly once.
void ExpectTilesTheRing(const std::vector<Segment>& segments) {
  std::vector<Range> all;
  TokenCount total = 0;
  for (const Segment& s : segments) {
    for (const Range& r : s.ranges) {
      all.push_back(r);
      total += Size(r);
    }
  }
  EXPECT_EQ(total == kRing, true) << "covers the ring once";
  std::sort(all.begin(), all.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].end, all[(i + 1) % all.size()].start) << "no gap, no overlap at " << i;
  }
}

TEST(SizeTest, RangesAroundTheRing) {
  EXPECT_EQ(Size({0, 100}) == 100, true);
  EXPECT_EQ(Size({100, -100}) == kRing - 200, true);  // wraps past the top
  EXPECT_EQ(Size({5, 5}) == kRing, true);             // a one-token ring's only range
  EXPECT_EQ(Size({kMin, std::numeric_limits<Token>::max()}) == kRing - 1, true);
}

TEST(PlanSegmentsTest, OneNodeOneTokenIsCutIntoEqualSegments) {
  auto plan = PlanSegments(Ring({42}, 1, 1), 4);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 4u);
  for (const Segment& s : *plan) {
    EXPECT_EQ(s.size() == kRing / 4, true);
    EXPECT_EQ(s.replicas, std::vector<std::string>{"n0"});
    for (const Range& r : s.ranges) EXPECT_NE(r.end, kMin) << "no cut on the minimum token";
  }
  EXPECT_EQ((*plan)[0].ranges[0].start, 42);
  EXPECT_EQ((*plan)[3].ranges[0].end, 42);
  ExpectTilesTheRing(*plan);
}

TEST(PlanSegmentsTest, ThreeNodesEvenTokensGiveSegmentsPerNodeTimesNodes) {
  const Token third = static_cast<Token>(kRing / 3);
  const std::vector<Token> tokens = {kMin + 1, kMin + 1 + third, kMin + 1 + 2 * third};
  for (int per_node : {1, 2, 8}) {
    auto plan = PlanSegments(Ring(tokens, 3, 3), per_node);
    ASSERT_TRUE(plan.ok()) << plan.status();
    // Uneven thirds by a token or two: at most one more piece per range.
    EXPECT_GE(plan->size(), static_cast<size_t>(3 * per_node));
    EXPECT_LE(plan->size(), static_cast<size_t>(3 * per_node + 3));
    ExpectTilesTheRing(*plan);
  }
}

// With many vnodes the ranges are smaller than a segment: ranges sharing a replica set are
// coalesced, so a 3-node RF 3 ring of 48 ranges is repaired in about 3 sessions, not 48.
TEST(PlanSegmentsTest, SmallRangesOfOneReplicaSetAreCoalesced) {
  std::mt19937_64 random(7);
  std::vector<Token> tokens;
  for (int i = 0; i < 48; ++i) tokens.push_back(static_cast<Token>(random()));
  auto plan = PlanSegments(Ring(tokens, 3, 3), 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_LT(plan->size(), 10u);
  const TokenCount target = kRing / 3;
  for (const Segment& s : *plan) {
    EXPECT_EQ(s.replicas.size(), 3u);
    if (s.ranges.size() > 1) EXPECT_EQ(s.size() <= target, true) << "coalesced within the target";
  }
  ExpectTilesTheRing(*plan);
}

// RF 2 of 3: three replica sets; a segment never mixes two.
TEST(PlanSegmentsTest, ASegmentHasOneReplicaSet) {
  std::mt19937_64 random(11);
  std::vector<Token> tokens;
  for (int i = 0; i < 48; ++i) tokens.push_back(static_cast<Token>(random()));
  const std::vector<ReplicatedRange> ring = Ring(tokens, 3, 2);
  auto plan = PlanSegments(ring, 4);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const Segment& s : *plan) {
    for (const Range& r : s.ranges) {
      bool found = false;
      for (const ReplicatedRange& rr : ring) {
        std::vector<std::string> replicas = rr.replicas;
        std::sort(replicas.begin(), replicas.end());
        // Each piece lies inside a ring range with exactly the segment's replicas.
        const uint64_t offset =
            static_cast<uint64_t>(r.start) - static_cast<uint64_t>(rr.range.start);
        if (replicas == s.replicas && offset < Size(rr.range) &&
            static_cast<TokenCount>(offset) + Size(r) <= Size(rr.range)) {
          found = true;
        }
      }
      EXPECT_TRUE(found) << r.start << ":" << r.end;
    }
  }
  ExpectTilesTheRing(*plan);
}

// The same ring in any order gives the same plan: a segment's index names it across restarts.
TEST(PlanSegmentsTest, StableWhateverTheOrderOfTheMap) {
  std::mt19937_64 random(3);
  std::vector<Token> tokens;
  for (int i = 0; i < 16; ++i) tokens.push_back(static_cast<Token>(random()));
  std::vector<ReplicatedRange> ring = Ring(tokens, 3, 2);
  auto first = PlanSegments(ring, 3);
  std::shuffle(ring.begin(), ring.end(), random);
  for (ReplicatedRange& r : ring) std::reverse(r.replicas.begin(), r.replicas.end());
  auto second = PlanSegments(ring, 3);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(first->size(), second->size());
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ(RangesOption((*first)[i]), RangesOption((*second)[i]));
    EXPECT_EQ((*first)[i].replicas, (*second)[i].replicas);
  }
}

TEST(PlanSegmentsTest, ARingInFluxIsRefused) {
  EXPECT_FALSE(PlanSegments({}, 1).ok());
  EXPECT_FALSE(PlanSegments(Ring({1, 2, 3}, 3, 1), 0).ok());
  std::vector<ReplicatedRange> gap = Ring({-100, 0, 100}, 3, 1);
  gap[1].range.end = 50;  // (0, 50] then (100, ...]: 50..100 belongs to no one
  EXPECT_TRUE(absl::IsInvalidArgument(PlanSegments(gap, 1).status()));
  std::vector<ReplicatedRange> twice = Ring({-100, 0, 100}, 3, 1);
  twice.push_back({{100, -100}, {"n0"}});
  EXPECT_FALSE(PlanSegments(twice, 1).ok());
  std::vector<ReplicatedRange> orphan = Ring({-100, 0, 100}, 3, 1);
  orphan[0].replicas.clear();
  EXPECT_FALSE(PlanSegments(orphan, 1).ok());
}

TEST(RangesOptionTest, CassandrasSyntax) {
  Segment s{{{-5, 10}, {20, 30}}, {"n0"}};
  EXPECT_EQ(RangesOption(s), "-5:10,20:30");
}

}  // namespace
}  // namespace repair
