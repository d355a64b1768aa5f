#include "operator/cluster_metrics.h"

#include <utility>

#include "metrics/exposition.h"

namespace ringkeeper {
namespace {

constexpr char kMembers[] = "ringkeeper_cluster_members";
constexpr char kReady[] = "ringkeeper_cluster_ready";
constexpr char kPhase[] = "ringkeeper_cluster_phase";
constexpr char kCondition[] = "ringkeeper_cluster_condition";
constexpr char kOperation[] = "ringkeeper_cluster_operation_started_timestamp_seconds";
constexpr char kDurations[] = "ringkeeper_operation_duration_seconds";

}  // namespace

void ClusterMetrics::Set(const kube::ObjectKey& key, ClusterGauges gauges) {
  std::lock_guard<std::mutex> lock(mu_);
  Cluster& c = clusters_[key.ToString()];
  c.key = key;
  c.gauges = std::move(gauges);
}

void ClusterMetrics::OperationDone(const kube::ObjectKey& key, const std::string& kind,
                                   double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Cluster& c = clusters_[key.ToString()];
  c.key = key;
  Durations& d = c.operations[kind];
  d.sum += seconds;
  ++d.count;
}

void ClusterMetrics::Remove(const kube::ObjectKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  clusters_.erase(key.ToString());
}

std::string ClusterMetrics::RenderPrometheus() const {
  metrics::Exposition out;
  out.Declare(kMembers, metrics::Type::kGauge, "Members by state (UN, UJ, DN...).");
  out.Declare(kReady, metrics::Type::kGauge, "1 when the cluster is Ready.");
  out.Declare(kPhase, metrics::Type::kGauge,
              "1 for the cluster's phase: the Ready condition's reason.");
  out.Declare(kCondition, metrics::Type::kGauge,
              "1 for each condition's status, 0 for the others.");
  out.Declare(kOperation, metrics::Type::kGauge, "When the operation under way started.");
  out.Declare(kDurations, metrics::Type::kSummary, "Operations finished, by kind, and their time.");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, c] : clusters_) {
    const metrics::Labels cluster = {{"namespace", c.key.ns}, {"cluster", c.key.name}};
    auto with = [&](std::initializer_list<std::pair<std::string, std::string>> more) {
      metrics::Labels l = cluster;
      l.insert(l.end(), more.begin(), more.end());
      return l;
    };
    const ClusterGauges& g = c.gauges;
    for (const auto& [state, n] : g.members_by_state)
      out.Add(kMembers, with({{"state", state}}), n);
    out.Add(kReady, cluster, g.ready ? 1 : 0);
    if (!g.phase.empty()) out.Add(kPhase, with({{"phase", g.phase}}), 1);
    for (const auto& [type, status] : g.conditions) {
      for (const char* s : {"True", "False", "Unknown"}) {
        out.Add(kCondition, with({{"type", type}, {"status", s}}), status == s ? 1 : 0);
      }
    }
    if (g.operation) {
      const auto& op = *g.operation;
      out.Add(kOperation, with({{"kind", op.kind}, {"phase", op.phase}, {"pod", op.pod}}),
              op.started);
    }
    for (const auto& [kind, d] : c.operations) {
      out.Add(kDurations, with({{"kind", kind}}), d.sum, "_sum");
      out.Add(kDurations, with({{"kind", kind}}), static_cast<double>(d.count), "_count");
    }
  }
  return out.Text();
}

}  // namespace ringkeeper
