#include "operator/repair_metrics.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/time/time.h"
#include "api/v1alpha1/repair.h"
#include "metrics/exposition.h"

namespace ringkeeper {
namespace {

constexpr char kSegments[] = "ringkeeper_repair_segments";
constexpr char kPostponed[] = "ringkeeper_repair_postponed_total";
constexpr char kSegmentSeconds[] = "ringkeeper_repair_segment_seconds_total";
constexpr char kFailures[] = "ringkeeper_repair_segment_failures_total";
constexpr char kDuration[] = "ringkeeper_repair_duration_seconds";
constexpr char kMismatching[] = "ringkeeper_repair_preview_mismatching_ranges";
constexpr char kLastSuccess[] = "ringkeeper_repair_last_success_timestamp_seconds";
constexpr char kTableLastSuccess[] = "ringkeeper_repair_table_last_success_timestamp_seconds";
constexpr char kTableGcGrace[] = "ringkeeper_repair_table_gc_grace_seconds";
constexpr char kTableRepairBy[] = "ringkeeper_repair_table_repair_by_timestamp_seconds";
constexpr char kByPhase[] = "ringkeeper_repairs";

}  // namespace

std::string RenderRepairMetrics(const kube::Store& repairs, const kube::Store& clusters) {
  metrics::Exposition out;
  out.Declare(kSegments, metrics::Type::kGauge, "A running Repair's segments, by state.");
  out.Declare(kPostponed, metrics::Type::kCounter,
              "Passes whose next segment was held back, by reason.");
  out.Declare(kSegmentSeconds, metrics::Type::kCounter, "Time spent in finished segments.");
  out.Declare(kFailures, metrics::Type::kCounter,
              "Segment attempts that failed or timed out (each retried, 3 attempts at most).");
  out.Declare(kDuration, metrics::Type::kGauge,
              "A finished Repair's time from its start to its completion, by phase.");
  out.Declare(kMismatching, metrics::Type::kGauge,
              "Ranges a preview Repair found out of sync so far.");
  out.Declare(kLastSuccess, metrics::Type::kGauge,
              "When every table of the keyspace was last repaired (0: one never was).");
  out.Declare(kTableLastSuccess, metrics::Type::kGauge,
              "When the table was last repaired in full (0: never, as far as recorded).");
  out.Declare(kTableGcGrace, metrics::Type::kGauge,
              "The table's gc_grace_seconds: repair it again within this.");
  out.Declare(kTableRepairBy, metrics::Type::kGauge,
              "When the table must be repaired again: its last repair (or, never repaired, when "
              "the operator first saw it) plus gc_grace_seconds.");
  out.Declare(kByPhase, metrics::Type::kGauge, "Repair objects kept, by phase.");
  using ClusterKey = std::pair<std::string, std::string>;  // namespace, cluster
  std::map<std::pair<ClusterKey, std::string>, int> by_phase;
  for (const kube::ObjectPtr& r : repairs.List()) {
    const kube::Json& spec = kube::FieldAt(r->json(), {"spec"});
    const std::string cluster = kube::StringField(spec, "cluster");
    const std::string type = kube::StringField(spec, "type");
    const RepairStatus s = ParseRepairStatus(kube::FieldAt(r->json(), {"status"}));
    ++by_phase[{{r->ns(), cluster}, s.phase.empty() ? backup_phase::kPending : s.phase}];
    const metrics::Labels labels = {
        {"namespace", r->ns()}, {"cluster", cluster}, {"repair", r->name()}};
    if (!s.Finished() && !s.phase.empty()) {
      auto with = [&](const char* k, const std::string& v) {
        metrics::Labels l = labels;
        l.emplace_back(k, v);
        return l;
      };
      out.Add(kSegments, with("state", "total"), s.Total());
      out.Add(kSegments, with("state", "done"), s.Done());
      out.Add(kSegments, with("state", "running"), double(s.running.size()));
      out.Add(kSegments, with("state", "retrying"), double(s.retrying.size()));
      for (const auto& [reason, n] : s.postponed)
        out.Add(kPostponed, with("reason", reason), double(n));
      out.Add(kSegmentSeconds, labels, double(s.segment_seconds));
      out.Add(kFailures, labels, double(s.failed_attempts));
      if (type == repair_type::kPreview) {
        int64_t ranges = 0;
        for (const auto& k : s.keyspaces) ranges += k.mismatching_ranges;
        out.Add(kMismatching, labels, double(ranges));
      }
    }
    const std::optional<absl::Time> started = kube::ParseRfc3339(s.start_time);
    const std::optional<absl::Time> completed = kube::ParseRfc3339(s.completion_time);
    if (s.Finished() && started && completed) {
      metrics::Labels l = labels;
      l.emplace_back("phase", s.phase);
      out.Add(kDuration, l, absl::ToDoubleSeconds(*completed - *started));
    }
  }
  // Coverage: from the Clusters' status.repairCoverage, which outlives the Repairs.
  auto seconds = [](const repair::TableCoverage& t) {
    return t.Repaired() ? absl::ToDoubleSeconds(t.last_repaired - absl::UnixEpoch()) : 0.0;
  };
  for (const kube::ObjectPtr& c : clusters.List()) {
    std::map<std::string, double> keyspace_last;  // the oldest of its tables
    for (const repair::TableCoverage& t :
         ParseRepairCoverage(kube::FieldAt(c->json(), {"status"}))) {
      const metrics::Labels labels = {{"namespace", c->ns()},
                                      {"cluster", c->name()},
                                      {"keyspace", t.keyspace},
                                      {"table", t.table}};
      out.Add(kTableLastSuccess, labels, seconds(t));
      out.Add(kTableGcGrace, labels, double(t.gc_grace_seconds));
      const absl::Time since = t.Repaired() ? t.last_repaired : t.first_seen;
      if (since != absl::InfinitePast()) {
        out.Add(
            kTableRepairBy, labels,
            absl::ToDoubleSeconds(since + absl::Seconds(t.gc_grace_seconds) - absl::UnixEpoch()));
      }
      double& oldest = keyspace_last.try_emplace(t.keyspace, seconds(t)).first->second;
      oldest = std::min(oldest, seconds(t));
    }
    for (const auto& [keyspace, t] : keyspace_last) {
      out.Add(kLastSuccess,
              {{"namespace", c->ns()}, {"cluster", c->name()}, {"keyspace", keyspace}}, t);
    }
  }
  for (const auto& [key, n] : by_phase) {
    out.Add(kByPhase,
            {{"namespace", key.first.first}, {"cluster", key.first.second}, {"phase", key.second}},
            n);
  }
  return out.Text();
}

}  // namespace ringkeeper
