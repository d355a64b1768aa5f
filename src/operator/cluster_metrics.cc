#include "operator/cluster_metrics.h"

#include <utility>

#include "metrics/exposition.h"

namespace ringkeeper {
namespace {

constexpr char kMembers[] = "ringkeeper_cluster_members";
constexpr char kReady[] = "ringkeeper_cluster_ready";

}  // namespace

void ClusterMetrics::Set(const kube::ObjectKey& key, std::map<std::string, int> members_by_state,
                         bool ready) {
  std::lock_guard<std::mutex> lock(mu_);
  clusters_[key.ToString()] = {key, std::move(members_by_state), ready};
}

void ClusterMetrics::Remove(const kube::ObjectKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  clusters_.erase(key.ToString());
}

std::string ClusterMetrics::RenderPrometheus() const {
  metrics::Exposition out;
  out.Declare(kMembers, metrics::Type::kGauge, "Members by state (UN, UJ, DN...).");
  out.Declare(kReady, metrics::Type::kGauge, "1 when the cluster is Ready.");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, g] : clusters_) {
    const kube::ObjectKey& key = g.key;
    for (const auto& [state, n] : g.members_by_state) {
      out.Add(kMembers, {{"namespace", key.ns}, {"cluster", key.name}, {"state", state}}, n);
    }
    out.Add(kReady, {{"namespace", key.ns}, {"cluster", key.name}}, g.ready ? 1 : 0);
  }
  return out.Text();
}

}  // namespace ringkeeper
