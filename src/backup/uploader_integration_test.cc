// The uploader and the downloader against each kind of storage location: a real S3 server
// (versitygw, started by hack/s3/with-versitygw.sh) and a directory (FileStore), the same tests
// for both.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "backup/downloader.h"
#include "backup/uploader.h"
#include "gtest/gtest.h"

namespace backup {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class UploaderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("rk-uploader-", getpid(), "-", ++counter_);
    fs::create_directories(dir_);
    if (S3()) {
      ASSERT_FALSE(Env("S3_ENDPOINT").empty()) << "run through hack/s3/with-versitygw.sh";
      bucket_ = absl::StrCat("rk-up-", counter_);
      ASSERT_TRUE(s3::Client(Endpoint(), Credentials()).CreateBucket(bucket_).ok());
    } else {
      fs::create_directories(dir_ / "store");
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  bool S3() const { return GetParam() == "s3"; }
  static s3::Endpoint Endpoint() { return s3::Endpoint{Env("S3_ENDPOINT")}; }
  static s3::Credentials Credentials() {
    return s3::Credentials{Env("S3_ACCESS_KEY"), Env("S3_SECRET_KEY"), ""};
  }
  std::unique_ptr<ObjectStore> Store(bool missing = false) const {
    if (S3()) {
      return std::make_unique<S3Store>(Endpoint(), Credentials(),
                                       missing ? "rk-no-such-bucket" : bucket_);
    }
    return std::make_unique<FileStore>((dir_ / (missing ? "unmounted" : "store")).string());
  }
  StoreFactory Factory(bool missing = false) const {
    return [this, missing] { return Store(missing); };
  }
  // A file of `size` bytes whose content depends on `seed`.
  LocalFile Write(const std::string& name, int64_t size, int seed) {
    const fs::path path = dir_ / name;
    std::string data(static_cast<size_t>(size), '\0');
    for (int64_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 31 + seed) % 251);
    std::ofstream(path, std::ios::binary).write(data.data(), size);
    return {"ks", "t-1", name, path.string()};
  }

  static inline int counter_ = 0;
  std::string bucket_;
  fs::path dir_;
  const NodePath node_{"backups", "c1", "c1-dc1-r1-0"};
  UploadOptions options_{.parallelism = 3, .part_size = 5 << 20};
};

TEST_P(UploaderTest, StoresEveryFileAndSendsOnlyNewOnesLater) {
  std::vector<LocalFile> files = {Write("nb-1-big-Data.db", 12 << 20, 1),  // 3 parts
                                  Write("nb-1-big-Index.db", 70000, 2),
                                  Write("nb-1-big-Summary.db", 0, 3)};
  for (int i = 0; i < 12; ++i) files.push_back(Write(absl::StrCat("small-", i), 1000 + i, i));
  UploadStats first;
  auto entries = UploadFiles(Factory(), node_, files, options_, first);
  ASSERT_TRUE(entries.ok()) << entries.status();
  int64_t total = 0;
  for (const auto& f : files) total += static_cast<int64_t>(fs::file_size(f.path));
  EXPECT_EQ(first.bytes_sent, total);
  EXPECT_EQ(first.files_done, static_cast<int64_t>(files.size()));
  EXPECT_EQ(first.files_skipped, 0);
  auto store = Store();
  for (size_t i = 0; i < files.size(); ++i) {
    const FileEntry& e = (*entries)[i];
    EXPECT_EQ(e.name, files[i].name);
    auto info = store->Head(e.key);
    ASSERT_TRUE(info.ok()) << e.key << ": " << info.status();
    EXPECT_EQ(info->size, e.size);
    // The ETag the manifest records is the server's: the MD5 for one PUT, "<hash>-3" for the
    // 3-part file.
    EXPECT_EQ(e.etag, info->etag) << e.key;
    if (i > 0) EXPECT_EQ(e.etag, e.md5) << e.key;
  }
  EXPECT_TRUE(absl::EndsWith((*entries)[0].etag, "-3")) << (*entries)[0].etag;
  // The 3-part file reads back byte for byte.
  auto big = store->Get((*entries)[0].key);
  ASSERT_TRUE(big.ok()) << big.status();
  std::ifstream in(files[0].path, std::ios::binary);
  EXPECT_TRUE(*big == std::string(std::istreambuf_iterator<char>(in), {}));

  // A second backup: the same files and one new one; only the new one is sent.
  files.push_back(Write("nb-2-big-Data.db", 300000, 9));
  UploadStats second;
  auto again = UploadFiles(Factory(), node_, files, options_, second);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(second.bytes_sent, 300000);
  EXPECT_EQ(second.files_skipped, static_cast<int64_t>(files.size()) - 1);
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    EXPECT_EQ((*again)[i].etag, (*entries)[i].etag) << "skipped files keep the listed ETag";
  }
  std::printf(
      "figure (%s): first backup sent %lld bytes of %zu files; second sent %lld bytes "
      "(%lld files already stored)\n",
      GetParam().c_str(), static_cast<long long>(first.bytes_sent.load()), files.size() - 1,
      static_cast<long long>(second.bytes_sent.load()),
      static_cast<long long>(second.files_skipped.load()));
}

