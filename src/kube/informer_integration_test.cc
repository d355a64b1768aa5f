// kube::Informer against the real kube-apiserver: list-then-watch, handlers, resuming across
// an API server restart, and relisting after a 410 Gone.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kube/errors.h"
#include "kube/informer.h"
#include "kube/testing/test_env.h"

namespace kube {
namespace {

using testing::AdminClient;
using testing::CreateNamespace;
using testing::RunEnvScript;
using testing::WaitFor;

Object ConfigMap(const std::string& ns, const std::string& name, const std::string& value) {
  Object o;
  o.set_api_version("v1").set_kind("ConfigMap").set_namespace(ns).set_name(name);
  o.set_label("test", "informer");
  o.json()["data"] = {{"v", value}};
  return o;
}

// Records what handlers saw.
struct Recorder {
  std::mutex mu;
  std::map<std::string, std::string> last_value;  // key -> data.v last delivered
  std::set<std::string> deleted;
  int adds = 0, updates = 0, deletes = 0;

  ResourceEventHandler Handler() {
    return {
        [this](const Object& o) {
          std::lock_guard<std::mutex> l(mu);
          ++adds;
          last_value[o.key().ToString()] = StringField(FieldAt(o.json(), {"data"}), "v");
          deleted.erase(o.key().ToString());
        },
        [this](const Object&, const Object& o) {
          std::lock_guard<std::mutex> l(mu);
          ++updates;
          last_value[o.key().ToString()] = StringField(FieldAt(o.json(), {"data"}), "v");
        },
        [this](const Object& o) {
          std::lock_guard<std::mutex> l(mu);
          ++deletes;
          deleted.insert(o.key().ToString());
          last_value.erase(o.key().ToString());
        },
    };
  }
  std::string Value(const std::string& key) {
    std::lock_guard<std::mutex> l(mu);
    auto it = last_value.find(key);
    return it == last_value.end() ? "" : it->second;
  }
  // {adds, updates}, read under the lock (handlers run on the informer's thread).
  std::pair<int, int> AddsAndUpdates() {
    std::lock_guard<std::mutex> l(mu);
    return {adds, updates};
  }
  bool Deleted(const std::string& key) {
    std::lock_guard<std::mutex> l(mu);
    return deleted.count(key) != 0;
  }
};

class InformerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = AdminClient();
    ns_ = CreateNamespace(*client_, "informer");
  }
  void TearDown() override { (void)client_->Delete(resources::kNamespaces, "", ns_); }

  InformerOptions Options() {
    InformerOptions o;
    o.ns = ns_;
    o.label_selector = "test=informer";
    o.page_size = 7;  // several pages even for small lists
    o.indexes[std::string(kIndexLabel)] = IndexByLabels();
    return o;
  }

  void Put(const std::string& name, const std::string& value) {
    auto current = client_->Get(resources::kConfigMaps, ns_, name);
    Object next = ConfigMap(ns_, name, value);
    absl::StatusOr<Object> written =
        current.ok()
            ? client_->MergePatch(resources::kConfigMaps, ns_, name, {{"data", {{"v", value}}}})
            : client_->Create(resources::kConfigMaps, next);
    ASSERT_TRUE(written.ok()) << written.status();
  }

  // The cache equals a fresh list from the server: same keys, same resourceVersions.
  bool CacheMatchesServer(const Informer& informer) {
    ListOptions options;
    options.label_selector = "test=informer";
    auto list = client_->List(resources::kConfigMaps, ns_, options);
    if (!list.ok() || list->items.size() != informer.store().size()) return false;
    for (const Object& o : list->items) {
      ObjectPtr cached = informer.store().Get(o.key().ToString());
      if (!cached || cached->resource_version() != o.resource_version()) return false;
    }
    return true;
  }

  std::unique_ptr<Client> client_;
  std::string ns_;
};

TEST_F(InformerIntegrationTest, ListsThenWatchesEveryChange) {
  for (int i = 0; i < 20; ++i) Put(absl::StrCat("pre-", i), "0");
  Recorder recorder;
  Informer informer(*client_, resources::kConfigMaps, Options());
  informer.AddHandler(recorder.Handler());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  EXPECT_EQ(informer.store().size(), 20u);
  EXPECT_EQ(recorder.adds, 20);

  Put("live", "1");
  Put("pre-3", "2");
  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "pre-4").ok());
  const std::string ns = ns_;
  ASSERT_TRUE(WaitFor(
      [&] {
        return recorder.Value(ns + "/live") == "1" && recorder.Value(ns + "/pre-3") == "2" &&
               recorder.Deleted(ns + "/pre-4");
      },
      absl::Seconds(10)));
  EXPECT_TRUE(CacheMatchesServer(informer));
  // Indexes work on the live cache.
  EXPECT_EQ(informer.store().ByIndex(kIndexLabel, "test=informer").size(), 20u);
  EXPECT_EQ(informer.stats().lists, 1u);
  informer.Stop();
}

