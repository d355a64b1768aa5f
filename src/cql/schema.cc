#include "cql/schema.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"

namespace cql {

absl::StatusOr<SchemaVersions> ReadSchemaVersions(Client& client) {
  // System tables are node-local: consistency ONE reads this node's own view.
  ASSIGN_OR_RETURN(auto local,
                   client.Query("SELECT schema_version FROM system.local", Consistency::kOne));
  if (local.rows.empty()) return absl::InternalError("system.local has no row");
  ASSIGN_OR_RETURN(
      auto peers, client.Query("SELECT peer, schema_version FROM system.peers", Consistency::kOne));
  SchemaVersions out;
  out.local = local.rows[0].columns["schema_version"];
  for (auto& row : peers.rows) out.peers[row.columns["peer"]] = row.columns["schema_version"];
  return out;
}

absl::StatusOr<std::map<std::string, KeyspaceDefinition>> ReadKeyspaces(Client& client) {
  ASSIGN_OR_RETURN(auto rows, client.Query("SELECT keyspace_name, durable_writes, replication "
                                           "FROM system_schema.keyspaces",
                                           Consistency::kOne));
  std::map<std::string, KeyspaceDefinition> out;
  for (auto& row : rows.rows) {
    ASSIGN_OR_RETURN(auto replication, ParseTextMap(row.columns["replication"]));
    out[row.columns["keyspace_name"]] = {std::move(replication),
                                         row.columns["durable_writes"] != "false"};
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParseTextMap(const std::string& rendered) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  auto bad = [&rendered] {
    return absl::InvalidArgumentError(absl::StrCat("not a map<text, text>: ", rendered));
  };
  // One quoted string at i, its escapes undone; i moves past it.
  auto quoted = [&](std::string& into) {
    if (i >= rendered.size() || rendered[i] != '"') return false;
    for (++i; i < rendered.size(); ++i) {
      if (rendered[i] == '\\' && i + 1 < rendered.size()) {
        into.push_back(rendered[++i]);
      } else if (rendered[i] == '"') {
        ++i;
        return true;
      } else {
        into.push_back(rendered[i]);
      }
    }
    return false;
  };
  if (rendered.empty() || rendered[i++] != '{') return bad();
  while (i < rendered.size() && rendered[i] != '}') {
    std::string key, value;
    if (!quoted(key) || i >= rendered.size() || rendered[i++] != ':' || !quoted(value)) {
      return bad();
    }
    out[key] = value;
    if (i < rendered.size() && rendered[i] == ',') ++i;
  }
  if (i + 1 != rendered.size()) return bad();
  return out;
}

std::vector<std::string> DisagreeingPeers(const SchemaVersions& versions,
                                          const std::set<std::string>* live) {
  std::vector<std::string> out;
  for (const auto& [peer, version] : versions.peers) {
    if (live != nullptr && !live->contains(peer)) continue;
    if (version.empty() || version != versions.local) out.push_back(peer);
  }
  return out;
}

absl::StatusOr<SchemaVersions> WaitForSchemaAgreement(Client& client, absl::Duration timeout,
                                                      absl::Duration poll) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    ASSIGN_OR_RETURN(auto versions, ReadSchemaVersions(client));
    const auto disagreeing = DisagreeingPeers(versions, nullptr);
    if (!versions.local.empty() && disagreeing.empty()) return versions;
    if (absl::Now() + poll > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no schema agreement within ", absl::FormatDuration(timeout), ": ",
                       absl::StrJoin(disagreeing, ", "), " differ from ", versions.local));
    }
    absl::SleepFor(poll);
  }
}

}  // namespace cql
