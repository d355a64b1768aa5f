// JolokiaNodeControl: NodeControl for Apache Cassandra through the Jolokia JVM agent bound to
// 127.0.0.1 in the Cassandra JVM. Reads are bulk requests (one HTTP round trip per call, two for
// the ring: endpoints first, then their dc/rack). Snapshots are listed from the data volume,
// which the sidecar mounts (Jolokia renders the snapshot TabularData unusably).
// Thread-safe (the metric plan it keeps is behind a mutex).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "agent/node/jolokia_client.h"
#include "agent/node/metrics.h"
#include "agent/node/node_control.h"

namespace agent::node {

struct JolokiaOptions {
  std::string host = "127.0.0.1";
  int port = 8778;
  std::string data_dir = "/var/lib/cassandra";  // the node's data volume (snapshots, usage)
};

class JolokiaNodeControl : public NodeControl {
 public:
  explicit JolokiaNodeControl(JolokiaOptions options);

  absl::StatusOr<api::NodeInfo> GetNodeInfo() override;
  absl::StatusOr<api::Ring> GetRing() override;
  absl::StatusOr<api::RangeMap> GetRangeMap(const std::string& keyspace) override;
  absl::Status Drain() override;
  absl::Status Decommission(bool force) override;
  absl::Status Cleanup(const std::string& keyspace) override;
  absl::Status UpgradeSSTables(const std::string& keyspace) override;
  absl::Status Rebuild(const std::string& source_dc) override;
  absl::Status Flush(const std::string& keyspace, const std::vector<std::string>& tables) override;
  absl::Status TakeSnapshot(const std::string& tag,
                            const std::vector<std::string>& keyspaces) override;
  absl::Status ClearSnapshot(const std::string& tag) override;
  absl::StatusOr<api::SnapshotList> ListSnapshots() override;
  absl::Status ImportSSTables(const std::string& keyspace, const std::string& table,
                              const std::string& directory, bool verify_tokens) override;
  absl::Status BulkLoad(const std::string& directory) override;
  absl::StatusOr<int> StartRepair(const RepairOptions& options) override;
  absl::StatusOr<RepairStatus> GetRepairStatus(int command) override;
  absl::Status StopRepairs() override;
  absl::StatusOr<std::vector<std::string>> ReloadSeeds() override;
  absl::StatusOr<std::string> Metrics(const metrics::Labels& labels) override;

 private:
  absl::StatusOr<std::vector<std::string>> Keyspaces(const std::string& keyspace);
  // The metric plan to read with: the one kept, or a new one when there is none, `stale` is set,
  // or it is a minute old.
  absl::StatusOr<std::shared_ptr<const MetricPlan>> Plan(bool stale);

  JolokiaOptions options_;
  JolokiaClient client_;
  std::mutex mu_;
  std::shared_ptr<const MetricPlan> plan_;  // guarded by mu_
  std::string plan_schema_;                 // guarded by mu_; the schema plan_ was made for
  absl::Time plan_made_;                    // guarded by mu_
};

// Parses Cassandra's human-readable sizes ("122.53 KiB", "1.5 GiB", "0 bytes") into bytes.
int64_t ParseSize(const std::string& text);
// "/127.0.0.1:7000" or "127.0.0.1" -> "127.0.0.1".
std::string NormalizeEndpoint(const std::string& endpoint);
// Every endpoint of the ring as this node sees it, by address, with its state as nodetool
// prints it ("UN", "DL"...), from StorageService's LiveNodes, UnreachableNodes, JoiningNodes,
// LeavingNodes, MovingNodes and EndpointToHostId.
std::map<std::string, std::string> EndpointStates(const nlohmann::json& storage_service);

}  // namespace agent::node