TEST_F(InformerIntegrationTest, TransformsWhatItCachesOnListAndWatch) {
  Put("listed", "0");
  InformerOptions stripped = Options();
  stripped.transform = StripManagedFields;
  Informer informer(*client_, resources::kConfigMaps, stripped);
  Informer whole(*client_, resources::kConfigMaps, Options());
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  informer.Start();
  whole.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  ASSERT_TRUE(whole.WaitForSync(absl::Seconds(10)));
  Put("watched", "1");
  const std::string ns = ns_;
  ASSERT_TRUE(WaitFor([&] { return recorder.Value(ns + "/watched") == "1"; }, absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return whole.store().size() == 2; }, absl::Seconds(10)));
  for (const char* name : {"listed", "watched"}) {
    const std::string key = ns + "/" + name;
    // The server keeps managedFields on every object it writes; the untransformed cache shows
    // them, the transformed one has the object without them, labels and data untouched.
    ASSERT_TRUE(whole.store().Get(key)->json()["metadata"].contains("managedFields")) << key;
    ObjectPtr cached = informer.store().Get(key);
    ASSERT_TRUE(cached) << key;
    EXPECT_FALSE(cached->json()["metadata"].contains("managedFields")) << key;
    EXPECT_EQ(cached->label("test"), "informer");
    EXPECT_EQ(cached->resource_version(), whole.store().Get(key)->resource_version());
  }
  EXPECT_EQ(informer.store().Get(ns + "/listed")->json()["data"]["v"], "0");
  informer.Stop();
  whole.Stop();
}

TEST_F(InformerIntegrationTest, MetadataOnlyCachesNamesLabelsAndVersionsNotData) {
  Put("listed", "0");
  InformerOptions options = Options();
  options.metadata_only = true;
  Informer informer(*client_, resources::kConfigMaps, options);
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  Put("watched", "1");
  Put("listed", "2");
  const std::string ns = ns_;
  // "listed" changed in its data only: in the cache only its version moves, and no handler
  // hears of it (there is nothing new for one to read).
  ASSERT_TRUE(WaitFor([&] { return informer.stats().unchanged == 1; }, absl::Seconds(10)));
  EXPECT_EQ(recorder.AddsAndUpdates(), std::make_pair(2, 0));
  EXPECT_TRUE(CacheMatchesServer(informer));  // same keys, same resourceVersions
  for (const char* name : {"listed", "watched"}) {
    ObjectPtr cached = informer.store().Get(ns + "/" + name);
    ASSERT_TRUE(cached) << name;
    EXPECT_EQ(cached->label("test"), "informer");
    EXPECT_EQ(cached->name(), name);
    EXPECT_FALSE(cached->uid().empty());
    EXPECT_FALSE(cached->json().contains("data")) << cached->Dump();  // metadata only
  }
  EXPECT_EQ(informer.store().ByIndex(kIndexLabel, "test=informer").size(), 2u);
  const Informer* informers[] = {&informer};
  const std::string metrics = RenderPrometheus(informers);
  EXPECT_NE(metrics.find(
                "ringkeeper_informer_unchanged_total{resource=\"configmaps\",view=\"metadata\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find("ringkeeper_informer_objects{resource=\"configmaps\",view=\"metadata\"} 2"),
      std::string::npos)
      << metrics;
  informer.Stop();
}

TEST(StripManagedFieldsTest, DropsServerSideApplyBookkeepingOnly) {
  Json object = {{"metadata",
                  {{"name", "a"},
                   {"managedFields", Json::array({{{"manager", "kubectl"}}})},
                   {"annotations",
                    {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}, {"keep", "1"}}}}},
                 {"spec", {{"managedFields", 1}}}};
  StripManagedFields(object);
  EXPECT_EQ(object, Json({{"metadata", {{"name", "a"}, {"annotations", {{"keep", "1"}}}}},
                          {"spec", {{"managedFields", 1}}}}));
  Json only_last_applied = {
      {"metadata",
       {{"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}}}}}};
  StripManagedFields(only_last_applied);
  EXPECT_EQ(only_last_applied, Json({{"metadata", Json::object()}}));
  Json not_an_object = Json::array();
  StripManagedFields(not_an_object);  // no metadata: left alone, no throw
  EXPECT_EQ(not_an_object, Json::array());
}

TEST_F(InformerIntegrationTest, SurvivesApiServerRestartWithoutMissingAnUpdate) {
  for (int i = 0; i < 10; ++i) Put(absl::StrCat("cm-", i), "before");
  Recorder recorder;
  Informer informer(*client_, resources::kConfigMaps, Options());
  informer.AddHandler(recorder.Handler());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  const uint64_t watches_before = informer.stats().watches;

  ASSERT_TRUE(RunEnvScript("restart-apiserver").ok());
  // Changes made before the informer has reconnected: it must still see every one.
  for (int i = 0; i < 10; ++i) Put(absl::StrCat("cm-", i), "after");
  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "cm-0").ok());
  Put("new", "after");

  const std::string ns = ns_;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 1; i < 10; ++i) {
          if (recorder.Value(absl::StrCat(ns, "/cm-", i)) != "after") return false;
        }
        return recorder.Deleted(ns + "/cm-0") && recorder.Value(ns + "/new") == "after";
      },
      absl::Seconds(60)))
      << "stats: watches=" << informer.stats().watches << " errors=" << informer.stats().errors;
  EXPECT_TRUE(CacheMatchesServer(informer));
  EXPECT_GT(informer.stats().watches, watches_before) << "the watch was never re-established";
  informer.Stop();
}

