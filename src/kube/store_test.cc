#include "kube/store.h"

#include "gtest/gtest.h"

namespace kube {
namespace {

ObjectPtr Make(const std::string& ns, const std::string& name, const std::string& app,
               const std::string& owner_uid) {
  Object o;
  o.set_namespace(ns).set_name(name).set_label("app", app);
  if (!owner_uid.empty()) o.add_owner_reference({"apps/v1", "StatefulSet", "s", owner_uid, true});
  return std::make_shared<const Object>(std::move(o));
}

TEST(StoreTest, IndexesFollowUpdatesAndRemovals) {
  Store store;
  EXPECT_EQ(store.Upsert(Make("a", "p1", "cassandra", "s1")), nullptr);
  store.Upsert(Make("a", "p2", "cassandra", "s1"));
  store.Upsert(Make("b", "p1", "web", ""));
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.ByIndex(kIndexNamespace, "a").size(), 2u);
  EXPECT_EQ(store.ByIndex(kIndexOwnerUid, "s1").size(), 2u);
  EXPECT_EQ(store.ByIndex(kIndexLabel, "app=cassandra").size(), 2u);

  // Relabel: the old index value must forget the object.
  auto previous = store.Upsert(Make("a", "p2", "web", "s2"));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ(previous->label("app").value_or(""), "cassandra");
  EXPECT_EQ(store.ByIndex(kIndexLabel, "app=cassandra").size(), 1u);
  EXPECT_EQ(store.ByIndex(kIndexLabel, "app=web").size(), 2u);
  EXPECT_EQ(store.ByIndex(kIndexOwnerUid, "s1").size(), 1u);

  EXPECT_NE(store.Remove("a/p1"), nullptr);
  EXPECT_EQ(store.Remove("a/p1"), nullptr);
  EXPECT_TRUE(store.ByIndex(kIndexOwnerUid, "s1").empty());
  EXPECT_EQ(store.Get("b/p1")->name(), "p1");
  EXPECT_EQ(store.Get("missing"), nullptr);
  EXPECT_TRUE(store.ByIndex("no-such-index", "x").empty());
}

TEST(StoreTest, CustomIndexCoversExistingObjects) {
  Store store;
  store.Upsert(Make("a", "p1", "cassandra", ""));
  store.AddIndex("name", [](const Object& o) { return std::vector<std::string>{o.name()}; });
  EXPECT_EQ(store.ByIndex("name", "p1").size(), 1u);
}

TEST(StoreTest, SnapshotsOutliveChanges) {
  Store store;
  store.Upsert(Make("a", "p1", "v1", ""));
  ObjectPtr held = store.Get("a/p1");
  store.Upsert(Make("a", "p1", "v2", ""));
  EXPECT_EQ(held->label("app").value_or(""), "v1");
}

TEST(StoreTest, ReadsBackExactlyWhatWasStored) {
  // Packed on the way in, unpacked on every read: every JSON type must come back as it was.
  Object o(Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "a", "resourceVersion": "42", "labels": {"x": "y"},
                 "annotations": {"note": "caf\u00e9 \u2603 \"quoted\""}},
    "spec": {"replicas": 3, "big": 9007199254740993, "negative": -17, "ratio": 0.25,
             "on": true, "off": false, "none": null, "empty": {}, "list": [],
             "nested": [[1, "two", {"three": [3.5e10]}]], "text": ""}
  })"));
  Store store;
  store.Upsert(std::make_shared<const Object>(o));
  ObjectPtr back = store.Get("a/p");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->json(), o.json());
  EXPECT_EQ(back->Dump(), o.Dump());
  EXPECT_EQ(store.ResourceVersionOf("a/p"), "42");
  EXPECT_EQ(store.ResourceVersionOf("a/none"), "");
  EXPECT_EQ(store.List().front()->json(), o.json());
  EXPECT_EQ(store.ByIndex(kIndexLabel, "x=y").front()->json(), o.json());
  EXPECT_EQ(store.Remove("a/p")->json(), o.json());
}

}  // namespace
}  // namespace kube
