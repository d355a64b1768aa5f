#include "agent/server/node_backup.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace agent::server {
namespace {

namespace fs = std::filesystem;

api::OperationRequest Valid() {
  api::OperationRequest r;
  r.kind = api::kOpBackup;
  r.backup = "b1";
  r.location.endpoint = "http://127.0.0.1:7070";
  r.location.bucket = "backups";
  r.location.credentials_file = "/etc/ringkeeper/s3/credentials";
  return r;
}

TEST(NodeBackupTest, RequestsAreCheckedBeforeAnythingStarts) {
  EXPECT_TRUE(CheckBackupRequest(Valid()).ok());
  for (auto spoil : std::vector<void (*)(api::OperationRequest&)>{
           [](api::OperationRequest& r) { r.backup.clear(); },
           [](api::OperationRequest& r) { r.backup = "a/b"; },
           [](api::OperationRequest& r) { r.location.endpoint.clear(); },
           [](api::OperationRequest& r) { r.location.bucket.clear(); },
           [](api::OperationRequest& r) { r.location.credentials_file.clear(); },
           [](api::OperationRequest& r) { r.upload_parallelism = 0; }}) {
    api::OperationRequest r = Valid();
    spoil(r);
    EXPECT_TRUE(absl::IsInvalidArgument(CheckBackupRequest(r)));
  }
  api::OperationRequest r = Valid();
  r.location.bucket.clear();
  EXPECT_NE(CheckBackupRequest(r).message().find("location.bucket"), absl::string_view::npos);
}

TEST(NodeBackupTest, SnapshotFilesAreThoseOfTheTagWithTheirTableDirectory) {
  const fs::path root = fs::temp_directory_path() / ("rk-node-backup-" + std::to_string(getpid()));
  auto touch = [&](const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
  };
  touch(root / "data/ks/t-0a1b/snapshots/rk-backup-b1/nb-1-big-Data.db");
  touch(root / "data/ks/t-0a1b/snapshots/rk-backup-b1/manifest.json");
  touch(root / "data/ks/t-0a1b/snapshots/other/nb-1-big-Data.db");  // another tag
  touch(root / "data/ks/t-0a1b/nb-2-big-Data.db");                  // live, not snapshotted
  touch(root / "data/system/local-7ad5/snapshots/rk-backup-b1/nb-3-big-Data.db");
  auto files = SnapshotFiles(root.string(), "rk-backup-b1");
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].keyspace, "ks");
  EXPECT_EQ(files[0].table, "t-0a1b");
  EXPECT_EQ(files[0].name, "manifest.json");
  EXPECT_EQ(files[1].name, "nb-1-big-Data.db");
  EXPECT_EQ(files[2].keyspace, "system");
  EXPECT_TRUE(SnapshotFiles((root / "nothing").string(), "rk-backup-b1").empty());
  fs::remove_all(root);
}

}  // namespace
}  // namespace agent::server
