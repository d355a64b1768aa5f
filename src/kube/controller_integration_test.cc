// The whole controller runtime against the real API server: informers feed a work queue
// through owner mapping, a controller's workers reconcile with server-side apply, and changes
// to either side bring the world back to the desired state.
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kube/controller.h"
#include "kube/informer.h"
#include "kube/testing/test_env.h"

namespace kube {
namespace {

using testing::WaitFor;

constexpr char kManager[] = "ringkeeper-test";

// Desired state: every ConfigMap labelled role=parent has a child "<name>-child" holding a
// copy of its data and owned by it.
class MirrorReconciler : public Reconciler {
 public:
  MirrorReconciler(Client& client, const Informer& parents) : client_(client), parents_(parents) {}

  absl::StatusOr<Result> Reconcile(const ObjectKey& key) override {
    ObjectPtr parent = parents_.store().Get(key.ToString());
    if (!parent || parent->being_deleted()) return Result{};  // GC removes the child
    Object child;
    child.set_api_version("v1")
        .set_kind("ConfigMap")
        .set_namespace(key.ns)
        .set_name(key.name + "-child");
    child.set_label("role", "child");
    child.add_owner_reference({"v1", "ConfigMap", parent->name(), parent->uid(), true});
    child.json()["data"] = parent->json().value("data", Json::object());
    auto applied = client_.Apply(resources::kConfigMaps, child, {kManager, true});
    if (!applied.ok()) return applied.status();
    return Result{};
  }

 private:
  Client& client_;
  const Informer& parents_;
};

TEST(ControllerIntegrationTest, ReconcilesThroughInformersAndOwnerMapping) {
  auto client = testing::AdminClient();
  const std::string ns = testing::CreateNamespace(*client, "controller");

  InformerOptions parent_options;
  parent_options.ns = ns;
  parent_options.label_selector = "role=parent";
  Informer parents(*client, resources::kConfigMaps, parent_options);
  InformerOptions child_options = parent_options;
  child_options.label_selector = "role=child";
  Informer children(*client, resources::kConfigMaps, child_options);

  WorkQueue queue;
  MirrorReconciler reconciler(*client, parents);
  Controller controller("mirror", reconciler, queue, /*workers=*/2);
  parents.AddHandler(EnqueueSelf([&](const ObjectKey& k) { controller.Enqueue(k); }));
  children.AddHandler(
      EnqueueControllerOwner("ConfigMap", [&](const ObjectKey& k) { controller.Enqueue(k); }));
  parents.Start();
  children.Start();
  ASSERT_TRUE(parents.WaitForSync(absl::Seconds(10)));
  ASSERT_TRUE(children.WaitForSync(absl::Seconds(10)));
  controller.Start();

  auto child_value = [&](const std::string& name) -> std::string {
    auto c = client->Get(resources::kConfigMaps, ns, name + "-child");
    return c.ok() ? c->json()["data"].value("v", "") : "";
  };
  for (int i = 0; i < 5; ++i) {
    Object parent;
    parent.set_api_version("v1")
        .set_kind("ConfigMap")
        .set_namespace(ns)
        .set_name(absl::StrCat("p", i));
    parent.set_label("role", "parent");
    parent.json()["data"] = {{"v", "one"}};
    ASSERT_TRUE(client->Create(resources::kConfigMaps, parent).ok());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < 5; ++i) {
          if (child_value(absl::StrCat("p", i)) != "one") return false;
        }
        return true;
      },
      absl::Seconds(20)));

  // A change to the parent flows to the child.
  ASSERT_TRUE(
      client->MergePatch(resources::kConfigMaps, ns, "p1", {{"data", {{"v", "two"}}}}).ok());
  ASSERT_TRUE(WaitFor([&] { return child_value("p1") == "two"; }, absl::Seconds(20)));

  // A deleted or tampered child is repaired: its events map to the owner's key.
  ASSERT_TRUE(client->Delete(resources::kConfigMaps, ns, "p2-child").ok());
  ASSERT_TRUE(
      client->MergePatch(resources::kConfigMaps, ns, "p3-child", {{"data", {{"v", "x"}}}}).ok());
  ASSERT_TRUE(WaitFor([&] { return child_value("p2") == "one" && child_value("p3") == "one"; },
                      absl::Seconds(20)));

  // Idempotent: with nothing changing, re-reconciling writes nothing.
  const std::string rv = client->Get(resources::kConfigMaps, ns, "p0-child")->resource_version();
  controller.Enqueue({ns, "p0"});
  const uint64_t reconciles = controller.metrics().reconciles;
  ASSERT_TRUE(
      WaitFor([&] { return controller.metrics().reconciles > reconciles; }, absl::Seconds(10)));
  EXPECT_EQ(client->Get(resources::kConfigMaps, ns, "p0-child")->resource_version(), rv);

  controller.Stop();
  parents.Stop();
  children.Stop();
  EXPECT_EQ(controller.metrics().errors, 0u);
  std::string metrics;
  controller.RenderPrometheus(metrics);
  EXPECT_NE(metrics.find("ringkeeper_reconcile_total{controller=\"mirror\"}"), std::string::npos)
      << metrics;
  (void)client->Delete(resources::kNamespaces, "", ns);
}

}  // namespace
}  // namespace kube
