#include "agent/server/node_restore.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "cql/keyspaces.h"

namespace agent::server {
namespace {

namespace fs = std::filesystem;

std::string Quoted(const std::string& identifier) {
  return absl::StrCat("\"", absl::StrReplaceAll(identifier, {{"\"", "\"\""}}), "\"");
}

std::string Literal(const std::string& value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"'", "''"}}), "'");
}

// The source node's manifest of the backup.
absl::StatusOr<backup::Manifest> ReadManifest(const backup::StoreFactory& stores,
                                              const BackupIdentity& self,
                                              const api::OperationRequest& r) {
  const backup::NodePath source{
      r.location.prefix, r.source_cluster.empty() ? self.cluster : r.source_cluster, r.source_node};
  const std::string key = backup::ManifestKey(source, r.backup);
  auto text = stores()->Get(key);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(absl::StrCat("backup ", r.backup, " has no manifest for node ",
                                            r.source_node, " (", key, ")"));
  }
  if (!text.ok()) return base::Annotate(text.status(), key);
  return backup::ParseManifest(*text);
}

}  // namespace

absl::Status CheckRestoreRequest(const api::OperationRequest& r) {
  for (const auto& [value, name] :
       {std::pair{&r.backup, "backup"}, std::pair{&r.source_node, "source_node"}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(r.kind, ": \"", name, "\" is required"));
    }
  }
  RETURN_IF_ERROR(CheckLocation(r.location, r.kind));
  if (absl::StrContains(r.backup, "/") || absl::StrContains(r.source_node, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(r.kind, ": names must not contain '/'"));
  }
  return absl::OkStatus();
}

std::vector<std::string> SplitStatements(const std::string& cql) {
  std::vector<std::string> out;
  // Cassandra ends each statement of schema.cql with ';' at the end of a line.
  for (absl::string_view part : absl::StrSplit(cql, absl::ByString(";\n"))) {
    std::string statement(absl::StripAsciiWhitespace(part));
    if (absl::EndsWith(statement, ";")) statement.pop_back();
    if (!statement.empty()) out.push_back(statement);
  }
  return out;
}

std::string CreateKeyspaceStatement(const std::string& name, const backup::KeyspaceSchema& k) {
  std::vector<std::string> options;
  for (const auto& [key, value] : k.replication) {
    options.push_back(absl::StrCat(Literal(key), ": ", Literal(value)));
  }
  return absl::StrCat("CREATE KEYSPACE IF NOT EXISTS ", Quoted(name), " WITH replication = {",
                      absl::StrJoin(options, ", "),
                      "} AND durable_writes = ", k.durable_writes ? "true" : "false");
}

absl::Status RestoreSchema(const BackupIdentity& self, const api::OperationRequest& r) {
  RETURN_IF_ERROR(CheckRestoreRequest(r));
  if (!self.keyspaces || !self.execute) return absl::InternalError("restore: no CQL access");
  ASSIGN_OR_RETURN(const backup::StoreFactory stores, OpenStorage(r.location));
  ASSIGN_OR_RETURN(const backup::Manifest manifest, ReadManifest(stores, self, r));
  ASSIGN_OR_RETURN(const std::vector<std::string> keyspaces,
                   backup::RestoredKeyspaces(manifest, r.keyspaces));
  auto live = self.keyspaces();
  RETURN_IF_ERROR(base::Annotate(live.status(), "read the live schema"));
  std::vector<std::string> statements, truncates;
  auto store = stores();
  for (const std::string& ks : keyspaces) {
    if (!live->contains(ks)) {
      statements.push_back(CreateKeyspaceStatement(ks, manifest.keyspaces.at(ks)));
    }
    std::set<std::string> tables;
    for (const backup::FileEntry& f : manifest.files) {
      if (f.keyspace != ks || f.name != "schema.cql") continue;
      auto cql = store->Get(f.key);
      RETURN_IF_ERROR(base::Annotate(cql.status(), f.key));
      for (std::string& s : SplitStatements(*cql)) statements.push_back(std::move(s));
      tables.insert(backup::TableOfDirectory(f.table));
    }
    for (const backup::FileEntry& f : manifest.files) {
      if (f.keyspace == ks) tables.insert(backup::TableOfDirectory(f.table));
    }
    // A keyspace created just now holds nothing to truncate.
    if (!live->contains(ks)) continue;
    for (const std::string& t : tables) {
      truncates.push_back(absl::StrCat("TRUNCATE TABLE ", Quoted(ks), ".", Quoted(t)));
    }
  }
  spdlog::info("restore {}: {} schema statements for {}", r.backup, statements.size(),
               absl::StrJoin(keyspaces, ", "));
  // The schema first, agreed on by every node (the executor waits for it): a TRUNCATE reaching
  // a replica that has not yet seen a recreated table fails there.
  RETURN_IF_ERROR(base::Annotate(self.execute(statements), "restore the schema"));
  if (!r.truncate || truncates.empty()) return absl::OkStatus();
  // A TRUNCATE needs every replica up and answering; a transient refusal is tried again
  // (truncating twice is harmless: no data has been imported yet).
  absl::Status truncated;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    truncated = self.execute(truncates);
    if (truncated.ok()) break;
    spdlog::warn("restore {}: truncate, attempt {}: {}", r.backup, attempt, truncated.message());
    absl::SleepFor(absl::Seconds(2 * attempt));
  }
  return base::Annotate(truncated, "truncate the restored tables");
}

