// The typed view of a Restore (cassandra.rook.io/v1alpha1): a backup brought back into a Cluster,
// and the status the operator records while it runs (the schema step, then each node's data).
//
// The API server has validated the shape
// (charts/ringkeeper/files/crds/cassandra.rook.io_restores.yaml: exactly one of spec.backup and
// spec.source; the spec is immutable). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/v1alpha1/backup.h"
#include "kube/object.h"
#include "kube/resource.h"

namespace ringkeeper {

inline const kube::Resource kRestores{"cassandra.rook.io", "v1alpha1", "restores", "Restore", true};

struct RestoreSpec {
  std::string name, ns, uid;
  std::string cluster;  // the Cluster restored into, in the Restore's namespace
  // The source: a Backup in this namespace...
  std::string backup;
  // ...or a backup by its name under one of the Cluster's storage locations, taken by the
  // cluster named (another cluster's, from anywhere).
  std::string source_location, source_cluster, source_backup;
  std::vector<std::string> keyspaces;  // empty: every non-system keyspace of the backup
  // spec.pointInTime (whole seconds): the commit log replayed up to it; InfinitePast: none.
  absl::Time point_in_time = absl::InfinitePast();
  bool to_point_in_time() const { return point_in_time != absl::InfinitePast(); }
};

absl::StatusOr<RestoreSpec> ParseRestore(const kube::Object& restore);

// How a Restore brings the data back.
namespace restore_method {
// Each member imports its source node's files: the members own the backup's tokens (the same
// cluster in place, at the backup's size, or a Cluster created from the backup).
inline constexpr char kNodeFiles[] = "NodeFiles";
// Each source node's files are streamed to the replicas of their rows by one member (the bulk
// loader): a cluster of another size, or on other tokens.
inline constexpr char kBulkLoad[] = "BulkLoad";
}  // namespace restore_method

// One node's part: whose data it takes and its agent's restore operation (BulkLoad: one part
// per source node; a member may stream several, one after the other).
struct RestoreNodeStatus {
  std::string pod;
  std::string source;     // the backup's node whose files this pod takes
  std::string operation;  // the agent's operation id; "" until asked
  std::string phase;      // Pending | Running | Done | Failed
  int64_t files_done = 0, bytes = 0;
  std::string message;
  // A restore to a point in time: this member's replay (replay_phase), and the pod that
  // restarts for it (its successor replays).
  std::string replay_phase, replay_pod_uid;
};

// Where a member's commit log replay stands.
namespace replay_phase {
inline constexpr char kPending[] = "Pending";
inline constexpr char kRestarting[] = "Restarting";  // its pod restarts with the replay
inline constexpr char kDone[] = "Done";
}  // namespace replay_phase

struct RestoreStatus : RunStatus {
  // Where the backup is (resolved once, at the start).
  std::string location, source_cluster, source_backup;
  // The schema step: which pod's agent runs it, its operation, and whether it is done (recorded
  // before any node's data is imported: the restored tables are truncated in that step).
  std::string schema_pod, schema_operation;
  bool schema_done = false;
  std::string method;  // restore_method
  std::vector<RestoreNodeStatus> nodes;
  // A restore to a point in time: the target and the segments' start (the backup's start),
  // RFC 3339; "" otherwise.
  std::string replay_target, replay_since;
  std::vector<std::string> replay_tables;  // "keyspace.table": what the replay is limited to
};

RestoreStatus ParseRestoreStatus(const kube::Json& status);
// status as the CRD holds it (AddRunStatus's fields and conditions, then the restore's).
kube::Json ToJson(const RestoreStatus& s);

}  // namespace ringkeeper
