// The typed view of a Backup (cassandra.rook.io/v1alpha1): a one-shot backup of a Cluster to one
// of its storage locations, and the status the operator records while it runs (the record that
// lets a restarted operator carry on: which nodes take part and which agent operation each runs).
//
// The API server has validated the shape
// (charts/ringkeeper/files/crds/cassandra.rook.io_backups.yaml: the spec is immutable); ParseBackup
// fills defaults. Pure; thread-safe.
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
// On a Backup, set by a user (any new value, e.g. a time): the operator verifies the stored
// backup again and reports it in status.verification and the Verified condition.
inline constexpr char kAnnotationVerify[] = "cassandra.rook.io/verify";

namespace backup_phase {
inline constexpr char kPending[] = "Pending";
inline constexpr char kRunning[] = "Running";
inline constexpr char kComplete[] = "Complete";
inline constexpr char kFailed[] = "Failed";
}  // namespace backup_phase

// A node's part of a Backup or Restore: Pending -> Running -> Done | Failed.
namespace node_phase {
inline constexpr char kPending[] = "Pending";
inline constexpr char kRunning[] = "Running";
inline constexpr char kDone[] = "Done";
inline constexpr char kFailed[] = "Failed";
}  // namespace node_phase

// What the status of every one-shot operation (Backup, Restore) has: its phase, when it started
// and finished, and why it failed; the Complete and Failed conditions are derived from them (as
// a Job's: `kubectl wait --for=condition=Complete`).
struct RunStatus {
  std::string phase;                        // "" until the operator has seen it
  std::string start_time, completion_time;  // RFC 3339
  std::string reason, message;              // why it failed (the Failed condition's)

  bool Finished() const;  // Complete or Failed
  // Failed at `now` (RFC 3339) for `reason`; started then too if it had not.
  void Fail(const std::string& reason, const std::string& message, const std::string& now);
};
void ParseRunStatus(const kube::Json& status, RunStatus& into);
// Writes the fields of `s` into `out`, with the two conditions; `complete_reason` and
// `complete_message` say what Complete means for this kind.
void AddRunStatus(const RunStatus& s, const std::string& complete_reason,
                  const std::string& complete_message, kube::Json& out);

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

// A check that every file of every manifest is stored with its size and ETag (for a file sent in
// one PUT, the MD5 the storage computed of what it received): made when the backup completes,
// and again whenever the Backup's kAnnotationVerify gets a new value.
struct BackupVerification {
  std::string request;  // the annotation's value it answered; "" for the one at completion
  std::string time;     // RFC 3339; "" = never verified
  bool passed = false;
  int64_t files = 0, bytes = 0;       // found whole
  std::vector<std::string> problems;  // the first ones (kMaxProblems)
  static constexpr size_t kMaxProblems = 20;
};

struct BackupStatus : RunStatus {
  std::vector<BackupNodeStatus> nodes;
  BackupVerification verification;
  int64_t bytes = 0;       // the backup's size: every file its manifests list
  int64_t bytes_sent = 0;  // what this backup uploaded (files already stored were not sent)
  std::string index;       // s3://bucket/key of the backup's index, written last
};

BackupStatus ParseBackupStatus(const kube::Json& status);
// status as the CRD holds it (AddRunStatus's fields and conditions, then the backup's).
kube::Json ToJson(const BackupStatus& s);

}  // namespace ringkeeper
