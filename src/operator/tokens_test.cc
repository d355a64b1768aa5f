#include "operator/tokens.h"

#include <algorithm>
#include <limits>
#include <set>

#include "absl/numeric/int128.h"
#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

TEST(TokensTest, InterleavesRacksPerOrdinal) {
  auto slots = InterleaveRacks({"a", "b", "c"}, {2, 1, 2});
  ASSERT_EQ(slots.size(), 5u);
  std::vector<std::string> order;
  for (auto& s : slots) order.push_back(s.rack + std::to_string(s.ordinal));
  EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "c0", "a1", "c1"}));
  EXPECT_TRUE(InterleaveRacks({}, {}).empty());
}

TEST(TokensTest, TokensAreUniqueEvenAndInterleaved) {
  const int members = 6, per = 16;
  auto tokens = EvenlyInterleavedTokens(members, per);
  ASSERT_EQ(tokens.size(), 6u);
  std::vector<std::pair<int64_t, int>> ring;
  for (int m = 0; m < members; ++m) {
    ASSERT_EQ(tokens[m].size(), static_cast<size_t>(per));
    EXPECT_TRUE(std::is_sorted(tokens[m].begin(), tokens[m].end()));
    for (int64_t t : tokens[m]) ring.emplace_back(t, m);
  }
  std::sort(ring.begin(), ring.end());
  EXPECT_EQ(ring.front().first, std::numeric_limits<int64_t>::min());
  // Every gap is the same (within integer rounding), and owners rotate around the ring.
  const absl::int128 expected = (absl::int128(1) << 64) / (members * per);
  for (size_t i = 1; i < ring.size(); ++i) {
    const absl::int128 gap = absl::int128(ring[i].first) - ring[i - 1].first;
    EXPECT_LE(gap - expected, 1);
    EXPECT_GE(gap - expected, -1);
    EXPECT_EQ(ring[i].second, (ring[i - 1].second + 1) % members);
  }
  std::set<int64_t> unique;
  for (auto& [t, m] : ring) unique.insert(t);
  EXPECT_EQ(unique.size(), ring.size());
}

TEST(TokensTest, EdgeCases) {
  EXPECT_TRUE(EvenlyInterleavedTokens(0, 16).empty());
  auto one = EvenlyInterleavedTokens(1, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], (std::vector<int64_t>{std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(JoinTokens({-5, 0, 7}), "-5,0,7");
}

}  // namespace
}  // namespace ringkeeper
