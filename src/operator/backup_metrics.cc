#include "operator/backup_metrics.h"

#include <map>
#include <optional>
#include <tuple>

#include "absl/time/time.h"
#include "api/v1alpha1/backup.h"
#include "api/v1alpha1/naming.h"
#include "metrics/exposition.h"

namespace ringkeeper {
namespace {

constexpr char kLastTime[] = "ringkeeper_backup_last_success_timestamp_seconds";
constexpr char kLastBytes[] = "ringkeeper_backup_last_success_bytes";
constexpr char kLastSent[] = "ringkeeper_backup_last_success_sent_bytes";
constexpr char kLastDuration[] = "ringkeeper_backup_last_success_duration_seconds";
constexpr char kBackupsByPhase[] = "ringkeeper_backups";

}  // namespace

std::string RenderBackupMetrics(const kube::Store& backups) {
  using Key = std::tuple<std::string, std::string, std::string>;  // namespace, cluster, schedule
  struct Last {
    absl::Time finished = absl::InfinitePast();
    double bytes = 0, sent = 0, seconds = 0;
  };
  std::map<Key, Last> last;
  std::map<std::pair<Key, std::string>, int> by_phase;
  for (const kube::ObjectPtr& b : backups.List()) {
    const Key key{b->ns(), kube::StringField(kube::FieldAt(b->json(), {"spec"}), "cluster"),
                  b->label(kLabelBackupSchedule).value_or("")};
    const BackupStatus s = ParseBackupStatus(kube::FieldAt(b->json(), {"status"}));
    ++by_phase[{key, s.phase.empty() ? backup_phase::kPending : s.phase}];
    const std::optional<absl::Time> started = kube::ParseRfc3339(s.start_time);
    const std::optional<absl::Time> finished = kube::ParseRfc3339(s.completion_time);
    if (s.phase != backup_phase::kComplete || !started || !finished) continue;
    Last& l = last[key];
    if (*finished > l.finished) {
      l = {*finished, double(s.bytes), double(s.bytes_sent),
           absl::ToDoubleSeconds(*finished - *started)};
    }
  }
  metrics::Exposition out;
  out.Declare(kLastTime, metrics::Type::kGauge, "When the last successful backup completed.");
  out.Declare(kLastBytes, metrics::Type::kGauge, "The last successful backup's size.");
  out.Declare(kLastSent, metrics::Type::kGauge, "Bytes the last successful backup uploaded.");
  out.Declare(kLastDuration, metrics::Type::kGauge, "How long the last successful backup took.");
  out.Declare(kBackupsByPhase, metrics::Type::kGauge, "Backup objects kept, by phase.");
  for (const auto& [key, l] : last) {
    const metrics::Labels labels = {{"namespace", std::get<0>(key)},
                                    {"cluster", std::get<1>(key)},
                                    {"schedule", std::get<2>(key)}};
    out.Add(kLastTime, labels, absl::ToDoubleSeconds(l.finished - absl::UnixEpoch()));
    out.Add(kLastBytes, labels, l.bytes);
    out.Add(kLastSent, labels, l.sent);
    out.Add(kLastDuration, labels, l.seconds);
  }
  for (const auto& [key_phase, n] : by_phase) {
    const auto& [key, phase] = key_phase;
    out.Add(kBackupsByPhase,
            {{"namespace", std::get<0>(key)},
             {"cluster", std::get<1>(key)},
             {"schedule", std::get<2>(key)},
             {"phase", phase}},
            n);
  }
  return out.Text();
}

}  // namespace ringkeeper
