#include "operator/data_center_join.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cql/keyspaces.h"
#include "operator/tokens.h"

namespace ringkeeper {
namespace {

using Json = nlohmann::json;

std::string ClassOf(const Json& replication) {
  auto it = replication.find("class");
  return it != replication.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

bool IsUserKeyspace(const std::string& keyspace) { return !cql::IsSystemKeyspace(keyspace); }

std::vector<std::string> DataCenterBlindKeyspaces(const std::map<std::string, Json>& replication) {
  std::vector<std::string> out;
  for (const auto& [keyspace, r] : replication) {
    if (IsUserKeyspace(keyspace) && absl::EndsWith(ClassOf(r), "SimpleStrategy")) {
      out.push_back(keyspace);
    }
  }
  return out;  // a std::map's keys: sorted
}

std::vector<std::string> KeyspacesReplicatedIn(const std::map<std::string, Json>& replication,
                                               const std::string& dc) {
  std::vector<std::string> out;
  for (const auto& [keyspace, r] : replication) {
    if (IsUserKeyspace(keyspace) && absl::EndsWith(ClassOf(r), "NetworkTopologyStrategy") &&
        ReplicationIn(r, dc) > 0) {
      out.push_back(keyspace);
    }
  }
  return out;
}

std::vector<ReplicationChange> PlanUserReplication(const std::map<std::string, Json>& replication,
                                                   const std::string& dc, int factor) {
  std::vector<ReplicationChange> out;
  for (const auto& [keyspace, r] : replication) {
    if (!IsUserKeyspace(keyspace) || !absl::EndsWith(ClassOf(r), "NetworkTopologyStrategy") ||
        ReplicationIn(r, dc) > 0) {
      continue;
    }
    ReplicationChange change{keyspace, Json::object(), {}};
    for (const auto& [key, value] : r.items()) {
      if (key != "class" && value.is_string()) change.factors[key] = ReplicationIn(r, key);
    }
    change.factors[dc] = factor;
    change.steps.push_back(absl::StrCat(keyspace, " 0→", factor, " in ", dc));
    out.push_back(std::move(change));
  }
  return out;
}

int64_t FreeTokenOffset(int members, int tokens_per_member, const std::set<int64_t>& taken,
                        int64_t start) {
  const auto tokens = EvenlyInterleavedTokens(members, tokens_per_member);
  for (int64_t offset = start;; ++offset) {
    bool free = true;
    for (const auto& member : tokens) {
      for (int64_t t : member) free = free && !taken.count(t + offset);
    }
    if (free) return offset;  // ends: each offset rules out at most |taken| of them
  }
}

}  // namespace ringkeeper