namespace {
// <data_dir>/ringkeeper-restore/<backup>/, and under it <source node>/ when loading (a node may
// load several source nodes' files, whose names may repeat).
fs::path StagingDir(const BackupIdentity& self, const api::OperationRequest& r) {
  const fs::path dir = fs::path(self.data_dir) / "ringkeeper-restore" / r.backup;
  return r.load ? dir / r.source_node : dir;
}
}  // namespace

absl::StatusOr<StagedFiles> FetchNodeFiles(const BackupIdentity& self,
                                           const api::OperationRequest& r,
                                           backup::DownloadStats& stats,
                                           const std::atomic<bool>* cancel) {
  RETURN_IF_ERROR(CheckRestoreRequest(r));
  ASSIGN_OR_RETURN(const backup::StoreFactory stores, OpenStorage(r.location));
  ASSIGN_OR_RETURN(const backup::Manifest manifest, ReadManifest(stores, self, r));
  ASSIGN_OR_RETURN(const std::vector<std::string> keyspaces,
                   backup::RestoredKeyspaces(manifest, r.keyspaces));
  const std::set<std::string> restored(keyspaces.begin(), keyspaces.end());
  const fs::path staging = StagingDir(self, r);
  std::vector<backup::DownloadFile> files;
  StagedFiles staged;
  for (const backup::FileEntry& f : manifest.files) {
    if (!restored.contains(f.keyspace) || f.name == "schema.cql" || f.name == "manifest.json") {
      continue;
    }
    const fs::path dir = staging / f.keyspace / f.table;
    files.push_back({f, (dir / f.name).string()});
    staged.tables[{f.keyspace, f.table}] = dir.string();
  }
  RETURN_IF_ERROR(backup::DownloadFiles(stores, files, {}, stats, cancel));
  staged.files = files.size();
  return staged;
}

absl::StatusOr<bool> LoadStagedTables(node::NodeControl& node, const StagedFiles& staged,
                                      const api::OperationRequest& r,
                                      const std::atomic<bool>* cancel) {
  bool loaded = r.load;
  for (const auto& [table, dir] : staged.tables) {
    if (cancel && *cancel) return absl::CancelledError("restore cancelled");
    if (!loaded) {
      const absl::Status imported = node.ImportSSTables(
          table.first, backup::TableOfDirectory(table.second), dir, r.verify_tokens);
      if (!absl::IsUnimplemented(imported)) {
        RETURN_IF_ERROR(imported);
        continue;
      }
      // A node that cannot import (Cassandra 4.x on Java 11, see ImportSSTables) streams its
      // files to their replicas instead: the same rows restored, sent to every replica.
      spdlog::warn("restore {}: {}; streaming the files to their replicas instead", r.backup,
                   imported.message());
      loaded = true;
    }
    // The staging folder is <...>/<keyspace>/<table>-<id>: the loader reads both names there.
    RETURN_IF_ERROR(base::Annotate(node.BulkLoad(dir), absl::StrCat("bulk load ", dir)));
  }
  return loaded;
}

absl::Status RestoreNode(node::NodeControl& node, const BackupIdentity& self,
                         const api::OperationRequest& r, backup::DownloadStats& stats,
                         const std::atomic<bool>* cancel) {
  ASSIGN_OR_RETURN(const StagedFiles staged, FetchNodeFiles(self, r, stats, cancel));
  ASSIGN_OR_RETURN(const bool loaded, LoadStagedTables(node, staged, r, cancel));
  std::error_code ec;
  fs::remove_all(StagingDir(self, r), ec);
  spdlog::info("restore {}: {} files of {} tables {} ({} already fetched)", r.backup, staged.files,
               staged.tables.size(),
               loaded ? absl::StrCat("streamed to their replicas from ", r.source_node)
                      : std::string("imported"),
               stats.files_skipped.load());
  return absl::OkStatus();
}

}  // namespace agent::server
