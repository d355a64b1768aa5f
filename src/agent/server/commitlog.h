// Commit log archiving and the replay of a restore to a point in time, on one node.
//
// Archiving (spec.commitLogArchive): Cassandra runs its archive_command for each segment once it
// is full (and for the segments it finds at start, after replaying them). The command runs
// without a shell (Cassandra splits it on spaces), so it is a plain hard link into
// <data>/commitlog_archive on the same volume: instant, and the segment survives Cassandra
// deleting its own name. The sidecar ships each linked segment to the storage location
// (content-addressed, layout.h CommitLogKey) and only then removes the link: a segment is never
// lost between the two, and one shipped twice is the same object.
//
// Replay (InitSettings.replay): `agent init` gathers this node's segments stored since the backup
// began (a segment stored before it holds only writes the backup's snapshot has) plus those
// archived here and not shipped yet, into <data>/ringkeeper-replay/<run>/, and writes the
// restore settings (restore_directories, restore_point_in_time) beside archive_command. At its
// start Cassandra copies them into its commit log folder and replays every mutation up to the
// point in time; the restored tables' truncation records newer than it are cleared by Cassandra
// itself, and the tables' original ids (schema.cql's WITH ID) make their mutations apply. Once
// Cassandra is up (it reads the file only at start) the sidecar removes the restore settings —
// left there, every later start would drop the newer writes of the live commit log — marks the
// run replayed (<data>/ringkeeper-replay/<run>.replayed, which NodeInfo.replayed reports and
// which keeps a later start of the same run from replaying again) and removes its segments.
//
// Errors: the S3 client's and the downloader's; Internal for the local disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/api/api.h"
#include "backup/uploader.h"

namespace agent::server {

inline constexpr char kCommitLogArchiveDir[] = "commitlog_archive";  // under the data volume
inline constexpr char kReplayDir[] = "ringkeeper-replay";            // under the data volume
inline constexpr char kArchivingProperties[] = "commitlog_archiving.properties";

// The content of commitlog_archiving.properties for `s`: archive_command when archiving is on,
// the restore settings when a replay is pending; "" when neither (archiving off).
std::string ArchivingProperties(const api::InitSettings& s);

// Cassandra's restore_point_in_time format: "yyyy:MM:dd HH:mm:ss", UTC.
std::string RestorePointInTime(int64_t unix_seconds);

struct ShipResult {
  int segments = 0;   // stored now
  int already = 0;    // stored before (same content): only the local link removed
  int64_t bytes = 0;  // sent
  std::string last;   // the last segment shipped
};
// One pass: every segment in `archive_dir` stored under `node`'s commit log prefix, then its
// link removed. Segments are taken in name order (Cassandra's ids grow with time).
absl::StatusOr<ShipResult> ShipSegments(const backup::StoreFactory& stores,
                                        const backup::NodePath& node,
                                        const std::string& archive_dir,
                                        const backup::UploadOptions& options);

// A stored segment, as a listing of the node's commit log prefix gives it.
struct StoredSegment {
  std::string key, segment, md5;
  int64_t size = 0;
  absl::Time stored;
};
// Of `stored`, the segments a replay since `since` needs: those stored from `since - margin` on
// (the margin covers clock skew between the node and the storage), in segment name order, each
// segment once.
std::vector<StoredSegment> SegmentsSince(const std::vector<StoredSegment>& stored, absl::Time since,
                                         absl::Duration margin);

// `agent init`: the run's segments in place (see above). Returns how many; 0 and nothing done
// when the run was replayed already (its marker exists): then the caller renders no restore
// settings (`*pending` false).
absl::StatusOr<size_t> PrepareReplay(const api::InitSettings& s, bool* pending);

// The sidecar, once Cassandra is up: restore settings removed from `<conf_dir>/...properties`,
// the run marked replayed, its segments removed. Returns the run finished ("" when the file has
// no restore settings: nothing to do).
absl::StatusOr<std::string> FinishReplay(const std::string& conf_dir, const std::string& data_dir);

// The runs replayed on this data volume (their markers), sorted.
std::vector<std::string> ReplayedRuns(const std::string& data_dir);
// The runs prepared and not finished (their segment folders), sorted.
std::vector<std::string> ReplayingRuns(const std::string& data_dir);

}  // namespace agent::server
