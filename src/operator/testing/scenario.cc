#include "operator/testing/scenario.h"

#include "absl/strings/str_join.h"
#include "kube/resource.h"

namespace ringkeeper::testing {

using kube::Json;
namespace res = kube::resources;

Json ClusterManifest(int members, int racks) {
  Json rack_list = Json::array();
  for (int r = 1; r <= racks; ++r) {
    rack_list.push_back(
        {{"name", "r" + std::to_string(r)},
         {"members", members},
         {"storage",
          {{"volumeClaimTemplates",
            {{{"metadata", {{"name", "data"}}},
              {"spec", {{"resources", {{"requests", {{"storage", "1Gi"}}}}}}}}}}}}});
  }
  return Json{{"apiVersion", "cassandra.rook.io/v1alpha1"},
              {"kind", "Cluster"},
              {"metadata", {{"name", "c"}, {"namespace", "ns"}}},
              {"spec",
               {{"version", "5.0.9"},
                {"repository", "cassandra"},
                {"dataCenter", {{"name", "dc1"}, {"racks", rack_list}}}}}};
}

Scenario::Scenario() { RestartOperator(); }

void Scenario::RestartOperator() {
  ReconcilerOptions options;
  options.resync = absl::Seconds(15);
  options.short_wait = absl::Seconds(5);
  options.backup_storage = backup_storage;
  options.metrics = &metrics;
  options.operator_pods = {.ns = "ringkeeper-system",
                           .labels = {{"app.kubernetes.io/name", "ringkeeper-operator"}}};
  reconciler = std::make_unique<ClusterReconciler>(world.seams(), world.caches(), options);
}

void Scenario::CreateReady(int members, int racks) {
  key = world.CreateCluster(ClusterManifest(members, racks));
  ASSERT_TRUE(RunUntil([&] { return Ready(); })) << world.Status().dump(2);
}

absl::StatusOr<kube::Result> Scenario::Pass() {
  auto result = reconciler->Reconcile(key);
  world.Tick();
  return result;
}

bool Scenario::RunUntil(const std::function<bool()>& done, int max_passes,
                        const std::function<void()>& each) {
  for (int i = 0; i < max_passes; ++i) {
    auto result = Pass();
    if (!result.ok()) ADD_FAILURE() << "pass " << i << ": " << result.status();
    if (each) each();
    if (done()) return true;
  }
  return false;
}

void Scenario::ExpectQuiet() {
  world.Tick();
  const size_t before = world.write_log.size();
  const Json status_before = world.Status();
  auto result = reconciler->Reconcile(key);
  EXPECT_TRUE(result.ok()) << result.status();
  std::vector<std::string> writes(world.write_log.begin() + static_cast<long>(before),
                                  world.write_log.end());
  EXPECT_TRUE(writes.empty()) << "the next pass wrote: " << absl::StrJoin(writes, ", ")
                              << "; status changes: "
                              << Json::diff(status_before, world.Status()).dump();
  // Throughout the scenario, each agent was spoken to as its pod serves (agent_credentials.h).
  EXPECT_TRUE(world.agent_tls_refusals.empty())
      << "agents reached in the wrong way: " << absl::StrJoin(world.agent_tls_refusals, "; ");
  EXPECT_TRUE(world.cql_tls_refusals.empty())
      << "CQL sessions in the wrong encryption: " << absl::StrJoin(world.cql_tls_refusals, "; ");
}

void Scenario::SetMembers(int members, const std::string& rack) {
  Json racks = world.Cluster()->json()["spec"]["dataCenter"]["racks"];
  for (auto& r : racks) {
    if (r["name"] == rack) r["members"] = members;
  }
  world.PatchCluster({{"spec", {{"dataCenter", {{"racks", racks}}}}}});
}

int Scenario::NotReadyPods() const {
  int n = 0;
  for (const auto& pod : world.List(res::kPods)) {
    bool ready = false;
    for (const auto& c : pod->json()["status"]["conditions"]) {
      ready |= c.value("type", "") == "Ready" && c.value("status", "") == "True";
    }
    n += !ready;
  }
  return n;
}

}  // namespace ringkeeper::testing
