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
