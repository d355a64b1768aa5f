// NodeControl: what the agent asks of the database node it sits beside. One implementation per
// mechanism: JolokiaNodeControl (Cassandra, JMX over Jolokia); a Scylla REST implementation fits
// beside it with the same shape.
//
// Blocking calls; long ones (Drain, Decommission, Cleanup, Rebuild) return when the node has
// finished, so callers run them off the request thread (server/operations.h). Errors: Unavailable
// when the node cannot be reached; FailedPrecondition when the node refused; InvalidArgument for
// bad input. Implementations are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/api.h"
#include "metrics/exposition.h"

namespace agent::node {

struct RepairOptions {
  std::string keyspace;
  std::vector<std::string> tables;             // empty: all
  std::vector<std::string> ranges;             // "start:end" tokens; empty: the node's ranges
  std::string parallelism;                     // sequential | parallel | dc_parallel
  std::string type = agent::api::kRepairFull;  // full | incremental | preview
  std::vector<std::string> datacenters;        // empty: every data center's replicas
};

struct RepairStatus {
  std::string state;  // api::kStateRunning / kStateSucceeded / kStateFailed
  std::string message;
};

class NodeControl {
 public:
  virtual ~NodeControl() = default;

  virtual absl::StatusOr<api::NodeInfo> GetNodeInfo() = 0;
  virtual absl::StatusOr<api::Ring> GetRing() = 0;
  // The keyspace's token ranges and their replicas (NotFound: no such keyspace).
  virtual absl::StatusOr<api::RangeMap> GetRangeMap(const std::string& keyspace) = 0;

  virtual absl::Status Drain() = 0;
  // Leaves the ring, its ranges streamed to the nodes that take them. Cassandra refuses to leave a
  // data center with fewer nodes than a keyspace's factor there unless `force`.
  virtual absl::Status Decommission(bool force) = 0;
  virtual absl::Status Cleanup(const std::string& keyspace) = 0;  // empty: all non-system
  // Rewrites the sstables not in the running version's format (nodetool upgradesstables);
  // empty: every keyspace, the system ones included. Returns when done.
  virtual absl::Status UpgradeSSTables(const std::string& keyspace) = 0;
  // Streams every range this node replicates (each keyspace with replicas in its data center)
  // from the nodes of `source_dc`: nodetool rebuild. Returns when the streams have finished.
  virtual absl::Status Rebuild(const std::string& source_dc) = 0;
  virtual absl::Status Flush(const std::string& keyspace,
                             const std::vector<std::string>& tables) = 0;
  virtual absl::Status TakeSnapshot(const std::string& tag,
                                    const std::vector<std::string>& keyspaces) = 0;
  virtual absl::Status ClearSnapshot(const std::string& tag) = 0;  // empty: all
  virtual absl::StatusOr<api::SnapshotList> ListSnapshots() = 0;
  // Moves the SSTables in `directory` into the table (ColumnFamilyStore.importNewSSTables:
  // verified, tokens checked against the node's ranges when `verify_tokens`, caches
  // invalidated). FailedPrecondition naming the directory when the node refused them;
  // Unimplemented when this node cannot import at all (Jolokia 2.3.0 on Java 11).
  virtual absl::Status ImportSSTables(const std::string& keyspace, const std::string& table,
                                      const std::string& directory, bool verify_tokens) = 0;
  // Streams the SSTables in `directory` (<...>/<keyspace>/<table dir>) to the replicas of
  // their rows in the current ring (StorageService.bulkLoad, sstableloader within the node);
  // returns when every stream is done. The files stay where they are.
  virtual absl::Status BulkLoad(const std::string& directory) = 0;

  // Starts a repair; returns Cassandra's command number to poll with GetRepairStatus.
  virtual absl::StatusOr<int> StartRepair(const RepairOptions& options) = 0;
  virtual absl::StatusOr<RepairStatus> GetRepairStatus(int command) = 0;
  virtual absl::Status StopRepairs() = 0;

  // Cassandra reads its seeds again from its seed provider (Gossiper.reloadSeeds) and returns
  // the ones it uses now ("address" or "address:port" as Cassandra writes them; its own address
  // is never among them). Internal when Cassandra could not read them.
  virtual absl::StatusOr<std::vector<std::string>> ReloadSeeds() = 0;

  // Prometheus text of the curated metrics, every series with `labels` first (e.g. cluster, dc,
  // rack, pod), from one bulk read.
  virtual absl::StatusOr<std::string> Metrics(const metrics::Labels& labels) = 0;
};

}  // namespace agent::node
