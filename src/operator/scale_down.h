// The checks a scale-down must pass before a member is decommissioned (pure; the step that acts
// on them is ScaleDown in scaling.cc). Each refusal names what blocks it; nothing is touched.
//
// Replication: a user keyspace with NetworkTopologyStrategy counts against the data center's
// members after the scale-down, a SimpleStrategy one against the whole cluster's (its replicas
// are the next nodes on the ring, whatever their DC). Cassandra itself refuses to decommission a
// node when a keyspace's factor is not below the nodes left. The system keyspaces (system_auth,
// system_distributed, system_traces) do not block: the operator replicates them at min(3, DC
// size), so their factor in the DC is lowered to the new size first (LowerSystemReplication).
//
// Disk: where the leaving node's data goes. With NetworkTopologyStrategy, Cassandra puts a range's
// replicas in a DC on distinct racks first; the leaving node's ranges move to the next node of
// its own rack, so its rack's peers take all of it (one rack: every other node of the DC). A
// rack with no other member spreads it over the DC. SimpleStrategy data spreads wider still, so
// counting all of it on the rack's peers is the conservative bound. A receiver whose disk figures
// are unknown (agent not answering, volume not measured) refuses the scale-down: never a guess.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "operator/reconciler.h"
#include "operator/system_keyspaces.h"

namespace ringkeeper {

struct ScaleDownRefusal {
  const char* reason;  // catalogue.h reason::k*
  std::string message;
};

// The user keyspace whose factor the cluster could no longer hold with `dc` at `dc_after`
// members and the whole cluster at `cluster_after`, as a refusal; nullopt when none.
// `replication`: keyspace -> system_schema.keyspaces replication map.
std::optional<ScaleDownRefusal> ReplicationRefusal(
    const std::map<std::string, nlohmann::json>& replication, const std::string& dc, int dc_after,
    int cluster_after);

// Whether the members that take `leaving`'s data (its rack's peers in its DC, else the DC's
// other members; among `members`, those with a pod) have room for it with 10% to spare.
std::optional<ScaleDownRefusal> DiskRefusal(const std::vector<Member>& members,
                                            const Member& leaving);

// The system keyspaces whose factor in `dc` is above `dc_after` (at least 1): their
// NetworkTopologyStrategy maps with that DC lowered. Empty when none is above.
std::vector<ReplicationChange> LowerSystemReplication(
    const std::map<std::string, nlohmann::json>& replication, const std::string& dc, int dc_after);

}  // namespace ringkeeper
