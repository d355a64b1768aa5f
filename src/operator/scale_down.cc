#include "operator/scale_down.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/catalogue.h"

namespace ringkeeper {
namespace {

using Json = nlohmann::json;

bool IsSystemKeyspace(const std::string& keyspace) {
  return std::find(std::begin(kSystemKeyspaces), std::end(kSystemKeyspaces), keyspace) !=
         std::end(kSystemKeyspaces);
}

bool IsSimple(const Json& replication) {
  return replication.is_object() &&
         absl::EndsWith(replication.value("class", ""), "SimpleStrategy");
}

// The members that take the leaving node's ranges (the header says why these).
std::vector<const Member*> Receivers(const std::vector<Member>& members, const Member& leaving) {
  std::vector<const Member*> rack, dc;
  for (const Member& m : members) {
    if (m.pod == leaving.pod || m.dc != leaving.dc || !m.pod_object) continue;
    dc.push_back(&m);
    if (m.rack == leaving.rack) rack.push_back(&m);
  }
  return rack.empty() ? dc : rack;
}

}  // namespace

std::optional<ScaleDownRefusal> ReplicationRefusal(const std::map<std::string, Json>& replication,
                                                   const std::string& dc, int dc_after,
                                                   int cluster_after) {
  std::optional<ScaleDownRefusal> worst;
  int worst_rf = 0;
  for (const auto& [keyspace, map] : replication) {
    if (IsSystemKeyspace(keyspace)) continue;  // lowered first (LowerSystemReplication)
    const int rf = ReplicationIn(map, dc);
    const bool simple = IsSimple(map);
    const int nodes = simple ? cluster_after : dc_after;
    if (rf <= nodes || rf <= worst_rf) continue;
    worst_rf = rf;
    worst = ScaleDownRefusal{
        reason::kReplicationFactor,
        simple ? absl::StrCat("keyspace ", keyspace, " (SimpleStrategy) has replication factor ",
                              rf, ": the cluster would have ", cluster_after, " members")
               : absl::StrCat("keyspace ", keyspace, " has replication factor ", rf, " in ", dc,
                              ": the data center would have ", dc_after, " members")};
  }
  return worst;
}

std::optional<ScaleDownRefusal> DiskRefusal(const std::vector<Member>& members,
                                            const Member& leaving) {
  if (!leaving.info) {
    return ScaleDownRefusal{reason::kDiskUnknown, absl::StrCat("the load of ", leaving.pod,
                                                               " is unknown (its agent "
                                                               "does not answer)")};
  }
  const std::vector<const Member*> receivers = Receivers(members, leaving);
  if (receivers.empty()) {
    return ScaleDownRefusal{
        reason::kDiskUnknown,
        absl::StrCat("no member of ", leaving.dc, " is left to take ", leaving.pod, "'s data")};
  }
  const double share =
      static_cast<double>(leaving.info->load_bytes) / static_cast<double>(receivers.size());
  for (const Member* m : receivers) {
    if (!m->info || m->info->data_volume_total_bytes <= 0) {
      return ScaleDownRefusal{
          reason::kDiskUnknown,
          absl::StrCat("the data volume of ", m->pod, " (which would take a share of ", leaving.pod,
                       "'s data) has no known size")};
    }
    const double after = static_cast<double>(m->info->data_volume_used_bytes) + share;
    if (after > 0.9 * static_cast<double>(m->info->data_volume_total_bytes)) {
      return ScaleDownRefusal{
          reason::kDiskSpace,
          absl::StrCat(m->pod, " would be over 90% full after taking its share (1/",
                       receivers.size(), ", ", leaving.rack == m->rack ? "same rack" : "same DC",
                       ") of ", leaving.pod, "'s data")};
    }
  }
  return std::nullopt;
}

std::vector<ReplicationChange> LowerSystemReplication(
    const std::map<std::string, Json>& replication, const std::string& dc, int dc_after) {
  const int target = std::max(1, std::min(3, dc_after));
  std::vector<ReplicationChange> out;
  for (const char* keyspace : kSystemKeyspaces) {
    auto it = replication.find(keyspace);
    if (it == replication.end() || IsSimple(it->second)) continue;
    const int have = ReplicationIn(it->second, dc);
    if (have <= target) continue;
    ReplicationChange change{keyspace, Json::object(), {}};
    for (const auto& [key, value] : it->second.items()) {
      if (key != "class" && value.is_string()) {
        change.factors[key] = std::atoi(value.get<std::string>().c_str());
      }
    }
    change.factors[dc] = target;
    change.steps.push_back(absl::StrCat(keyspace, " ", have, "→", target, " in ", dc));
    out.push_back(std::move(change));
  }
  return out;
}

}  // namespace ringkeeper
