#include "operator/autoscaling.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
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

AutoscaleVerdict JudgeDataCenter(const AutoscalingSpec& spec, const DataCenterUsage& usage,
                                 const Json& previous, absl::Time now) {
  AutoscaleVerdict v;
  // The percent, not the bytes: a load that moves with every write would rewrite the status at
  // every pass (the bytes are in the events).
  v.record = {{"name", usage.dc},
              {"storageUsedPercent",
               usage.requested_bytes > 0 ? usage.load_bytes * 100 / usage.requested_bytes : 0}};
  if (previous.is_object() && previous.contains("lastScaleUp")) {
    v.record["lastScaleUp"] = previous["lastScaleUp"];
  }
  // load / requested >= percent / 100, in integers (a petabyte × 100 still fits).
  const bool above = usage.requested_bytes > 0 &&
                     usage.load_bytes * 100 >= spec.storage_used_percent * usage.requested_bytes;
  if (!above) return v;
  absl::Time since = now;
  if (auto recorded = kube::ParseRfc3339(kube::StringField(previous, "aboveSince"))) {
    since = std::min(*recorded, now);
  }
  v.record["aboveSince"] = kube::FormatRfc3339(since);
  const bool was_at_maximum = previous.is_object() && previous.value("atMaximum", false);
  if (now - since < spec.period) return v;
  v.figures = absl::StrCat("data load ", HumanBytes(usage.load_bytes), " is ",
                           v.record["storageUsedPercent"].get<int64_t>(), "% of the ",
                           HumanBytes(usage.requested_bytes), " its ", usage.members,
                           " members request (threshold ", spec.storage_used_percent,
                           "%), at or above it since ", kube::FormatRfc3339(since), " (",
                           absl::FormatDuration(absl::Trunc(now - since, absl::Seconds(1))),
                           "; period ", absl::FormatDuration(spec.period), ")");
  if (usage.members < spec.max_members) {
    v.action = AutoscaleVerdict::Action::kGrow;
    v.record.erase("aboveSince");  // measured again on the grown ring
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
    dc.erase("atMaximum");
  }
  return autoscaling;
}

}  // namespace ringkeeper
