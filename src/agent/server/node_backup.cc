#include "agent/server/node_backup.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "s3/client.h"

namespace agent::server {
namespace {

namespace fs = std::filesystem;

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

absl::StatusOr<s3::Credentials> ReadS3Credentials(const std::string& path) {
  std::ifstream in(path);
  s3::Credentials c;
  if (!in || !std::getline(in, c.access_key_id) || !std::getline(in, c.secret_access_key) ||
      c.access_key_id.empty() || c.secret_access_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("S3 credentials file ", path,
                                                   ": want the access key id and the secret, "
                                                   "one a line"));
  }
  return c;
}

}  // namespace

absl::Status CheckLocation(const api::StorageLocation& l, const std::string& what) {
  if (!l.path.empty()) {
    if (l.path.front() != '/') {
      return absl::InvalidArgumentError(absl::StrCat(what, ": location.path must be absolute"));
    }
    return absl::OkStatus();
  }
  for (const auto& [value, name] :
       {std::pair{&l.endpoint, "location.endpoint"}, std::pair{&l.bucket, "location.bucket"},
        std::pair{&l.credentials_file, "location.credentials_file"}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": \"", name, "\" is required"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBackupRequest(const api::OperationRequest& r) {
  if (r.backup.empty()) return absl::InvalidArgumentError("backup: \"backup\" is required");
  RETURN_IF_ERROR(CheckLocation(r.location, "backup"));
  if (r.backup.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("backup: the name must not contain '/'");
  }
  if (r.upload_parallelism < 1 || r.upload_parallelism > 64) {
    return absl::InvalidArgumentError("backup: upload_parallelism must be 1..64");
  }
  return absl::OkStatus();
}

absl::StatusOr<backup::StoreFactory> OpenStorage(const api::StorageLocation& l) {
  if (!l.path.empty()) {
    return backup::StoreFactory(
        [path = l.path] { return std::make_unique<backup::FileStore>(path); });
  }
  ASSIGN_OR_RETURN(const s3::Credentials credentials, ReadS3Credentials(l.credentials_file));
  s3::Endpoint endpoint{l.endpoint, l.region, l.path_style, l.ca_file};
  return backup::StoreFactory([endpoint, credentials, bucket = l.bucket] {
    return std::make_unique<backup::S3Store>(endpoint, credentials, bucket);
  });
}

absl::Status CheckBackupCredentials(const api::OperationRequest& r) {
  if (!r.location.path.empty()) return absl::OkStatus();  // no credentials
  if (auto c = ReadS3Credentials(r.location.credentials_file); !c.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the storage location's credentials are not readable yet: ", c.status().message()));
  }
  return absl::OkStatus();
}

std::vector<backup::LocalFile> SnapshotFiles(const std::string& data_dir, const std::string& tag) {
  std::vector<backup::LocalFile> files;
  std::error_code ec;
  for (const auto& ks : fs::directory_iterator(fs::path(data_dir) / "data", ec)) {
    if (!ks.is_directory()) continue;
    for (const auto& table : fs::directory_iterator(ks.path(), ec)) {
      const fs::path snapshot = table.path() / "snapshots" / tag;
      if (!fs::is_directory(snapshot, ec)) continue;
      for (const auto& f : fs::directory_iterator(snapshot, ec)) {
        if (!f.is_regular_file()) continue;
        files.push_back({ks.path().filename().string(), table.path().filename().string(),
                         f.path().filename().string(), f.path().string()});
      }
    }
  }
  return files;
}

absl::StatusOr<std::string> BackupNode(node::NodeControl& node, const BackupIdentity& self,
                                       const api::OperationRequest& r, backup::UploadStats& stats,
                                       const std::atomic<bool>* cancel) {
  RETURN_IF_ERROR(CheckBackupRequest(r));
  ASSIGN_OR_RETURN(const backup::StoreFactory stores, OpenStorage(r.location));
  ASSIGN_OR_RETURN(const api::NodeInfo info, node.GetNodeInfo());
  backup::Manifest manifest;
  manifest.backup = r.backup;
  manifest.cluster = self.cluster;
  manifest.dc = self.dc;
  manifest.rack = self.rack;
  manifest.node = self.pod;
  manifest.host_id = info.host_id;
  manifest.tokens = info.tokens;
  manifest.started = Now();
  if (!self.keyspaces) return absl::InternalError("backup: no way to read the schema");
  auto keyspaces = self.keyspaces();
  RETURN_IF_ERROR(base::Annotate(keyspaces.status(), "read the schema"));
  manifest.keyspaces = *std::move(keyspaces);
  const std::string tag = "rk-backup-" + r.backup;
  RETURN_IF_ERROR(base::Annotate(node.ClearSnapshot(tag), "clear an earlier run's snapshot"));
  RETURN_IF_ERROR(base::Annotate(node.TakeSnapshot(tag, r.keyspaces), "snapshot"));
  const backup::NodePath where{r.location.prefix, self.cluster, self.pod};
  backup::UploadOptions options;
  options.parallelism = r.upload_parallelism;
  options.bytes_per_second = r.bandwidth_bytes_per_second;
  auto stored =
      backup::UploadFiles(stores, where, SnapshotFiles(self.data_dir, tag), options, stats, cancel);
  absl::Status status = stored.status();
  std::string key;
  if (stored.ok()) {
    manifest.files = *std::move(stored);
    manifest.finished = Now();
    key = backup::ManifestKey(where, r.backup);
    status = stores()->Put(key, backup::ToJson(manifest));
  }
  // The snapshot's hard links hold disk space: gone whatever happened.
  absl::Status cleared = node.ClearSnapshot(tag);
  RETURN_IF_ERROR(base::Annotate(status, "backup"));
  RETURN_IF_ERROR(base::Annotate(cleared, "clear snapshot"));
  return key;
}

}  // namespace agent::server
