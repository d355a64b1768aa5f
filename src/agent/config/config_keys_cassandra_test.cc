// The cassandra tier (ctest -L cassandra; make cassandra-tests): the keys derived from the real
// Cassandra jar must equal config-keys.txt, which the Java probe (ListConfigKeys.java) listed from
// the same jars. CASSANDRA_LIB and CASSANDRA_CONFIG_KEYS come from hack/cassandra/fetch.sh.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "agent/config/config_keys.h"
#include "gtest/gtest.h"

namespace agent::config {
namespace {

TEST(ConfigKeysCassandraTest, DerivedKeysEqualTheJavaProbes) {
  const char* lib = std::getenv("CASSANDRA_LIB");
  const char* keys_file = std::getenv("CASSANDRA_CONFIG_KEYS");
  if (lib == nullptr || keys_file == nullptr) {
    GTEST_SKIP() << "CASSANDRA_LIB and CASSANDRA_CONFIG_KEYS unset (hack/cassandra/fetch.sh)";
  }
  std::ifstream in(keys_file);
  ASSERT_TRUE(in) << keys_file;
  std::stringstream ss;
  ss << in.rdbuf();
  const KnownKeys probe = ParseKnownKeys(ss.str());
  auto derived = ConfigKeysFromLib(lib);
  ASSERT_TRUE(derived.ok()) << derived.status();
  std::vector<std::string> only_derived, only_probe;
  for (const auto& k : derived->keys) {
    if (!probe.contains(k)) only_derived.push_back(k);
  }
  for (const auto& k : probe) {
    if (!derived->keys.contains(k)) only_probe.push_back(k);
  }
  std::printf("config keys: %zu derived from %s, %zu listed by the Java probe in %s\n",
              derived->keys.size(), derived->jar.c_str(), probe.size(), keys_file);
  EXPECT_GT(probe.size(), 100u);
  EXPECT_TRUE(only_derived.empty()) << "only derived: " << ::testing::PrintToString(only_derived);
  EXPECT_TRUE(only_probe.empty()) << "only in the probe's list: "
                                  << ::testing::PrintToString(only_probe);
  EXPECT_EQ(derived->keys, probe);
}

}  // namespace
}  // namespace agent::config
