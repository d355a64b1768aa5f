// The replication of Cassandra's system keyspaces (system_auth, system_distributed,
// system_traces), which Cassandra creates at factor 1 (system_auth) or a fixed SimpleStrategy
// whatever the cluster's size. The operator replicates them per data center like user data,
// min(3, DC size), so that losing a node loses neither logins nor repair history, and repairs
// them after each change so the new replicas hold what the old ones did.
//
// Steps: once users log in (the superuser exists) a factor grows by one per step, each step
// repaired before the next. A LOCAL_QUORUM login then always reads at least one replica that has
// every role: going from 1 to 3 at once, two empty new replicas could answer and refuse it.
// Before that nobody logs in, and the factor goes straight to its target.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/v1alpha1/naming.h"
#include "nlohmann/json.hpp"

namespace ringkeeper {

inline constexpr const char* kSystemKeyspaces[] = {"system_auth", "system_distributed",
                                                   "system_traces"};

// min(3, the DC's members), at least 1.
int SystemReplicationFactor(const DataCenterSpec& dc);

// A keyspace's factor in `dc` from its system_schema.keyspaces replication map ({"class": ...,
// "<dc>": "3"} or {"class": ...SimpleStrategy, "replication_factor": "3"}); 0 for strategies
// that keep nothing per DC (LocalStrategy, EverywhereStrategy) or a DC it does not name.
int ReplicationIn(const nlohmann::json& replication, const std::string& dc);

// Keyspaces local to each node (system, system_schema, the virtual ones): nothing to repair.
bool IsLocalKeyspace(const std::string& keyspace);

// How many replicas a keyspace has in the data centers `dcs` (all when empty), from its
// replication map: 1 for LocalStrategy, the factor for SimpleStrategy, the sum of the data
// centers' for NetworkTopologyStrategy.
int64_t ReplicaCount(const nlohmann::json& replication, const std::vector<std::string>& dcs);

struct ReplicationChange {
  std::string keyspace;
  nlohmann::json factors;          // {dc: factor}: the NetworkTopologyStrategy map to set
  std::vector<std::string> steps;  // "system_auth 1→2 in dc1", for events
};

// The changes that bring the system keyspaces among `current` (keyspace -> replication map)
// one step (`serving`: the superuser exists) or all the way towards each DC's target. DCs the
// spec does not name keep their factors; a factor above the target is never lowered; a
// SimpleStrategy keyspace becomes NetworkTopologyStrategy. Empty: nothing to change.
std::vector<ReplicationChange> PlanSystemReplication(
    const std::map<std::string, nlohmann::json>& current, const ClusterSpec& spec, bool serving);

// The changes that stop the system keyspaces among `current` replicating to `dc` (a data center
// that left the ring): its entry dropped, the others' factors kept. Empty: none names it.
std::vector<ReplicationChange> SystemReplicationWithout(
    const std::map<std::string, nlohmann::json>& current, const std::string& dc);

// Whether `keyspace` is repaired after its factors became `factors`: not with one replica in all
// (nothing to repair: Cassandra refuses), not system_traces (a day's TTL, disposable), and
// system_distributed only once the cluster is serving (it is empty before).
bool RepairAfterChange(const std::string& keyspace, const nlohmann::json& factors, bool serving);

}  // namespace ringkeeper