TEST_P(UploaderTest, SameNameOtherContentIsAnotherObject) {
  LocalFile f = Write("nb-1-big-Data.db", 5000, 1);
  UploadStats a;
  auto one = UploadFiles(Factory(), node_, {f}, options_, a);
  ASSERT_TRUE(one.ok()) << one.status();
  f = Write("nb-1-big-Data.db", 5000, 2);  // a rebuilt node reusing the generation
  UploadStats b;
  auto two = UploadFiles(Factory(), node_, {f}, options_, b);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(b.bytes_sent, 5000);
  EXPECT_NE((*one)[0].key, (*two)[0].key);
  EXPECT_TRUE(Store()->Head((*one)[0].key).ok());  // the first is untouched
}

TEST_P(UploaderTest, CancelledMidFileLeavesNoPartialObject) {
  std::vector<LocalFile> files = {Write("big", 20 << 20, 1)};  // 4 parts
  UploadOptions slow = options_;
  slow.bytes_per_second = 20 << 20;  // about a second for the file: time to cancel mid-way
  std::atomic<bool> cancel{false};
  UploadStats stats;
  // Cancelled once the first part is stored (bounded wait).
  std::thread canceller([&] {
    for (int i = 0; i < 1000 && stats.bytes_sent == 0; ++i) absl::SleepFor(absl::Milliseconds(5));
    cancel = true;
  });
  auto r = UploadFiles(Factory(), node_, files, slow, stats, &cancel);
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  EXPECT_GT(stats.bytes_sent, 0);
  EXPECT_LT(stats.bytes_sent, 20 << 20);
  auto listed = Store()->List(DataPrefix(node_));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->objects.empty());
  // The next try stores it whole.
  UploadStats again;
  ASSERT_TRUE(UploadFiles(Factory(), node_, files, options_, again).ok());
  EXPECT_EQ(again.bytes_sent, 20 << 20);
}

TEST_P(UploaderTest, BandwidthLimitHolds) {
  std::vector<LocalFile> files;
  for (int i = 0; i < 4; ++i) files.push_back(Write(absl::StrCat("f", i), 256 << 10, i));
  UploadOptions limited = options_;
  limited.bytes_per_second = 2 << 20;  // 1 MiB in total: about half a second
  UploadStats stats;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(UploadFiles(Factory(), node_, files, limited, stats).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(350));  // 1 MiB at 2 MiB/s, less the first
}

TEST_P(UploaderTest, MissingLocationOrFileFailsWithTheReason) {
  UploadStats stats;
  auto r = UploadFiles(Factory(/*missing=*/true), node_, {Write("f", 10, 1)}, options_, stats);
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  auto missing = UploadFiles(Factory(), node_, {{"ks", "t", "gone", (dir_ / "gone").string()}},
                             options_, stats);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_NE(missing.status().message().find("gone"), absl::string_view::npos);
  UploadOptions tiny = options_;
  tiny.part_size = 1 << 20;
  EXPECT_TRUE(absl::IsInvalidArgument(UploadFiles(Factory(), node_, {}, tiny, stats).status()));
}

// What went up comes back, verified: ranged GETs for the big file, a second run fetches
// nothing, and a file whose content does not match its manifest is refused, never kept.
TEST_P(UploaderTest, DownloadsWhatWasStoredVerifiedAndOnlyOnce) {
  std::vector<LocalFile> files = {Write("nb-1-big-Data.db", 12 << 20, 7),
                                  Write("nb-1-big-Index.db", 70000, 8),
                                  Write("nb-1-big-Summary.db", 0, 9)};
  UploadStats up;
  auto entries = UploadFiles(Factory(), node_, files, options_, up);
  ASSERT_TRUE(entries.ok()) << entries.status();
  const fs::path back = dir_ / "back";
  std::vector<DownloadFile> wanted;
  for (const FileEntry& e : *entries) wanted.push_back({e, (back / e.name).string()});
  DownloadOptions options{.parallelism = 2, .part_size = 5 << 20};
  DownloadStats first;
  ASSERT_TRUE(DownloadFiles(Factory(), wanted, options, first).ok());
  EXPECT_EQ(first.files_done, 3);
  EXPECT_EQ(first.bytes_received, (12 << 20) + 70000);
  for (size_t i = 0; i < files.size(); ++i) {
    auto original = Md5OfFile(files[i].path);
    auto copy = Md5OfFile(wanted[i].path);
    ASSERT_TRUE(original.ok() && copy.ok());
    EXPECT_EQ(*original, *copy) << files[i].name;
    EXPECT_FALSE(fs::exists(wanted[i].path + ".part"));
  }
  DownloadStats again;
  ASSERT_TRUE(DownloadFiles(Factory(), wanted, options, again).ok());
  EXPECT_EQ(again.files_skipped, 3);
  EXPECT_EQ(again.bytes_received, 0);

  std::vector<DownloadFile> lying = {wanted[1]};
  lying[0].entry.md5 = std::string(32, '0');
  lying[0].path = (back / "lying").string();
  DownloadStats refused;
  absl::Status s = DownloadFiles(Factory(), lying, options, refused);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_FALSE(fs::exists(lying[0].path));
  EXPECT_FALSE(fs::exists(lying[0].path + ".part"));

  std::vector<DownloadFile> missing = {wanted[1]};
  missing[0].entry.key += "-gone";
  missing[0].path = (back / "missing").string();
  DownloadStats none;
  EXPECT_TRUE(absl::IsNotFound(DownloadFiles(Factory(), missing, options, none)))
      << "a key the backup lacks";
}

INSTANTIATE_TEST_SUITE_P(Locations, UploaderTest, ::testing::Values("s3", "filesystem"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace backup
