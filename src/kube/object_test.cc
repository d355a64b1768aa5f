#include "kube/object.h"

#include "gtest/gtest.h"

namespace kube {
namespace {

TEST(ObjectTest, ParsesAndReadsMetadata) {
  auto o = Object::Parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a",
    "namespace":"ns","uid":"u1","resourceVersion":"7","generation":3,
    "labels":{"app":"cassandra"},"ownerReferences":[{"apiVersion":"apps/v1",
    "kind":"StatefulSet","name":"rack1","uid":"s1","controller":true}]},
    "spec":{"unknownField":{"x":[1,2]}}})");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->name(), "a");
  EXPECT_EQ(o->ns(), "ns");
  EXPECT_EQ(o->key().ToString(), "ns/a");
  EXPECT_EQ(o->resource_version(), "7");
  EXPECT_EQ(o->generation(), 3);
  EXPECT_EQ(o->label("app").value_or(""), "cassandra");
  EXPECT_FALSE(o->label("other").has_value());
  auto owner = o->controller_owner();
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->kind, "StatefulSet");
  EXPECT_EQ(owner->uid, "s1");
  // Unknown fields survive a round trip untouched.
  auto again = Object::Parse(o->Dump());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->json()["spec"]["unknownField"]["x"][1], 2);
}

TEST(ObjectTest, WrongTypesReadAsEmpty) {
  auto o = Object::Parse(R"({"metadata":{"name":5,"labels":[],"generation":"x",
    "ownerReferences":{"a":1}}})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->name(), "");
  EXPECT_TRUE(o->labels().empty());
  EXPECT_EQ(o->generation(), 0);
  EXPECT_TRUE(o->owner_references().empty());
}

TEST(ObjectTest, FieldAtWalksOnlyObjects) {
  const Json j = Json::parse(R"({"a": {"b": {"c": 3}, "l": [1]}, "s": "x"})");
  EXPECT_EQ(FieldAt(j, {"a", "b", "c"}), 3);
  EXPECT_TRUE(FieldAt(j, {"a", "b"}).is_object());
  EXPECT_TRUE(FieldAt(j, {"a", "missing", "c"}).is_null());
  EXPECT_TRUE(FieldAt(j, {"a", "l", "x"}).is_null());  // through an array: null, no throw
  EXPECT_TRUE(FieldAt(j, {"s", "x"}).is_null());
  EXPECT_TRUE(FieldAt(Json(), {"a"}).is_null());
  EXPECT_EQ(FieldAt(j, {}), j);
}

TEST(ObjectTest, RefusesNonObjectsAndGarbage) {
  EXPECT_FALSE(Object::Parse("[1,2]").ok());
  EXPECT_FALSE(Object::Parse("{\"a\":").ok());
  EXPECT_FALSE(Object::Parse("").ok());
  EXPECT_EQ(Object::Parse("nope").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ObjectTest, SettersBuildMetadata) {
  Object o;
  o.set_api_version("v1").set_kind("ConfigMap").set_name("c").set_namespace("n");
  o.set_label("a", "b").set_annotation("x", "y");
  o.add_owner_reference({"cassandra.rook.io/v1alpha1", "Cluster", "c1", "uid-1", true});
  EXPECT_EQ(o.labels().at("a"), "b");
  EXPECT_EQ(o.annotation("x").value_or(""), "y");
  EXPECT_EQ(o.controller_owner()->name, "c1");
  EXPECT_EQ(o.json()["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);
}

TEST(ObjectTest, ObjectKeyFromString) {
  EXPECT_EQ(ObjectKey::FromString("ns/name"), (ObjectKey{"ns", "name"}));
  EXPECT_EQ(ObjectKey::FromString("name"), (ObjectKey{"", "name"}));
}

TEST(ObjectTest, Rfc3339TimesReadBackWhatIsWrittenAndRefuseTheRest) {
  const absl::Time t = absl::FromUnixSeconds(1796263200);
  EXPECT_EQ(FormatRfc3339(t), "2026-12-03T02:00:00Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(t)), t);
  EXPECT_EQ(ParseRfc3339("2026-12-03T03:00:00.5+01:00"), t + absl::Milliseconds(500));
  EXPECT_EQ(ParseRfc3339(""), std::nullopt);
  EXPECT_EQ(ParseRfc3339("yesterday"), std::nullopt);
}

TEST(ObjectTest, RedactsSecretsForLogs) {
  Json secret = {
      {"kind", "Secret"},
      {"data", {{"password", "c2VjcmV0"}}},
      {"stringData", {{"token", "plain"}}},
      {"metadata",
       {{"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{\"data\":1}"}}}}}};
  const std::string dumped = RedactedForLog(secret).dump();
  EXPECT_EQ(dumped.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(dumped.find("plain"), std::string::npos);
  EXPECT_EQ(dumped.find("\"data\":1"), std::string::npos);
  Json list = {{"kind", "SecretList"}, {"items", Json::array({secret})}};
  EXPECT_EQ(RedactedForLog(list).dump().find("c2VjcmV0"), std::string::npos);
  Json event = {{"type", "ADDED"}, {"object", secret}};
  EXPECT_EQ(RedactedForLog(event).dump().find("c2VjcmV0"), std::string::npos);
}

}  // namespace
}  // namespace kube
