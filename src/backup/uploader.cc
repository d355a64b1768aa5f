#include "backup/uploader.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"

namespace backup {

int64_t PartSizeFor(int64_t size, int64_t part_size) {
  constexpr int64_t kMaxParts = 10000;
  constexpr int64_t kMiB = 1 << 20;
  const int64_t least = (size + kMaxParts - 1) / kMaxParts;  // ceil(size / 10,000)
  if (least <= part_size) return part_size;
  return (least + kMiB - 1) / kMiB * kMiB;
}

namespace {

// A byte rate shared by every worker: each send waits for its turn on one timeline.
class RateLimit {
 public:
  explicit RateLimit(int64_t bytes_per_second) : rate_(bytes_per_second) {}
  void Acquire(int64_t bytes) {
    if (rate_ <= 0) return;
    absl::Time start;
    {
      std::lock_guard<std::mutex> lock(mu_);
      start = std::max(next_, absl::Now());
      next_ = start + absl::Seconds(static_cast<double>(bytes) / static_cast<double>(rate_));
    }
    absl::SleepFor(start - absl::Now());
  }

 private:
  const int64_t rate_;
  std::mutex mu_;
  absl::Time next_ = absl::InfinitePast();
};

absl::StatusOr<std::string> ReadRange(const std::string& path, int64_t offset, int64_t length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string data(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(data.data(), length);
  if (in.gcount() != length) {
    return absl::DataLossError(absl::StrCat(path, ": changed while it was read"));
  }
  return data;
}

// Every key under the node's data prefix, with its size and ETag.
absl::StatusOr<std::map<std::string, StoredFile>> StoredKeys(ObjectStore& store,
                                                             const NodePath& node) {
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> stored, ListAll(store, DataPrefix(node)));
  std::map<std::string, StoredFile> keys;
  for (const auto& o : stored) keys[o.key] = {o.size, o.etag};
  return keys;
}

struct Job {
  const UploadOptions& options;
  UploadStats& stats;
  RateLimit& limit;
  const std::atomic<bool>& stop;    // another worker failed
  const std::atomic<bool>* cancel;  // the caller's
  bool Stopped() const { return stop || (cancel && *cancel); }
};

// Sends the file; returns the ETag it is stored with (one PUT: S3's ETag of it is the MD5 of
// what it received, which a listing then shows; multipart: the server's, read back).
absl::StatusOr<std::string> Send(ObjectStore& store, const Job& job, const FileEntry& entry,
                                 const std::string& path) {
  const int64_t part_size = PartSizeFor(entry.size, job.options.part_size);
  if (entry.size <= part_size) {
    auto data = ReadRange(path, 0, entry.size);
    if (!data.ok()) return data.status();
    job.limit.Acquire(entry.size);
    absl::Status put = store.Put(entry.key, *data);
    if (!put.ok()) return put;
    job.stats.bytes_sent += entry.size;
    return entry.md5;
  }
  auto id = store.CreateMultipartUpload(entry.key);
  if (!id.ok()) return id.status();
  std::vector<CompletedPart> parts;
  absl::Status status;
  for (int64_t offset = 0; offset < entry.size && status.ok(); offset += part_size) {
    if (job.Stopped()) {
      status = absl::CancelledError("upload cancelled");
      break;
    }
    auto data = ReadRange(path, offset, std::min(part_size, entry.size - offset));
    if (!data.ok()) {
      status = data.status();
      break;
    }
    job.limit.Acquire(static_cast<int64_t>(data->size()));
    const int number = static_cast<int>(parts.size()) + 1;
    auto etag = store.UploadPart(entry.key, *id, number, *data);
    if (!etag.ok()) {
      status = etag.status();
      break;
    }
    job.stats.bytes_sent += static_cast<int64_t>(data->size());
    parts.push_back({number, *etag});
  }
  if (status.ok()) status = store.CompleteMultipartUpload(entry.key, *id, parts);
  // Never leave parts behind: a failed or cancelled upload is aborted (best effort; a
  // lifecycle rule on the bucket collects what an abort itself failed to remove).
  if (!status.ok()) {
    (void)store.AbortMultipartUpload(entry.key, *id);
    return status;
  }
  auto head = store.Head(entry.key);
  if (!head.ok()) return head.status();
  return head->etag;
}

}  // namespace

absl::StatusOr<std::string> UploadObject(ObjectStore& store, const FileEntry& entry,
                                         const std::string& path, const UploadOptions& options,
                                         UploadStats& stats) {
  if (options.part_size < (5 << 20)) {
    return absl::InvalidArgumentError("part size below 5 MiB (S3's smallest part)");
  }
  RateLimit limit(options.bytes_per_second);
  const std::atomic<bool> stop{false};
  const Job job{options, stats, limit, stop, nullptr};
  return Send(store, job, entry, path);
}

absl::StatusOr<std::vector<FileEntry>> UploadFiles(const StoreFactory& stores, const NodePath& node,
                                                   const std::vector<LocalFile>& files,
                                                   const UploadOptions& options, UploadStats& stats,
                                                   const std::atomic<bool>* cancel) {
  if (options.part_size < (5 << 20)) {
    return absl::InvalidArgumentError("part size below 5 MiB (S3's smallest part)");
  }
  std::unique_ptr<ObjectStore> lister = stores();
  auto stored = StoredKeys(*lister, node);
  if (!stored.ok()) return stored.status();

  std::vector<FileEntry> entries(files.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  absl::Status first_error;
  RateLimit limit(options.bytes_per_second);
  const Job job{options, stats, limit, stop, cancel};
  auto fail = [&](absl::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = std::move(s);
    stop = true;
  };
  auto work = [&] {
    std::unique_ptr<ObjectStore> store = stores();
    for (size_t i = next++; i < files.size() && !stop; i = next++) {
      if (cancel && *cancel) return fail(absl::CancelledError("upload cancelled"));
      const LocalFile& f = files[i];
      auto md5 = Md5OfFile(f.path);
      if (!md5.ok()) return fail(md5.status());
      FileEntry& e = entries[i];
      e = {f.keyspace, f.table,
           f.name,     md5->second,
           md5->first, DataKey(node, f.keyspace, f.table, md5->first, md5->second, f.name)};
      auto it = stored->find(e.key);
      if (it != stored->end() && it->second.size == e.size) {
        e.etag = it->second.etag;
        ++stats.files_skipped;
      } else if (auto etag = Send(*store, job, e, f.path); !etag.ok()) {
        return fail(base::Annotate(etag.status(), f.path));
      } else {
        e.etag = *etag;
      }
      ++stats.files_done;
      stats.bytes_done += e.size;
    }
  };
  const int workers =
      std::max(1, std::min<int>(options.parallelism, static_cast<int>(files.size())));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (!first_error.ok()) return first_error;
  if (cancel && *cancel) return absl::CancelledError("upload cancelled");
  return entries;
}

}  // namespace backup
