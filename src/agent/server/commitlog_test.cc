#include "agent/server/commitlog.h"

#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "agent/server/node_backup.h"
#include "backup/layout.h"
#include "gtest/gtest.h"

namespace agent::server {
namespace {

namespace fs = std::filesystem;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("rk-commitlog-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

api::InitSettings Settings() {
  api::InitSettings s;
  s.cluster_name = "c1";
  s.data_dir = "/var/lib/cassandra";
  return s;
}

TEST(ArchivingPropertiesTest, OffWritesNothing) { EXPECT_EQ(ArchivingProperties(Settings()), ""); }

TEST(ArchivingPropertiesTest, ArchiveCommandIsAHardLinkWithoutShell) {
  api::InitSettings s = Settings();
  s.commitlog_archive.endpoint = "http://s3:7070";
  const std::string p = ArchivingProperties(s);
  EXPECT_TRUE(Has(p,
                  "archive_command=/bin/ln %path /var/lib/cassandra/commitlog_archive/"
                  "%name\n"));
  EXPECT_FALSE(Has(p, "restore_"));
}

TEST(ArchivingPropertiesTest, PendingReplayAddsRestoreSettings) {
  api::InitSettings s = Settings();
  s.commitlog_archive.endpoint = "http://s3:7070";
  s.replay.run = "uid-1";
  s.replay.point_in_time_unix = 1764900123;  // 2025-12-05T02:02:03Z
  const std::string p = ArchivingProperties(s);
  EXPECT_TRUE(Has(p, "restore_command=/bin/cp -f %from %to\n"));
  EXPECT_TRUE(Has(p, "restore_directories=/var/lib/cassandra/ringkeeper-replay/uid-1\n"));
  EXPECT_TRUE(Has(p, "restore_point_in_time=2025:12:05 02:02:03\n"));
  EXPECT_TRUE(Has(p, "archive_command="));
}

TEST(SegmentKeyTest, RoundTripsAndRefusesOthers) {
  const backup::NodePath n{"pre", "c1", "c1-dc1-r1-0"};
  const std::string key =
      backup::CommitLogKey(n, std::string(32, 'a'), 1048576, "CommitLog-8-1764900000000.log");
  EXPECT_EQ(key, "pre/c1/c1-dc1-r1-0/commitlog/" + std::string(32, 'a') +
                     "-1048576-CommitLog-8-1764900000000.log");
  auto k = backup::ParseCommitLogKey(n, key);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->segment, "CommitLog-8-1764900000000.log");
  EXPECT_EQ(k->size, 1048576);
  EXPECT_FALSE(backup::ParseCommitLogKey(n, "pre/c1/c1-dc1-r1-0/commitlog/x-1-y").ok());
  EXPECT_FALSE(
      backup::ParseCommitLogKey(n, "pre/c1/c1-dc1-r1-1/commitlog/" + std::string(32, 'a') + "-1-y")
          .ok());
}

TEST(SegmentsSinceTest, KeepsThoseStoredAfterTheBackupLessTheMargin) {
  const absl::Time since = absl::FromUnixSeconds(10000);
  std::vector<StoredSegment> stored = {
      {"k1", "CommitLog-8-3.log", "m", 1, absl::FromUnixSeconds(9000)},   // before: in snapshot
      {"k2", "CommitLog-8-5.log", "m", 1, absl::FromUnixSeconds(9800)},   // within the margin
      {"k3", "CommitLog-8-4.log", "m", 1, absl::FromUnixSeconds(10500)},  // after
      {"k4", "CommitLog-8-4.log", "n", 2, absl::FromUnixSeconds(10600)},  // same name, newer
  };
  const auto kept = SegmentsSince(stored, since, absl::Minutes(5));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].key, "k4");  // name order; the newest copy of a name
  EXPECT_EQ(kept[1].key, "k2");
}

