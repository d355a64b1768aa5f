// One node's part of a backup: snapshot the keyspaces (tag "rk-backup-<backup>"), store the
// snapshot's files content-addressed (backup/uploader.h: files already stored are not sent
// again), then write the node's manifest — last, so a manifest means every file it lists is
// stored — and clear the snapshot, whatever happened.
//
// Errors: InvalidArgument (bad request, unreadable credentials), the uploader's and the S3
// client's codes (NotFound: no such bucket; PermissionDenied: bad credentials), Cancelled.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/api.h"
#include "agent/node/node_control.h"
#include "backup/uploader.h"

namespace agent::server {

// Reads this node's keyspaces (cql::ReadKeyspaces over a fresh connection): the schema a backup
// saves beside its files.
using KeyspacesProbe =
    std::function<absl::StatusOr<std::map<std::string, backup::KeyspaceSchema>>()>;
// Runs CQL statements in order on this node (a fresh connection), then waits for schema
// agreement: the schema a restore creates.
using CqlExecutor = std::function<absl::Status(const std::vector<std::string>& statements)>;

// Who this node is in the backup's layout, where its data lives, and how its schema is read and
// written.
struct BackupIdentity {
  std::string cluster, dc, rack, pod;
  std::string data_dir;  // the node's data volume (its `data/` holds the keyspaces)
  KeyspacesProbe keyspaces;
  CqlExecutor execute;
};

// Validates a backup request before it starts (InvalidArgument naming the field).
absl::Status CheckBackupRequest(const api::OperationRequest& request);

// Unavailable while the location's credentials file cannot be read: the operator writes it into
// a mounted Secret just before it asks for the backup, and kubelet may not have refreshed the
// volume yet, so the caller asks again later.
absl::Status CheckBackupCredentials(const api::OperationRequest& request);

// InvalidArgument naming the field a location lacks (`what`: the request's kind).
absl::Status CheckLocation(const api::StorageLocation& location, const std::string& what);

// A factory of stores for `location`: S3 clients, their credentials read now (InvalidArgument
// when the file is not one), or the location's directory.
absl::StatusOr<backup::StoreFactory> OpenStorage(const api::StorageLocation& location);

// Returns the manifest's key. A snapshot of the same name left by an interrupted run (the agent
// restarted mid-upload) is cleared first; the files it had stored are not sent again.
absl::StatusOr<std::string> BackupNode(node::NodeControl& node, const BackupIdentity& self,
                                       const api::OperationRequest& request,
                                       backup::UploadStats& stats, const std::atomic<bool>* cancel);

// The files of snapshot `tag` under `data_dir`: data/<keyspace>/<table-dir>/snapshots/<tag>/*,
// the table named by its directory (name and id: a restore needs the original table id).
std::vector<backup::LocalFile> SnapshotFiles(const std::string& data_dir, const std::string& tag);

}  // namespace agent::server
