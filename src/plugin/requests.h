// What the plugin's commands ask of the API server, built as values: the restart annotation,
// the replace label, a Repair, Backup or Restore, and cqlsh's credentials inside a pod. The
// operator does the work (and refuses what is unsafe); the plugin only writes what a user would
// write by hand with kubectl.
//
// Pure; the command-line wiring is main.cc.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kube/object.h"

namespace ringkeeper::plugin {

// Merge patch of a Cluster: a new cassandra.rook.io/restartedAt, so every pod rolls, one at a
// time (as `kubectl rollout restart` does for a Deployment).
kube::Json RestartPatch(absl::Time now);

// Merge patch of a Cassandra pod: cassandra.rook.io/replace=true (its volume and pod deleted,
// the member re-bootstrapped with its address; the operator checks it is safe first).
kube::Json ReplacePatch();

// The Cluster a pod belongs to (label cassandra.rook.io/cluster), or an error naming the pod
// when it is not a Ringkeeper Cassandra pod.
absl::StatusOr<std::string> ClusterOfPod(const kube::Json& pod);

// A name for a new object of `what` ("repair", "backup", "restore") of `cluster`:
// <cluster>-<what>-<yyyymmdd-hhmmss> in UTC, cut to 63 characters.
std::string GeneratedName(const std::string& cluster, const std::string& what, absl::Time now);

struct RepairOptions {
  std::vector<std::string> keyspaces;  // empty: every replicated keyspace
  std::vector<std::string> tables;     // with one keyspace
  std::string type;                    // full | incremental | preview; empty: the CRD's default
  std::string parallelism;             // sequential | parallel | dc-parallel; empty: default
  std::optional<double> intensity;
  std::optional<int> segments_per_node;
};
kube::Json RepairManifest(const std::string& ns, const std::string& name,
                          const std::string& cluster, const RepairOptions& options);

kube::Json BackupManifest(const std::string& ns, const std::string& name,
                          const std::string& cluster, const std::string& storage_location,
                          const std::vector<std::string>& keyspaces);

// `point_in_time` empty: to the backup as taken.
kube::Json RestoreManifest(const std::string& ns, const std::string& name,
                           const std::string& cluster, const std::string& backup,
                           const std::vector<std::string>& keyspaces,
                           const std::string& point_in_time);

// A Repair's, Backup's or Restore's progress in one line ("Running 12/48 segments",
// "Complete", "Failed: <message>"), and whether it has finished.
std::string Progress(const kube::Json& object);
bool Finished(const kube::Json& object);

// cqlsh's credentials file (its [PlainTextAuthProvider] section) for `user`.
std::string CqlshCredentials(const std::string& user, const std::string& password);

// The two commands `kubectl exec` runs in the cassandra container for `cqlsh`: the first writes
// the credentials file from its stdin (so the password is in no process's arguments), readable
// by the container's user only; the second (interactive) runs cqlsh on it with `cqlsh_args` and
// removes the file when cqlsh ends.
std::vector<std::string> CqlshWriteCommand(const std::string& file);
std::vector<std::string> CqlshRunCommand(const std::string& file,
                                         const std::vector<std::string>& cqlsh_args);

}  // namespace ringkeeper::plugin
