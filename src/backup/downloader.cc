#include "backup/downloader.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace backup {
namespace {

namespace fs = std::filesystem;

// Already on disk, whole and verified.
bool Present(const DownloadFile& f) {
  std::error_code ec;
  if (!fs::is_regular_file(f.path, ec) ||
      static_cast<int64_t>(fs::file_size(f.path, ec)) != f.entry.size) {
    return false;
  }
  auto md5 = Md5OfFile(f.path);
  return md5.ok() && md5->first == f.entry.md5;
}

absl::Status Fetch(ObjectStore& store, const DownloadFile& f, const DownloadOptions& options,
                   DownloadStats& stats, const std::atomic<bool>* cancel) {
  std::error_code ec;
  fs::create_directories(fs::path(f.path).parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir for ", f.path, ": ", ec.message()));
  const std::string part = f.path + ".part";
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", part));
  Md5 md5;
  const int64_t part_size = PartSizeFor(f.entry.size, options.part_size);
  int64_t offset = 0;
  do {
    if (cancel && *cancel) return absl::CancelledError("download cancelled");
    const int64_t length = std::min(part_size, f.entry.size - offset);
    auto data = f.entry.size == 0 ? absl::StatusOr<std::string>("")
                                  : store.Get(f.entry.key, std::make_pair(offset, length));
    if (!data.ok()) return base::Annotate(data.status(), f.entry.key);
    if (static_cast<int64_t>(data->size()) != length) {
      return absl::DataLossError(absl::StrCat(f.entry.key, ": got ", data->size(),
                                              " bytes at offset ", offset, ", wanted ", length));
    }
    md5.Update(*data);
    out.write(data->data(), static_cast<std::streamsize>(data->size()));
    stats.bytes_received += length;
    offset += length;
  } while (offset < f.entry.size);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("write ", part, " failed"));
  if (const std::string hex = md5.Hex(); hex != f.entry.md5) {
    fs::remove(part, ec);
    return absl::DataLossError(
        absl::StrCat(f.entry.key, ": MD5 ", hex, ", the manifest says ", f.entry.md5));
  }
  fs::rename(part, f.path, ec);
  if (ec) return absl::InternalError(absl::StrCat("rename to ", f.path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::Status DownloadFiles(const StoreFactory& stores, const std::vector<DownloadFile>& files,
                           const DownloadOptions& options, DownloadStats& stats,
                           const std::atomic<bool>* cancel) {
  std::mutex mu;
  size_t next = 0;
  absl::Status first_error;
  auto worker = [&] {
    std::unique_ptr<ObjectStore> store = stores();
    while (true) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next >= files.size() || !first_error.ok()) return;
        i = next++;
      }
      const DownloadFile& f = files[i];
      absl::Status s;
      if (Present(f)) {
        ++stats.files_skipped;
      } else {
        s = Fetch(*store, f, options, stats, cancel);
      }
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
        return;
      }
      ++stats.files_done;
      stats.bytes_done += f.entry.size;
    }
  };
  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(options.parallelism, static_cast<int>(files.size())));
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return first_error;
}

}  // namespace backup
