#include "operator/testing/crd_schema.h"

#include "api/v1alpha1/catalogue.h"
#include "gtest/gtest.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;

TEST(CrdSchemaTest, TheStatusSchemaIsLoadedFromTheCrd) {
  const Json& schema = ClusterStatusSchema();
  ASSERT_TRUE(schema.contains("properties"))
      << "charts/ringkeeper/files/crds not read: " << schema.dump();
  EXPECT_TRUE(schema["properties"].contains("operation"));
}

TEST(CrdSchemaTest, EveryOperationKindAndPhaseTheOperatorWritesIsAccepted) {
  for (int i = 0; i <= static_cast<int>(OperationKind::kRecreateStatefulSet); ++i) {
    Json status = {{"operation",
                    {{"kind", std::string(ToString(static_cast<OperationKind>(i)))},
                     {"phase", std::string(ToString(Phase::kReplacing))}}}};
    EXPECT_TRUE(ApplySchema(status, ClusterStatusSchema(), "status").ok()) << status.dump();
  }
}

TEST(CrdSchemaTest, UnknownEnumValuesAreRefusedAndUnknownFieldsPruned) {
  Json bad = {{"operation", {{"kind", "Bogus"}}}};
  absl::Status s = ApplySchema(bad, ClusterStatusSchema(), "status");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("status.operation.kind"), std::string::npos) << s;
  Json extra = {{"operation", {{"kind", "Replace"}, {"notInTheSchema", 1}}}, {"nope", true}};
  ASSERT_TRUE(ApplySchema(extra, ClusterStatusSchema(), "status").ok());
  EXPECT_EQ(extra, (Json{{"operation", {{"kind", "Replace"}}}}));
  Json wrong_type = {{"membersSummary", 3}};
  EXPECT_FALSE(ApplySchema(wrong_type, ClusterStatusSchema(), "status").ok());
}

}  // namespace
}  // namespace ringkeeper::testing
