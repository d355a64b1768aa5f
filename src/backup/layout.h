// Where a backup's objects live under a storage location, and the manifest that makes a backup
// (one per node). Pure; thread-safe.
//
//   <prefix>/<cluster>/<node>/data/<keyspace>/<table>/<md5>-<size>-<file>   SSTable files
//   <prefix>/<cluster>/<node>/manifests/<backup>.json                        one node's part
//   <prefix>/<cluster>/backups/<backup>.json                                 the index, last
//   <prefix>/<cluster>/<node>/commitlog/<md5>-<size>-<segment>               archived commit log
//
// A data key names its content (MD5 and size) besides the file's name: a file already stored is
// recognised by its key alone and never sent again, by any later backup of that node, and two
// files of one name but other content (a node rebuilt from nothing reuses SSTable generation
// numbers) never overwrite each other. Files are shared between backups; a backup is its
// manifests, and a backup missing a node's manifest is not complete. The index, written by the
// operator once every manifest is stored, names them: a backup is complete when its index
// exists (no node is named "backups": members are <cluster>-<dc>-<rack>-<ordinal>).
#pragma once

#include <cstdint>
#include <map>
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

// A node's archived commit log segments (spec.commitLogArchive; a restore to a point in time
// replays them). Named by content as data files are, outside data/ (which the backups' purge
// keeps to what manifests reference).
std::string CommitLogPrefix(const NodePath& n);  // "<root>/commitlog/"
std::string CommitLogKey(const NodePath& n, const std::string& md5, int64_t size,
                         const std::string& segment);
struct SegmentKey {
  std::string md5;
  int64_t size = 0;
  std::string segment;  // "CommitLog-8-1764900000000.log"
};
// The parts of a key under CommitLogPrefix(n); InvalidArgument for any other key.
absl::StatusOr<SegmentKey> ParseCommitLogKey(const NodePath& n, const std::string& key);

// One stored file of a node's backup.
struct FileEntry {
  std::string keyspace, table, name;
  int64_t size = 0;
  std::string md5;  // lowercase hex of the whole file
  std::string key;  // its object key (DataKey)
  // The ETag the storage holds it with: for a file sent in one PUT, its MD5 as the server
  // computed it on receipt; for a multipart upload, the server's "<hash>-<parts>". "" in
  // manifests written before it was recorded.
  std::string etag;
};

// A keyspace's definition as system_schema.keyspaces holds it: what a restore needs to create
// the keyspace again (each table's CREATE statement, with its id, is a file of the snapshot:
// schema.cql).
struct KeyspaceSchema {
  std::map<std::string, std::string> replication;  // "class" and its options
  bool durable_writes = true;
  bool operator==(const KeyspaceSchema&) const = default;
};

// One node's part of a backup.
struct Manifest {
  std::string backup;
  std::string cluster, dc, rack, node, host_id;
  std::vector<std::string> tokens;
  std::string started, finished;                    // RFC 3339
  std::map<std::string, KeyspaceSchema> keyspaces;  // every keyspace the node had, by name
  std::vector<FileEntry> files;
  int64_t TotalBytes() const;
};

// The backup as a whole: which nodes took part and where their manifests are.
struct IndexNode {
  std::string node, dc, rack, manifest;
  int64_t bytes = 0;
};
struct Index {
  std::string backup, cluster, ns;
  std::string started, finished;  // RFC 3339
  std::vector<IndexNode> nodes;
  int64_t bytes = 0;
};

std::string IndexKey(const std::string& prefix, const std::string& cluster,
                     const std::string& backup);

// A stored object as a listing gives it.
struct StoredFile {
  int64_t size = 0;
  std::string etag;  // without quotes
};
// What a listing of the node's data says of a manifest's files: every file stored, with its
// size and its ETag (the recorded one; else, for an object stored in one PUT, the file's MD5).
struct Verification {
  int64_t files = 0, bytes = 0;       // checked, and found whole
  std::vector<std::string> problems;  // "<key>: not stored" ..., in manifest order
};
Verification VerifyFiles(const Manifest& manifest, const std::map<std::string, StoredFile>& stored);

// The keyspaces a restore takes from `manifest`: `wanted`, each checked against the manifest
// (InvalidArgument naming one it lacks, or a system keyspace), or every non-system keyspace it
// has.
absl::StatusOr<std::vector<std::string>> RestoredKeyspaces(const Manifest& manifest,
                                                           const std::vector<std::string>& wanted);
// The table a snapshot's directory belongs to: "t-5bc52802de2535edaeab188eecebb090" -> "t".
std::string TableOfDirectory(const std::string& directory);
// The tables of `keyspaces` the manifest has files of (each table's schema.cql at least), as
// "keyspace.table", sorted.
std::vector<std::string> TablesOf(const Manifest& manifest,
                                  const std::vector<std::string>& keyspaces);

std::string ToJson(const Manifest& m);
std::string ToJson(const Index& index);
absl::StatusOr<Index> ParseIndex(const std::string& text);
// InvalidArgument naming what is wrong when `text` is not a manifest.
absl::StatusOr<Manifest> ParseManifest(const std::string& text);

}  // namespace backup