TEST(FinishReplayTest, RemovesRestoreSettingsMarksTheRunAndIsDoneOnce) {
  TempDir dir;
  const fs::path conf = dir.path() / "conf", data = dir.path() / "data";
  fs::create_directories(conf);
  fs::create_directories(data / kReplayDir / "uid-1");
  std::ofstream(data / kReplayDir / "uid-1" / "CommitLog-8-1.log") << "x";
  api::InitSettings s = Settings();
  s.data_dir = data.string();
  s.commitlog_archive.endpoint = "http://s3:7070";
  s.replay.run = "uid-1";
  std::ofstream(conf / kArchivingProperties) << ArchivingProperties(s);

  EXPECT_TRUE(ReplayedRuns(data.string()).empty());
  EXPECT_EQ(ReplayingRuns(data.string()), std::vector<std::string>{"uid-1"});
  auto run = FinishReplay(conf.string(), data.string());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(*run, "uid-1");
  const std::string left = Read(conf / kArchivingProperties);
  EXPECT_TRUE(Has(left, "archive_command="));
  EXPECT_FALSE(Has(left, "restore_"));
  EXPECT_FALSE(Has(left, "precision"));
  EXPECT_FALSE(fs::exists(data / kReplayDir / "uid-1"));
  EXPECT_EQ(ReplayedRuns(data.string()), std::vector<std::string>{"uid-1"});
  EXPECT_TRUE(ReplayingRuns(data.string()).empty());

  run = FinishReplay(conf.string(), data.string());
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(*run, "");  // nothing left to do
  EXPECT_EQ(Read(conf / kArchivingProperties), left);
}

TEST(PrepareReplayTest, AReplayedRunIsNotPreparedAgain) {
  TempDir dir;
  api::InitSettings s = Settings();
  s.data_dir = dir.path().string();
  s.replay.run = "uid-2";
  fs::create_directories(dir.path() / kReplayDir);
  std::ofstream(dir.path() / kReplayDir / "uid-2.replayed") << "1\n";
  bool pending = true;
  auto n = PrepareReplay(s, &pending);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  EXPECT_FALSE(pending);
  EXPECT_FALSE(fs::exists(dir.path() / kReplayDir / "uid-2"));
}

TEST(ShipSegmentsTest, NoArchiveFolderIsNothingToShip) {
  TempDir dir;
  int made = 0;
  backup::StoreFactory stores = [&made]() -> std::unique_ptr<backup::ObjectStore> {
    ++made;
    return nullptr;
  };
  auto r = ShipSegments(stores, {"", "c1", "n"}, (dir.path() / "none").string(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments, 0);
  EXPECT_EQ(made, 0);  // no storage call at all
}

// Shipped to a filesystem location and fetched back for a replay: the whole way a segment
// travels, without S3 (the e2e runs it against S3).
TEST(ShipSegmentsTest, ShippedSegmentsComeBackForAReplay) {
  TempDir dir;
  const fs::path archive = dir.path() / "data" / kCommitLogArchiveDir;
  const fs::path store = dir.path() / "store";
  fs::create_directories(archive);
  fs::create_directories(store);
  std::ofstream(archive / "CommitLog-8-100.log") << std::string(1000, 'a');
  std::ofstream(archive / "CommitLog-8-101.log") << std::string(2000, 'b');
  api::StorageLocation location;
  location.path = store.string();
  location.prefix = "pre";
  auto stores = OpenStorage(location);
  ASSERT_TRUE(stores.ok()) << stores.status();
  auto shipped = ShipSegments(*stores, {"pre", "c1", "c1-dc1-r1-0"}, archive.string(), {});
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->segments, 2);
  EXPECT_EQ(shipped->bytes, 3000);
  EXPECT_TRUE(fs::is_empty(archive)) << "links removed once stored";

  api::InitSettings s = Settings();
  s.data_dir = (dir.path() / "restored").string();
  s.replay.run = "uid-9";
  s.replay.location = location;
  s.replay.source_cluster = "c1";
  s.replay.source_node = "c1-dc1-r1-0";
  s.replay.since_unix = absl::ToUnixSeconds(absl::Now()) - 60;
  bool pending = false;
  auto n = PrepareReplay(s, &pending);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_TRUE(pending);
  EXPECT_EQ(Read(fs::path(s.data_dir) / kReplayDir / "uid-9" / "CommitLog-8-101.log"),
            std::string(2000, 'b'));
}

}  // namespace
}  // namespace agent::server
