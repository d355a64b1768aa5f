#include "operator/autoscaling.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "operator/desired.h"
#include "operator/volumes.h"

namespace ringkeeper {

using kube::Json;

int64_t RequestedBytes(const DataCenterSpec& dc) {
  int64_t total = 0;
  for (const RackSpec& rack : dc.racks) {
    const int64_t each = ParseByteQuantity(StorageRequest(rack.volume_claim_template["spec"]));
    if (each > 0) total += each * rack.members;
  }
  return total;
}

double ParseCpuCores(const std::string& quantity) {
  double number = 0;
  if (absl::EndsWith(quantity, "m")) {
    return absl::SimpleAtod(quantity.substr(0, quantity.size() - 1), &number) && number > 0
               ? number / 1000
               : 0;
  }
  return absl::SimpleAtod(quantity, &number) && number > 0 ? number : 0;
}

double RequestedCores(const DataCenterSpec& dc) {
  double total = 0;
  for (const RackSpec& rack : dc.racks) {
    std::string cpu = kube::StringField(kube::FieldAt(rack.resources, {"requests"}), "cpu");
    if (cpu.empty()) cpu = kube::StringField(kube::FieldAt(rack.resources, {"limits"}), "cpu");
    const double each = ParseCpuCores(cpu);
    if (each <= 0) return 0;  // a rack without CPU: the data center is not judged on it
    total += each * rack.members;
  }
  return total;
}

std::optional<double> CpuRates::Observe(const std::string& pod_uid, int64_t cpu_nanos,
                                        absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_sweep_ >= forget_after_) {  // pods gone (each restart is a new uid)
    std::erase_if(readings_, [&](const auto& r) { return now - r.second.at >= forget_after_; });
    last_sweep_ = now;
  }
  auto [it, first] = readings_.try_emplace(pod_uid, Reading{cpu_nanos, now, std::nullopt});
  if (first) return std::nullopt;
  Reading& last = it->second;
  if (cpu_nanos < last.nanos) {  // the process restarted: its time starts over
    last = {cpu_nanos, now, std::nullopt};
    return std::nullopt;
  }
  if (now - last.at < min_interval_) return last.cores;  // too close to tell a rate apart
  last.cores =
      static_cast<double>(cpu_nanos - last.nanos) / 1e9 / absl::ToDoubleSeconds(now - last.at);
  last.nanos = cpu_nanos;
  last.at = now;
  return last.cores;
}

namespace {

// When a criterion has been at or above its threshold since: its recorded time (never after
// now), or now when it starts.
absl::Time AboveSince(const Json& previous, const char* field, absl::Time now) {
  if (auto recorded = kube::ParseRfc3339(kube::StringField(previous, field))) {
    return std::min(*recorded, now);
  }
  return now;
}

std::string Lasted(absl::Time since, absl::Time now, absl::Duration period) {
  return absl::StrCat("at or above it since ", kube::FormatRfc3339(since), " (",
                      absl::FormatDuration(absl::Trunc(now - since, absl::Seconds(1))), "; period ",
                      absl::FormatDuration(period), ")");
}

}  // namespace

