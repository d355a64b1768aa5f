#include "kube/yaml.h"

#include "gtest/gtest.h"

namespace kube {
namespace {

TEST(YamlTest, ResolvesScalarsLikeKubernetes) {
  auto o = ObjectFromYaml(R"(
kind: "Cluster"
spec:
  version: "3.1.11"
  plainVersion: 3.1.11
  members: 3
  ratio: 0.5
  paused: false
  quotedBool: "true"
  empty:
  tilde: ~
  list: [a, 1]
  anchored: &x {a: 1}
  alias: *x
)");
  ASSERT_TRUE(o.ok()) << o.status();
  const Json& spec = o->json()["spec"];
  EXPECT_EQ(spec["version"], "3.1.11");
  EXPECT_EQ(spec["plainVersion"], "3.1.11");  // not a number: two dots
  EXPECT_EQ(spec["members"], 3);
  EXPECT_DOUBLE_EQ(spec["ratio"].get<double>(), 0.5);
  EXPECT_EQ(spec["paused"], false);
  EXPECT_EQ(spec["quotedBool"], "true");
  EXPECT_TRUE(spec["empty"].is_null());
  EXPECT_TRUE(spec["tilde"].is_null());
  EXPECT_EQ(spec["list"][1], 1);
  EXPECT_EQ(spec["alias"]["a"], 1);
}

TEST(YamlTest, SeveralDocumentsAndErrors) {
  auto all = ObjectsFromYaml("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_FALSE(ObjectFromYaml("a: 1\n---\nb: 2\n").ok());
  EXPECT_FALSE(ObjectsFromYaml("- a\n- b\n").ok());
  EXPECT_EQ(ObjectsFromYaml("a: [1, 2\n").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kube
