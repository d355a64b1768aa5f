#include "repair/plan.h"

#include <gtest/gtest.h>

namespace repair {
namespace {

TEST(Plan, RoundTripsSegments) {
  std::vector<Segment> plan = {
      {{{-9223372036854775807 - 1, -100}, {5, 9}}, {"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
      {{{-100, 5}}, {"10.0.0.2"}},
  };
  const std::string text = EncodePlan(plan);
  EXPECT_EQ(text,
            "10.0.0.1,10.0.0.2,10.0.0.3 -9223372036854775808:-100,5:9\n"
            "10.0.0.2 -100:5\n");
  auto back = DecodePlan(text);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].replicas, plan[0].replicas);
  ASSERT_EQ((*back)[0].ranges.size(), 2u);
  EXPECT_EQ((*back)[0].ranges[1].start, 5);
  EXPECT_EQ((*back)[0].ranges[1].end, 9);
  EXPECT_EQ(RangesOption((*back)[1]), "-100:5");
}

TEST(Plan, RefusesALineThatDoesNotParse) {
  for (const char* bad :
       {"10.0.0.1\n", "10.0.0.1 5\n", "10.0.0.1 a:b\n", ",x 1:2\n", "10.0.0.1 1:2 extra\n"}) {
    auto p = DecodePlan(bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("plan line 1"), std::string::npos) << p.status();
  }
}

TEST(Progress, MarksCountsAndRoundTrips) {
  Progress p(20);
  EXPECT_EQ(p.Count(), 0);
  p.MarkDone(0);
  p.MarkDone(9);
  p.MarkDone(19);
  p.MarkDone(9);   // twice: once
  p.MarkDone(20);  // outside: ignored
  p.MarkDone(-1);
  EXPECT_EQ(p.Count(), 3);
  auto back = Progress::Decode(p.Encode(), 20);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->done(0) && back->done(9) && back->done(19));
  EXPECT_FALSE(back->done(1) || back->done(18));
  EXPECT_EQ(back->Count(), 3);
}

TEST(Progress, EmptyIsNoneDoneAndBadBitsAreRefused) {
  auto none = Progress::Decode("", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->Count(), 0);
  EXPECT_FALSE(Progress::Decode("***", 10).ok());
  Progress big(64);
  EXPECT_FALSE(Progress::Decode(big.Encode(), 8).ok());  // 8 bytes for a plan of 1
}

}  // namespace
}  // namespace repair
