// The typed view of a Backup (cassandra.rook.io/v1alpha1): a one-shot backup of a Cluster to one
// of its storage locations, and the status the operator records while it runs (the record that
// lets a restarted operator carry on: which nodes take part and which agent operation each runs).
//
// The API server has validated the shape (config/crd/cassandra.rook.io_backups.yaml: the spec
// is immutable); ParseBackup fills defaults. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kube/object.h"
#include "kube/resource.h"

namespace ringkeeper {

inline const kube::Resource kBackups{"cassandra.rook.io", "v1alpha1", "backups", "Backup", true};

struct BackupSpec {
  std::string name, ns, uid;
  std::string cluster;                     // a Cluster in the Backup's namespace
  std::string storage_location;            // one of its spec.storageLocations
  std::vector<std::string> keyspaces;      // empty: every keyspace, the system ones included
  int upload_parallelism = 4;              // files sent at once, per node
  int64_t bandwidth_bytes_per_second = 0;  // per node; 0: no limit
};

absl::StatusOr<BackupSpec> ParseBackup(const kube::Object& backup);

// status.phase: Pending (not started; checks pass first) -> Running -> Complete | Failed.
namespace backup_phase {
inline constexpr char kPending[] = "Pending";
inline constexpr char kRunning[] = "Running";
inline constexpr char kComplete[] = "Complete";
inline constexpr char kFailed[] = "Failed";
}  // namespace backup_phase

// One node's part, as its agent reports it.
struct BackupNodeStatus {
  std::string pod, dc, rack;
  std::string operation;  // the agent's operation id; "" until it was asked
  std::string phase;      // Pending | Running | Done | Failed
  int64_t files_total = 0, files_done = 0, files_skipped = 0;
  int64_t bytes_total = 0, bytes_sent = 0;
  std::string manifest;  // its manifest's key, once written
  std::string message;   // why it failed
};

struct BackupStatus {
  std::string phase;                        // "" until the operator has seen the Backup
  std::string start_time, completion_time;  // RFC 3339
  std::vector<BackupNodeStatus> nodes;
  int64_t bytes = 0;            // the backup's size: every file its manifests list
  int64_t bytes_sent = 0;       // what this backup uploaded (files already stored were not sent)
  std::string index;            // s3://bucket/key of the backup's index, written last
  std::string reason, message;  // why it failed (the Failed condition's)

  bool Finished() const;
};

BackupStatus ParseBackupStatus(const kube::Json& status);
// status as the CRD holds it, with the Complete and Failed conditions derived from the phase
// (types Complete and Failed, as a Job's: `kubectl wait --for=condition=Complete`).
kube::Json ToJson(const BackupStatus& s);

}  // namespace ringkeeper
