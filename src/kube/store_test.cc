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

// A store with the common indexes.
void AddCommonIndexes(Store& store) {
  store.AddIndex(std::string(kIndexNamespace), IndexByNamespace());
  store.AddIndex(std::string(kIndexOwnerUid), IndexByOwnerUid());
  store.AddIndex(std::string(kIndexLabel), IndexByLabels());
}

TEST(StoreTest, IndexesFollowUpdatesAndRemovals) {
  Store store;
  AddCommonIndexes(store);
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
  AddCommonIndexes(store);
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

Object Versioned(const std::string& version, const std::string& phase) {
  Object o;
  o.set_namespace("a").set_name("p").set_label("app", "x");
  o.json()["metadata"]["resourceVersion"] = version;
  o.json()["status"]["phase"] = phase;
  return o;
}

TEST(StoreTest, PutTellsAVersionOnlyChangeFromAChange) {
  Store store;
  AddCommonIndexes(store);
  Store::PutResult first = store.Put(Versioned("1", "Pending"));
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(first.previous, nullptr);
  EXPECT_EQ(first.stored->resource_version(), "1");

  // Same content, newer version: only the version moves; the old object is not read.
  Store::PutResult same = store.Put(Versioned("2", "Pending"));
  EXPECT_FALSE(same.changed);
  EXPECT_EQ(same.previous, nullptr);
  EXPECT_EQ(store.ResourceVersionOf("a/p"), "2");
  EXPECT_EQ(store.Get("a/p")->resource_version(), "2");
  EXPECT_EQ(store.Get("a/p")->json(), Versioned("2", "Pending").json());

  Store::PutResult moved = store.Put(Versioned("3", "Running"));
  EXPECT_TRUE(moved.changed);
  ASSERT_NE(moved.previous, nullptr);
  EXPECT_EQ(moved.previous->resource_version(), "2");
  EXPECT_EQ(moved.previous->json()["status"]["phase"], "Pending");
  EXPECT_EQ(store.ByIndex(kIndexLabel, "app=x").front()->json()["status"]["phase"], "Running");

  EXPECT_GT(store.bytes(), std::string("a/p").size() + 1);

  // Upsert (tests and fakes) still answers the object it replaced, at its version.
  EXPECT_EQ(
      store.Upsert(std::make_shared<const Object>(Versioned("4", "Running")))->resource_version(),
      "3");
  store.Remove("a/p");
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(StoreTest, HasOnlyTheIndexesAddedToIt) {
  Store store;
  store.Upsert(Make("a", "p1", "cassandra", "s1"));
  EXPECT_TRUE(store.ByIndex(kIndexLabel, "app=cassandra").empty());
  store.AddIndex(std::string(kIndexLabel), IndexByLabels());
  EXPECT_EQ(store.ByIndex(kIndexLabel, "app=cassandra").size(), 1u);
}

}  // namespace
}  // namespace kube
