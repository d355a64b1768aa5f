// Where a backup's objects live under a storage location, and the manifest that makes a backup
// (one per node). Pure; thread-safe.
//
//   <prefix>/<cluster>/<node>/data/<keyspace>/<table>/<md5>-<size>-<file>   SSTable files
//   <prefix>/<cluster>/<node>/manifests/<backup>.json                        written last
//
// A data key names its content (MD5 and size) besides the file's name: a file already stored is
// recognised by its key alone and never sent again, by any later backup of that node, and two
// files of one name but other content (a node rebuilt from nothing reuses SSTable generation
// numbers) never overwrite each other. Files are shared between backups; a backup is its
// manifests, and a backup missing a node's manifest is not complete.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace backup {

struct NodePath {
  std::string prefix;   // the storage location's prefix, "" or "a/b" (no leading or trailing '/')
  std::string cluster;  // the Cluster's name
  std::string node;     // the member (pod) name: stable across replacements, unlike addresses
  std::string Root() const;  // "<prefix>/<cluster>/<node>" (no leading '/')
};

std::string DataPrefix(const NodePath& n);  // "<root>/data/"
std::string DataKey(const NodePath& n, const std::string& keyspace, const std::string& table,
                    const std::string& md5, int64_t size, const std::string& file);
std::string ManifestKey(const NodePath& n, const std::string& backup);

// One stored file of a node's backup.
struct FileEntry {
  std::string keyspace, table, name;
  int64_t size = 0;
  std::string md5;  // lowercase hex of the whole file
  std::string key;  // its object key (DataKey)
};

// One node's part of a backup.
struct Manifest {
  std::string backup;
  std::string cluster, dc, rack, node, host_id;
  std::vector<std::string> tokens;
  std::string started, finished;  // RFC 3339
  std::vector<FileEntry> files;
  int64_t TotalBytes() const;
};

std::string ToJson(const Manifest& m);
// InvalidArgument naming what is wrong when `text` is not a manifest.
absl::StatusOr<Manifest> ParseManifest(const std::string& text);

}  // namespace backup
