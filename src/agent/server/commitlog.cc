#include "agent/server/commitlog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/server/node_backup.h"
#include "backup/downloader.h"
#include "base/log.h"
#include "base/status_macros.h"

namespace agent::server {
namespace {

namespace fs = std::filesystem;

constexpr char kRestoreDirectoriesKey[] = "restore_directories=";
constexpr char kReplayedSuffix[] = ".replayed";

absl::Status WriteAtomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return absl::InternalError(absl::StrCat("write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("rename ", path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

fs::path RunDir(const std::string& data_dir, const std::string& run) {
  return fs::path(data_dir) / kReplayDir / run;
}

fs::path Marker(const std::string& data_dir, const std::string& run) {
  return fs::path(data_dir) / kReplayDir / (run + kReplayedSuffix);
}

backup::NodePath NodeOf(const api::ReplayRequest& r) {
  return {r.location.prefix, r.source_cluster, r.source_node};
}

absl::StatusOr<std::vector<StoredSegment>> ListStored(backup::ObjectStore& store,
                                                      const backup::NodePath& node) {
  ASSIGN_OR_RETURN(const std::vector<backup::ObjectInfo> objects,
                   backup::ListAll(store, backup::CommitLogPrefix(node)));
  std::vector<StoredSegment> out;
  for (const backup::ObjectInfo& o : objects) {
    auto k = backup::ParseCommitLogKey(node, o.key);
    if (!k.ok()) continue;  // not ours: left alone
    out.push_back({o.key, k->segment, k->md5, k->size, o.last_modified});
  }
  return out;
}

}  // namespace

std::string RestorePointInTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y:%m:%d %H:%M:%S", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string ArchivingProperties(const api::InitSettings& s) {
  std::string out;
  if (s.commitlog_archive.Configured() || !s.replay.run.empty()) {
    out =
        "# Written by ringkeeper-agent init (agent/server/commitlog.h). Cassandra runs these\n"
        "# commands without a shell.\n";
  }
  if (s.commitlog_archive.Configured()) {
    absl::StrAppend(&out, "archive_command=/bin/ln %path ",
                    (fs::path(s.data_dir) / kCommitLogArchiveDir).string(), "/%name\n");
  }
  if (!s.replay.run.empty()) {
    absl::StrAppend(&out, "restore_command=/bin/cp -f %from %to\n", kRestoreDirectoriesKey,
                    RunDir(s.data_dir, s.replay.run).string(), "\n",
                    "restore_point_in_time=", RestorePointInTime(s.replay.point_in_time_unix),
                    "\nprecision=MICROSECONDS\n");
  }
  return out;
}

absl::StatusOr<ShipResult> ShipSegments(const backup::StoreFactory& stores,
                                        const backup::NodePath& node,
                                        const std::string& archive_dir,
                                        const backup::UploadOptions& options) {
  ShipResult result;
  std::error_code ec;
  if (!fs::exists(archive_dir, ec)) return result;
  std::vector<fs::path> segments;
  for (const auto& e : fs::directory_iterator(archive_dir, ec)) {
    if (e.is_regular_file()) segments.push_back(e.path());
  }
  if (ec) return absl::InternalError(absl::StrCat("list ", archive_dir, ": ", ec.message()));
  if (segments.empty()) return result;
  std::sort(segments.begin(), segments.end());
  std::unique_ptr<backup::ObjectStore> store = stores();
  ASSIGN_OR_RETURN(const std::vector<StoredSegment> stored, ListStored(*store, node));
  std::set<std::string> keys;
  for (const StoredSegment& s : stored) keys.insert(s.key);
  for (const fs::path& path : segments) {
    ASSIGN_OR_RETURN(const auto md5, backup::Md5OfFile(path.string()));
    backup::FileEntry e;
    e.name = path.filename().string();
    e.md5 = md5.first;
    e.size = md5.second;
    e.key = backup::CommitLogKey(node, e.md5, e.size, e.name);
    if (keys.contains(e.key)) {
      ++result.already;
    } else {
      backup::UploadStats stats;
      RETURN_IF_ERROR(base::Annotate(
          backup::UploadObject(*store, e, path.string(), options, stats).status(), path.string()));
      ++result.segments;
      result.bytes += stats.bytes_sent;
      result.last = e.name;
    }
    fs::remove(path, ec);  // stored: the link has done its job
    if (ec) return absl::InternalError(absl::StrCat("remove ", path.string(), ": ", ec.message()));
  }
  return result;
}

std::vector<StoredSegment> SegmentsSince(const std::vector<StoredSegment>& stored, absl::Time since,
                                         absl::Duration margin) {
  std::map<std::string, StoredSegment> by_name;  // the newest copy of a segment name
  for (const StoredSegment& s : stored) {
    if (s.stored < since - margin) continue;
    auto [it, inserted] = by_name.emplace(s.segment, s);
    if (!inserted && it->second.stored < s.stored) it->second = s;
  }
  std::vector<StoredSegment> out;
  for (auto& [name, s] : by_name) out.push_back(std::move(s));
  return out;
}

absl::StatusOr<size_t> PrepareReplay(const api::InitSettings& s, bool* pending) {
  const api::ReplayRequest& r = s.replay;
  *pending = false;
  std::error_code ec;
  if (r.run.empty() || fs::exists(Marker(s.data_dir, r.run), ec)) return 0;
  const fs::path dir = RunDir(s.data_dir, r.run);
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir.string(), ": ", ec.message()));
  // The segments archived here and not shipped yet (the newest writes: a restore in place
  // loses none of them), linked: they stay on the same volume.
  size_t local = 0;
  const fs::path archive = fs::path(s.data_dir) / kCommitLogArchiveDir;
  if (fs::exists(archive, ec)) {
    for (const auto& e : fs::directory_iterator(archive, ec)) {
      if (!e.is_regular_file()) continue;
      const fs::path to = dir / e.path().filename();
      if (!fs::exists(to)) fs::create_hard_link(e.path(), to, ec);
      if (ec) return absl::InternalError(absl::StrCat("link ", to.string(), ": ", ec.message()));
      ++local;
    }
  }
  ASSIGN_OR_RETURN(const backup::StoreFactory stores, OpenStorage(r.location));
  ASSIGN_OR_RETURN(const std::vector<StoredSegment> stored, ListStored(*stores(), NodeOf(r)));
  std::vector<backup::DownloadFile> files;
  for (const StoredSegment& seg :
       SegmentsSince(stored, absl::FromUnixSeconds(r.since_unix), absl::Minutes(5))) {
    const fs::path to = dir / seg.segment;
    backup::DownloadFile f;
    f.entry.name = seg.segment;
    f.entry.key = seg.key;
    f.entry.md5 = seg.md5;
    f.entry.size = seg.size;
    f.path = to.string();
    files.push_back(std::move(f));  // one already here (linked or fetched) is verified, kept
  }
  backup::DownloadStats stats;
  RETURN_IF_ERROR(backup::DownloadFiles(stores, files, backup::DownloadOptions{}, stats));
  size_t count = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) count += e.is_regular_file() ? 1 : 0;
  spdlog::info("replay {}: {} segments ({} archived here, {} stored since {}, {} bytes fetched)",
               r.run, count, local, files.size(), r.since_unix, stats.bytes_received.load());
  *pending = true;
  return count;
}

