#include "operator/seams_real.h"

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

TEST(HttpNodeAgentsTest, ReusesAClientAndDropsIdleOnes) {
  HttpNodeAgents kept(absl::Minutes(5));
  auto a = kept.For("10.244.0.5", "token");
  EXPECT_EQ(kept.For("10.244.0.5", "token"), a);  // one client per pod while in use
  EXPECT_NE(kept.For("10.244.0.5", "other"), a);  // the token is part of the identity
  EXPECT_EQ(kept.size(), 2u);

  // Idle longer than allowed (here: at once): a pod IP seen once does not stay forever.
  HttpNodeAgents pruned(absl::ZeroDuration());
  pruned.For("10.244.0.5", "token");
  pruned.For("10.244.0.6", "token");
  pruned.For("10.244.0.7", "token");
  EXPECT_EQ(pruned.size(), 1u);
}

}  // namespace
}  // namespace ringkeeper
