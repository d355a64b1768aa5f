#include "agent/server/node_backup.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/node/fake_node_control.h"
#include "agent/server/operations.h"
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

// The operator may ask twice for one backup (it crashed before recording the answer): the
// agent gives back the operation it runs instead of starting a second upload, and refuses
// another backup meanwhile.
TEST(NodeBackupTest, AskingAgainForTheSameBackupReturnsTheRunningOperation) {
  const fs::path credentials =
      fs::temp_directory_path() / ("rk-backup-credentials-" + std::to_string(getpid()));
  node::FakeNodeControl node;
  absl::Notification release;
  BackupIdentity self{"c", "dc1", "r1", "c-dc1-r1-0", "/nonexistent", [&release] {
                        release.WaitForNotification();  // holds the backup at its first step
                        return std::map<std::string, backup::KeyspaceSchema>{};
                      }};
  Operations ops(&node, self);
  api::OperationRequest r = Valid();
  r.location.endpoint = "http://127.0.0.1:1";  // nothing listens: the upload fails at once
  r.location.credentials_file = credentials.string();

  // Credentials not mounted yet (kubelet refreshes the Secret's volume later): try again.
  auto early = ops.Start(r);
  EXPECT_TRUE(absl::IsUnavailable(early.status())) << early.status();
  EXPECT_TRUE(ops.List().empty());

  std::ofstream(credentials) << "AKID\nSECRET\n";
  auto first = ops.Start(r);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->backup, "b1");
  auto again = ops.Start(r);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, first->id);
  api::OperationRequest other = r;
  other.backup = "b2";
  EXPECT_TRUE(absl::IsAlreadyExists(ops.Start(other).status()));
  // Another run of the same backup (a later Restore, say) is another operation, refused while
  // this one runs rather than answered with it.
  api::OperationRequest other_run = r;
  other_run.run = "another-run";
  EXPECT_TRUE(absl::IsAlreadyExists(ops.Start(other_run).status()));

  release.Notify();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<api::Operation> op = ops.Get(first->id);
  while (op.ok() && op->state == api::kStateRunning && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    op = ops.Get(first->id);
  }
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->state, api::kStateFailed);  // and a failed one is not handed back: a new run
  auto retry = ops.Start(r);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_NE(retry->id, first->id);
  fs::remove(credentials);
}

}  // namespace
}  // namespace agent::server