absl::StatusOr<std::string> FinishReplay(const std::string& conf_dir, const std::string& data_dir) {
  const fs::path path = fs::path(conf_dir) / kArchivingProperties;
  std::ifstream in(path);
  if (!in) return std::string();
  std::string line, kept, run;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, kRestoreDirectoriesKey)) {
      run = fs::path(line.substr(sizeof(kRestoreDirectoriesKey) - 1)).filename().string();
    }
    if (absl::StartsWith(line, "restore_") || absl::StartsWith(line, "precision=")) continue;
    absl::StrAppend(&kept, line, "\n");
  }
  in.close();
  if (run.empty()) return std::string();
  // The marker first: a crash after it and before the rewrite is finished by the next pass,
  // and a start in between does not fetch the run's segments again.
  RETURN_IF_ERROR(
      WriteAtomically(Marker(data_dir, run), absl::StrCat(absl::ToUnixSeconds(absl::Now()), "\n")));
  RETURN_IF_ERROR(WriteAtomically(path, kept));
  std::error_code ec;
  fs::remove_all(RunDir(data_dir, run), ec);
  if (ec) spdlog::warn("replay {}: remove its segments: {}", run, ec.message());
  return run;
}

std::vector<std::string> ReplayedRuns(const std::string& data_dir) {
  std::vector<std::string> runs;
  std::error_code ec;
  const fs::path dir = fs::path(data_dir) / kReplayDir;
  if (!fs::exists(dir, ec)) return runs;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (absl::EndsWith(name, kReplayedSuffix)) {
      runs.push_back(name.substr(0, name.size() - (sizeof(kReplayedSuffix) - 1)));
    }
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

std::vector<std::string> ReplayingRuns(const std::string& data_dir) {
  std::vector<std::string> runs;
  std::error_code ec;
  const fs::path dir = fs::path(data_dir) / kReplayDir;
  if (!fs::exists(dir, ec)) return runs;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) runs.push_back(e.path().filename().string());
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

}  // namespace agent::server
