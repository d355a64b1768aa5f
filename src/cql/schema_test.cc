#include "cql/schema.h"

#include <gtest/gtest.h>

namespace cql {
namespace {

TEST(ParseTextMap, ReadsWhatTheClientRenders) {
  auto m =
      ParseTextMap(R"({"class":"org.apache.cassandra.locator.NetworkTopologyStrategy","dc1":"3"})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("class"), "org.apache.cassandra.locator.NetworkTopologyStrategy");
  EXPECT_EQ(m->at("dc1"), "3");
}

TEST(ParseTextMap, UndoesEscapesAndTakesTheEmptyMap) {
  auto m = ParseTextMap(R"({"a\"b":"c\\d"})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->at("a\"b"), "c\\d");
  auto empty = ParseTextMap("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ParseTextMap, RefusesWhatIsNotAMap) {
  for (const char* bad :
       {"", "[]", "{", R"({"a":"b")", R"({"a"})", R"({"a":"b"}x)", R"({a:"b"})"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseTextMap(bad).status())) << bad;
  }
}

}  // namespace
}  // namespace cql
