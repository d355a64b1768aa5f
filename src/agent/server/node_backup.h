// One node's part of a backup: snapshot the keyspaces (tag "rk-backup-<backup>"), store the
// snapshot's files content-addressed (backup/uploader.h: files already stored are not sent
// again), then write the node's manifest — last, so a manifest means every file it lists is
// stored — and clear the snapshot, whatever happened.
//
// Errors: InvalidArgument (bad request, unreadable credentials), the uploader's and the S3
// client's codes (NotFound: no such bucket; PermissionDenied: bad credentials), Cancelled.
#pragma once

#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "agent/api/api.h"
#include "agent/node/node_control.h"
#include "backup/uploader.h"

namespace agent::server {

// Who this node is in the backup's layout, and where its data lives.
struct BackupIdentity {
  std::string cluster, dc, rack, pod;
  std::string data_dir;  // the node's data volume (its `data/` holds the keyspaces)
};

// Validates a backup request before it starts (InvalidArgument naming the field).
absl::Status CheckBackupRequest(const api::OperationRequest& request);

// Returns the manifest's key.
absl::StatusOr<std::string> BackupNode(node::NodeControl& node, const BackupIdentity& self,
                                       const api::OperationRequest& request,
                                       backup::UploadStats& stats, const std::atomic<bool>* cancel);

// The files of snapshot `tag` under `data_dir`: data/<keyspace>/<table-dir>/snapshots/<tag>/*,
// the table named by its directory (name and id: a restore needs the original table id).
std::vector<backup::LocalFile> SnapshotFiles(const std::string& data_dir, const std::string& tag);

}  // namespace agent::server