TEST_F(InformerIntegrationTest, RelistsAfterGoneAndDeliversTheDifference) {
  for (int i = 0; i < 10; ++i) Put(absl::StrCat("cm-", i), "v1");
  Recorder recorder;
  Informer informer(*client_, resources::kConfigMaps, Options());
  informer.AddHandler(recorder.Handler());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  informer.Stop();
  const std::string stale_rv = informer.last_resource_version();

  // While the informer is away: changes, deletes, then compaction and a restart so neither
  // etcd nor the watch cache can replay from its resourceVersion.
  for (int i = 0; i < 5; ++i) Put(absl::StrCat("cm-", i), "v2");
  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns_, "cm-9").ok());
  Put("late", "v2");
  ASSERT_TRUE(RunEnvScript("compact-etcd").ok());
  ASSERT_TRUE(RunEnvScript("restart-apiserver").ok());

  // The raw watch from that version is refused with a typed 410.
  WatchOptions from_stale;
  from_stale.resource_version = stale_rv;
  absl::Status raw = client_->Watch(
      resources::kConfigMaps, ns_, from_stale, [](const WatchEvent&) { return false; }, nullptr);
  EXPECT_TRUE(IsGone(raw)) << raw;

  informer.Start();  // resumes from stale_rv: 410, relist
  const std::string ns = ns_;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < 5; ++i) {
          if (recorder.Value(absl::StrCat(ns, "/cm-", i)) != "v2") return false;
        }
        return recorder.Deleted(ns + "/cm-9") && recorder.Value(ns + "/late") == "v2";
      },
      absl::Seconds(60)));
  EXPECT_GE(informer.stats().gone, 1u);
  EXPECT_EQ(informer.stats().lists, 2u);
  EXPECT_TRUE(CacheMatchesServer(informer));
  informer.Stop();
  // Exactly the difference was delivered: unchanged objects were not re-delivered.
  std::lock_guard<std::mutex> l(recorder.mu);
  EXPECT_EQ(recorder.updates, 5);
  EXPECT_EQ(recorder.adds, 11);
  EXPECT_EQ(recorder.deletes, 1);
}

TEST_F(InformerIntegrationTest, OwnerHandlerMapsToTheOwnersKey) {
  std::mutex mu;
  std::set<std::string> keys, added;
  Informer informer(*client_, resources::kConfigMaps, Options());
  informer.AddHandler(EnqueueControllerOwner("Cluster", [&](const ObjectKey& k) {
    std::lock_guard<std::mutex> l(mu);
    keys.insert(k.ToString());
  }));
  // The objects' owners do not exist, so the real garbage collector may delete them at any
  // moment: wait for their adds, not for them to be in the cache.
  informer.AddHandler({[&](const Object& o) {
                         std::lock_guard<std::mutex> l(mu);
                         added.insert(o.name());
                       },
                       nullptr, nullptr});
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(absl::Seconds(10)));
  Object owned = ConfigMap(ns_, "owned", "x");
  owned.add_owner_reference({"cassandra.rook.io/v1alpha1", "Cluster", "ring", "uid-1", true});
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, owned).ok());
  Object other = ConfigMap(ns_, "other", "x");
  other.add_owner_reference({"apps/v1", "StatefulSet", "sts", "uid-2", true});
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, other).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return added.count("owned") && added.count("other");
      },
      absl::Seconds(10)));
  informer.Stop();  // before taking the lock: a handler may be waiting for it
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(keys, (std::set<std::string>{ns_ + "/ring"}));
}

}  // namespace
}  // namespace kube