AutoscaleVerdict JudgeDataCenter(const AutoscalingSpec& spec, const DataCenterUsage& usage,
                                 const Json& previous, absl::Time now) {
  AutoscaleVerdict v;
  // The percent, not the bytes: a load that moves with every write would rewrite the status at
  // every pass (the bytes are in the events). The CPU use, which moves more, is not kept at all.
  v.record = {{"name", usage.dc},
              {"storageUsedPercent",
               usage.requested_bytes > 0 ? usage.load_bytes * 100 / usage.requested_bytes : 0}};
  if (previous.is_object() && previous.contains("lastScaleUp")) {
    v.record["lastScaleUp"] = previous["lastScaleUp"];
  }
  // The figures of each criterion measured: those above their threshold for the period (the
  // reasons) first, then the others, so that an event tells the whole picture.
  std::vector<std::string> reasons, context;
  // A criterion measured: its timer (`timer` in the record) started, kept or gone; its figures
  // among the reasons once it lasted the period.
  auto judge = [&](bool above, const char* timer, std::string figures) {
    bool lasted = false;
    if (above) {
      const absl::Time since = AboveSince(previous, timer, now);
      v.record[timer] = kube::FormatRfc3339(since);
      lasted = now - since >= spec.period;
      if (lasted) absl::StrAppend(&figures, ", ", Lasted(since, now, spec.period));
    }
    (lasted ? reasons : context).push_back(std::move(figures));
  };
  if (usage.requested_bytes > 0) {
    // load / requested >= percent / 100, in integers (a petabyte × 100 still fits).
    judge(usage.load_bytes * 100 >= spec.storage_used_percent * usage.requested_bytes, "aboveSince",
          absl::StrCat("data load ", HumanBytes(usage.load_bytes), " is ",
                       v.record["storageUsedPercent"].get<int64_t>(), "% of the ",
                       HumanBytes(usage.requested_bytes), " its ", usage.members,
                       " members request (threshold ", spec.storage_used_percent, "%)"));
  }
  if (spec.cpu_used_percent > 0 && usage.cpu_cores_requested > 0) {
    if (usage.cpu_known) {
      judge(usage.cpu_cores_used * 100 >= spec.cpu_used_percent * usage.cpu_cores_requested,
            "cpuAboveSince",
            absl::StrCat(
                "Cassandra's CPU use ", absl::StrFormat("%.2f", usage.cpu_cores_used), " cores is ",
                std::llround(usage.cpu_cores_used * 100 / usage.cpu_cores_requested), "% of the ",
                absl::StrFormat("%g", usage.cpu_cores_requested), " cores its ", usage.members,
                " members request (threshold ", spec.cpu_used_percent, "%)"));
    } else if (previous.is_object() && previous.contains("cpuAboveSince")) {
      v.record["cpuAboveSince"] = previous["cpuAboveSince"];  // no rate yet: the timer as it was
    }
  }
  if (reasons.empty()) return v;
  reasons.insert(reasons.end(), context.begin(), context.end());
  v.figures = absl::StrJoin(reasons, "; ");
  const bool was_at_maximum = previous.is_object() && previous.value("atMaximum", false);
  if (usage.members < spec.max_members) {
    v.action = AutoscaleVerdict::Action::kGrow;
    v.record.erase("aboveSince");  // measured again on the grown ring
    v.record.erase("cpuAboveSince");
    return v;
  }
  v.record["atMaximum"] = true;
  if (!was_at_maximum) v.action = AutoscaleVerdict::Action::kAtMaximum;
  return v;
}

std::string MaximumRefusal(const AutoscalingSpec& spec, const std::vector<DataCenterSpec>& dcs) {
  for (const DataCenterSpec& dc : dcs) {
    if (dc.members() > spec.max_members) {
      return absl::StrCat("spec.autoscaling.maxMembers ", spec.max_members,
                          " is below data center ", dc.name, "'s ", dc.members(),
                          " members: nothing grows until it is raised (members are never "
                          "lowered to it)");
    }
  }
  return "";
}

const RackSpec* RackToGrow(const DataCenterSpec& dc) {
  const RackSpec* fewest = nullptr;
  for (const RackSpec& rack : dc.racks) {
    if (!fewest || rack.members < fewest->members) fewest = &rack;
  }
  return fewest;
}

Json WithoutTimers(Json autoscaling) {
  if (!autoscaling.is_object() || !autoscaling["dataCenters"].is_array()) return autoscaling;
  for (Json& dc : autoscaling["dataCenters"]) {
    dc.erase("aboveSince");
    dc.erase("cpuAboveSince");
    dc.erase("atMaximum");
  }
  return autoscaling;
}

}  // namespace ringkeeper
