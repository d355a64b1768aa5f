// The way back: a backup's files fetched from a storage location onto the local disk, each
// verified (size and MD5 against the manifest) before it is kept.
//
// A file is written to "<path>.part" and renamed once whole and verified, so a path that exists
// holds a verified file; one already there with the manifest's size and MD5 (an interrupted
// restore asked again) is not fetched twice. Large files come in ranged GETs of the part size
// (the memory bound is parallelism x part size, as the uploader's).
//
// Errors: the store's (NotFound for a missing key: the backup is not whole), DataLoss when a
// file's size or MD5 differs from the manifest, Cancelled, the local disk's (Internal).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backup/layout.h"
#include "backup/uploader.h"

namespace backup {

struct DownloadFile {
  FileEntry entry;   // what the manifest says: key, size, md5
  std::string path;  // where it goes
};

struct DownloadOptions {
  int parallelism = 4;
  int64_t part_size = 16 << 20;
};

struct DownloadStats {
  std::atomic<int64_t> files_done{0};
  std::atomic<int64_t> files_skipped{0};  // already on disk, verified
  std::atomic<int64_t> bytes_done{0};
  std::atomic<int64_t> bytes_received{0};
};

absl::Status DownloadFiles(const StoreFactory& stores, const std::vector<DownloadFile>& files,
                           const DownloadOptions& options, DownloadStats& stats,
                           const std::atomic<bool>* cancel = nullptr);

}  // namespace backup
