#include "operator/repair_metrics.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/time/time.h"
#include "api/v1alpha1/repair.h"
#include "metrics/exposition.h"

namespace ringkeeper {
namespace {

constexpr char kSegments[] = "ringkeeper_repair_segments";
constexpr char kPostponed[] = "ringkeeper_repair_postponed_total";
constexpr char kSegmentSeconds[] = "ringkeeper_repair_segment_seconds_total";
constexpr char kMismatching[] = "ringkeeper_repair_preview_mismatching_ranges";
constexpr char kLastSuccess[] = "ringkeeper_repair_last_success_timestamp_seconds";
constexpr char kByPhase[] = "ringkeeper_repairs";

}  // namespace

std::string RenderRepairMetrics(const kube::Store& repairs) {
  metrics::Exposition out;
  out.Declare(kSegments, metrics::Type::kGauge, "A running Repair's segments, by state.");
  out.Declare(kPostponed, metrics::Type::kCounter,
              "Passes whose next segment was held back, by reason.");
  out.Declare(kSegmentSeconds, metrics::Type::kCounter, "Time spent in finished segments.");
  out.Declare(kMismatching, metrics::Type::kGauge,
              "Ranges a preview Repair found out of sync so far.");
  out.Declare(kLastSuccess, metrics::Type::kGauge,
              "When the last complete full or incremental Repair of a keyspace finished.");
  out.Declare(kByPhase, metrics::Type::kGauge, "Repair objects kept, by phase.");
  using ClusterKey = std::pair<std::string, std::string>;  // namespace, cluster
  std::map<std::pair<ClusterKey, std::string>, int> by_phase;
  std::map<std::tuple<std::string, std::string, std::string>, absl::Time> last;  // ns, cluster, ks
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
      if (type == repair_type::kPreview) {
        int64_t ranges = 0;
        for (const auto& k : s.keyspaces) ranges += k.mismatching_ranges;
        out.Add(kMismatching, labels, double(ranges));
      }
    }
    absl::Time finished;
    if (s.phase != backup_phase::kComplete || type == repair_type::kPreview ||
        !absl::ParseTime(absl::RFC3339_full, s.completion_time, &finished, nullptr)) {
      continue;
    }
    for (const auto& k : s.keyspaces) {
      absl::Time& t =
          last.try_emplace({r->ns(), cluster, k.name}, absl::InfinitePast()).first->second;
      t = std::max(t, finished);
    }
  }
  for (const auto& [key, t] : last) {
    out.Add(kLastSuccess,
            {{"namespace", std::get<0>(key)},
             {"cluster", std::get<1>(key)},
             {"keyspace", std::get<2>(key)}},
            absl::ToDoubleSeconds(t - absl::UnixEpoch()));
  }
  for (const auto& [key, n] : by_phase) {
    out.Add(kByPhase,
            {{"namespace", key.first.first}, {"cluster", key.first.second}, {"phase", key.second}},
            n);
  }
  return out.Text();
}

}  // namespace ringkeeper
