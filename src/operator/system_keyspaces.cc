#include "operator/system_keyspaces.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringkeeper {
namespace {

using Json = nlohmann::json;

std::string Text(const Json& obj, const std::string& key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IsNetworkTopology(const Json& replication) {
  return absl::EndsWith(Text(replication, "class"), "NetworkTopologyStrategy");
}

}  // namespace

int SystemReplicationFactor(const DataCenterSpec& dc) { return std::clamp(dc.members(), 1, 3); }

int ReplicationIn(const Json& replication, const std::string& dc) {
  if (!replication.is_object()) return 0;
  if (IsNetworkTopology(replication)) return std::atoi(Text(replication, dc).c_str());
  if (absl::EndsWith(Text(replication, "class"), "SimpleStrategy")) {
    return std::atoi(Text(replication, "replication_factor").c_str());
  }
  return 0;
}

std::vector<ReplicationChange> PlanSystemReplication(const std::map<std::string, Json>& current,
                                                     const ClusterSpec& spec, bool serving) {
  std::vector<ReplicationChange> out;
  for (const char* keyspace : kSystemKeyspaces) {
    auto it = current.find(keyspace);
    if (it == current.end()) continue;
    const Json& replication = it->second;
    ReplicationChange change{keyspace, Json::object(), {}};
    const bool topology = IsNetworkTopology(replication);
    if (topology) {  // DCs the spec does not name (removed, or another operator's) stay
      for (const auto& [key, value] : replication.items()) {
        if (key != "class" && value.is_string()) {
          change.factors[key] = std::atoi(value.get<std::string>().c_str());
        }
      }
    }
    for (const auto& dc : spec.dcs) {
      const int have = ReplicationIn(replication, dc.name);
      const int want = SystemReplicationFactor(dc);
      const int to = have >= want ? have : (serving ? have + 1 : want);
      change.factors[dc.name] = to;
      if (to != have)
        change.steps.push_back(absl::StrCat(keyspace, " ", have, "→", to, " in ", dc.name));
    }
    if (!topology && change.steps.empty()) {
      change.steps.push_back(absl::StrCat(keyspace, " to NetworkTopologyStrategy"));
    }
    if (!change.steps.empty()) out.push_back(std::move(change));
  }
  return out;
}

bool RepairAfterChange(const std::string& keyspace, const Json& factors, bool serving) {
  // Replicas across every data center: one in each of two is two copies to bring in sync (a
  // data center that joined gets its logins this way before anything else streams to it).
  int replicas = 0;
  for (const auto& [dc, factor] : factors.items()) {
    if (factor.is_number_integer()) replicas += factor.get<int>();
  }
  if (replicas < 2) return false;
  return keyspace == "system_auth" || (serving && keyspace == "system_distributed");
}

bool IsLocalKeyspace(const std::string& k) {
  return k == "system" || k == "system_schema" || k == "system_views" ||
         k == "system_virtual_schema";
}

int64_t ReplicaCount(const nlohmann::json& replication, const std::vector<std::string>& dcs) {
  const std::string cls = Text(replication, "class");
  if (absl::EndsWith(cls, "LocalStrategy")) return 1;
  int64_t n = 0;
  if (absl::EndsWith(cls, "SimpleStrategy")) {
    if (!absl::SimpleAtoi(Text(replication, "replication_factor"), &n)) return 0;
    return n;
  }
  for (const auto& [key, value] : replication.items()) {
    if (key == "class" || !value.is_string()) continue;
    if (!dcs.empty() && std::find(dcs.begin(), dcs.end(), key) == dcs.end()) continue;
    int64_t f = 0;
    if (absl::SimpleAtoi(value.get<std::string>(), &f)) n += f;
  }
  return n;
}

std::vector<ReplicationChange> SystemReplicationWithout(
    const std::map<std::string, nlohmann::json>& current, const std::string& dc) {
  std::vector<ReplicationChange> changes;
  for (const char* keyspace : kSystemKeyspaces) {
    auto it = current.find(keyspace);
    if (it == current.end() || !it->second.contains(dc)) continue;
    ReplicationChange change{keyspace, nlohmann::json::object(), {}};
    for (const auto& [key, value] : it->second.items()) {
      if (key != "class" && key != dc && value.is_string()) {
        change.factors[key] = ReplicationIn(it->second, key);
      }
    }
    change.steps.push_back(
        absl::StrCat(keyspace, " ", ReplicationIn(it->second, dc), "→0 in ", dc));
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace ringkeeper
