// A backup brought back, in two steps (api.h: kOpRestoreSchema, kOpRestore).
//
// RestoreSchema, once per cluster on any node: reads one node's manifest of the backup; for each
// keyspace restored, creates it when the live schema lacks it (the saved replication and
// durable_writes), then runs each table's statements from the backup's schema.cql (Cassandra
// writes them with IF NOT EXISTS and the table's original id, which commitlog replay needs), and
// truncates the restored tables when asked (a restore in place returns them to the backup's
// state; Cassandra's auto_snapshot keeps what they held).
//
// RestoreNode, on every node: reads the source node's manifest, fetches the restored keyspaces'
// files into <data_dir>/ringkeeper-restore/<backup>/ (FetchNodeFiles: verified; files already
// fetched by an interrupted run, or by `agent init` before Cassandra first started, are kept),
// imports each table's directory into the live table, and removes the staging directory.
//
// Errors: InvalidArgument (a keyspace the backup lacks, a bad request), NotFound (no manifest:
// no such backup, or not this node's), the downloader's, the node's (FailedPrecondition when an
// import is refused), the CQL executor's.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/api.h"
#include "agent/node/node_control.h"
#include "agent/server/node_backup.h"
#include "backup/downloader.h"
#include "backup/layout.h"

namespace agent::server {

// Validates a restore or restore_schema request (InvalidArgument naming the field).
absl::Status CheckRestoreRequest(const api::OperationRequest& request);

absl::Status RestoreSchema(const BackupIdentity& self, const api::OperationRequest& request);

// The source node's files of the restored keyspaces, in the staging folder: each table's folder
// there by (keyspace, table directory), and how many files. Also run by `agent init` for a
// Cluster created from a backup, so the node starts with its files already on its volume.
struct StagedFiles {
  std::map<std::pair<std::string, std::string>, std::string> tables;
  size_t files = 0;
};
absl::StatusOr<StagedFiles> FetchNodeFiles(const BackupIdentity& self,
                                           const api::OperationRequest& request,
                                           backup::DownloadStats& stats,
                                           const std::atomic<bool>* cancel);

// Puts the staged tables' files into Cassandra: imported into this node (verified, tokens
// checked when request.verify_tokens), or streamed to their replicas when request.load or when
// the node cannot import (Cassandra 4.x on Java 11). Returns whether they were streamed.
absl::StatusOr<bool> LoadStagedTables(node::NodeControl& node, const StagedFiles& staged,
                                      const api::OperationRequest& request,
                                      const std::atomic<bool>* cancel);

absl::Status RestoreNode(node::NodeControl& node, const BackupIdentity& self,
                         const api::OperationRequest& request, backup::DownloadStats& stats,
                         const std::atomic<bool>* cancel);

// Pure helpers, exposed for tests.
// The statements of a schema.cql file, in order, without their ';'.
std::vector<std::string> SplitStatements(const std::string& cql);
// "CREATE KEYSPACE IF NOT EXISTS ..." from its saved definition.
std::string CreateKeyspaceStatement(const std::string& name, const backup::KeyspaceSchema& k);

}  // namespace agent::server
