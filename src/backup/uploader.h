// Uploads a node's snapshot files to a storage location, content-addressed (layout.h): a file
// whose key is already stored is skipped, so a second backup sends only new files, and a
// backup interrupted mid-way sends on the next try only what it had not finished. Each request
// carries its Content-MD5 (the server refuses bytes that changed on the way); files above the
// part size go as multipart uploads, aborted on failure, so no data key ever holds a partial
// file. `parallelism` files at once, each worker with its own store (a connection); an optional
// byte rate shared by all of them.
//
// Thread-safe to call from several threads with different stats; blocks until done.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backup/layout.h"
#include "backup/md5.h"
#include "backup/store.h"

namespace backup {

struct LocalFile {
  std::string keyspace, table, name;
  std::string path;  // on the local disk
};

struct UploadOptions {
  int parallelism = 4;
  // Each worker holds one part (or one small file) in memory: the agent's memory bound is about
  // parallelism x part_size (4 x 16 MiB by default). S3 wants at least 5 MiB per part but the
  // last, and at most 10,000 parts: a file bigger than 10,000 parts gets bigger parts.
  int64_t part_size = 16 << 20;
  int64_t bytes_per_second = 0;  // 0: no limit
};

// The part size for a file of `size` bytes: `part_size`, or the smallest multiple of 1 MiB that
// keeps it within S3's 10,000 parts.
int64_t PartSizeFor(int64_t size, int64_t part_size);

// Progress, readable while the upload runs.
struct UploadStats {
  std::atomic<int64_t> files_done{0};     // stored now or before
  std::atomic<int64_t> files_skipped{0};  // of those, already stored
  std::atomic<int64_t> bytes_done{0};     // of the files done
  std::atomic<int64_t> bytes_sent{0};     // what went over the wire
};

// Every file of `files` stored under `node`: their entries, in the order given.
// Cancelled (and nothing partial left) once `cancel` is true; the first failure ends the rest.
absl::StatusOr<std::vector<FileEntry>> UploadFiles(const StoreFactory& stores, const NodePath& node,
                                                   const std::vector<LocalFile>& files,
                                                   const UploadOptions& options, UploadStats& stats,
                                                   const std::atomic<bool>* cancel = nullptr);

// One file stored at entry.key (entry.md5 and entry.size: the file's, from Md5OfFile), in one PUT
// or as a multipart upload as UploadFiles sends each file; the ETag it is stored with.
absl::StatusOr<std::string> UploadObject(ObjectStore& store, const FileEntry& entry,
                                         const std::string& path, const UploadOptions& options,
                                         UploadStats& stats);

}  // namespace backup
