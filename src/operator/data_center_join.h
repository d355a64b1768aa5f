// A data center added to a running cluster. Its members cannot bootstrap one by one as a
// scale-up does: no keyspace replicates to the new data center yet, so a bootstrap streams
// nothing, and a keyspace altered afterwards would leave its first replicas there empty. The
// procedure every Cassandra operator follows instead: the new members start at once with
// auto_bootstrap false on tokens computed here (not random ones), the keyspaces are altered to
// replicate to the new data center, then each new member runs `nodetool rebuild <source dc>`,
// one at a time. status.dataCenterJoin carries the join through operator restarts
// (data_center_join.cc); these are its pure decisions.
//
// A keyspace on SimpleStrategy ignores data centers: the new members would become its replicas
// the moment they join, without its data, and reads at ONE or QUORUM would miss rows. A join is
// refused while one exists.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "operator/system_keyspaces.h"

namespace ringkeeper {

// status.dataCenterJoin.phase.
namespace join_phase {
inline constexpr char kStarting[] = "Starting";        // members start; none streams
inline constexpr char kReplicating[] = "Replicating";  // waiting for keyspaces to replicate there
inline constexpr char kRebuilding[] = "Rebuilding";    // members rebuild, one at a time
}  // namespace join_phase

// A keyspace the user made: not one of Cassandra's (system, system_*).
bool IsUserKeyspace(const std::string& keyspace);

// The user keyspaces (of keyspace -> replication map) whose replicas ignore data centers
// (SimpleStrategy), sorted.
std::vector<std::string> DataCenterBlindKeyspaces(
    const std::map<std::string, nlohmann::json>& replication);

// The user keyspaces with replicas in `dc`, sorted.
std::vector<std::string> KeyspacesReplicatedIn(
    const std::map<std::string, nlohmann::json>& replication, const std::string& dc);

// The changes that give every NetworkTopologyStrategy user keyspace without replicas in `dc`
// `factor` of them there, its other data centers' factors kept. Empty when none lacks them.
std::vector<ReplicationChange> PlanUserReplication(
    const std::map<std::string, nlohmann::json>& replication, const std::string& dc, int factor);

// The smallest offset >= `start` by which the `members` x `tokens_per_member` evenly
// interleaved tokens (tokens.h) can be shifted so that none of them is in `taken` (the ring's
// tokens: two nodes cannot own one token).
int64_t FreeTokenOffset(int members, int tokens_per_member, const std::set<int64_t>& taken,
                        int64_t start);

}  // namespace ringkeeper
