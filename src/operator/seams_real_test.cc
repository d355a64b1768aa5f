#include "operator/seams_real.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "operator/agent_credentials.h"
#include "operator/desired.h"

namespace ringkeeper {
namespace {

TEST(HttpNodeAgentsTest, ReusesAClientAndDropsIdleOnes) {
  HttpNodeAgents kept(absl::Minutes(5));
  const AgentCredentials token{.token = "token"};
  auto a = kept.For("10.244.0.5", token);
  EXPECT_EQ(kept.For("10.244.0.5", token), a);               // one client per pod while in use
  EXPECT_NE(kept.For("10.244.0.5", {.token = "other"}), a);  // the token is part of the identity
  // The pod moved to mutual TLS (or its certificates changed): another client.
  auto tls = NewAgentTls(absl::Now());
  ASSERT_TRUE(tls.ok()) << tls.status();
  AgentCredentials mutual = AgentCredentialsOf(AgentTokenSecret({}, *tls));
  mutual.token = "token";
  EXPECT_NE(kept.For("10.244.0.5", mutual), a);
  EXPECT_EQ(kept.size(), 3u);

  // Idle longer than allowed (here: at once): a pod IP seen once does not stay forever.
  HttpNodeAgents pruned(absl::ZeroDuration());
  pruned.For("10.244.0.5", token);
  pruned.For("10.244.0.6", token);
  pruned.For("10.244.0.7", token);
  EXPECT_EQ(pruned.size(), 1u);
}

}  // namespace
}  // namespace ringkeeper
