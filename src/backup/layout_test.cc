#include "backup/layout.h"

#include "backup/uploader.h"
#include "gtest/gtest.h"

namespace backup {
namespace {

TEST(LayoutTest, KeysNameTheNodeAndTheContent) {
  const NodePath n{"backups/prod", "c1", "c1-dc1-r1-0"};
  EXPECT_EQ(n.Root(), "backups/prod/c1/c1-dc1-r1-0");
  EXPECT_EQ(DataPrefix(n), "backups/prod/c1/c1-dc1-r1-0/data/");
  EXPECT_EQ(DataKey(n, "ks", "t-1a2b", "0123abcd", 42, "nb-1-big-Data.db"),
            "backups/prod/c1/c1-dc1-r1-0/data/ks/t-1a2b/0123abcd-42-nb-1-big-Data.db");
  EXPECT_EQ(ManifestKey(n, "nightly-20261204"),
            "backups/prod/c1/c1-dc1-r1-0/manifests/nightly-20261204.json");
  EXPECT_EQ((NodePath{"", "c1", "n0"}).Root(), "c1/n0");
  // Same name, other content: another key.
  EXPECT_NE(DataKey(n, "ks", "t", "aa", 42, "f"), DataKey(n, "ks", "t", "bb", 42, "f"));
  EXPECT_NE(DataKey(n, "ks", "t", "aa", 42, "f"), DataKey(n, "ks", "t", "aa", 43, "f"));
}

TEST(LayoutTest, ManifestRoundTrip) {
  Manifest m;
  m.backup = "b1";
  m.cluster = "c1";
  m.dc = "dc1";
  m.rack = "r1";
  m.node = "c1-dc1-r1-0";
  m.host_id = "6f1c";
  m.tokens = {"-9", "42"};
  m.started = "2026-12-04T12:00:00Z";
  m.finished = "2026-12-04T12:01:00Z";
  m.keyspaces["ks"] = {
      {{"class", "org.apache.cassandra.locator.NetworkTopologyStrategy"}, {"dc1", "3"}}, false};
  m.files = {{"ks", "t", "nb-1-big-Data.db", 100, "aa", "k1"},
             {"ks", "t", "nb-1-big-Index.db", 20, "bb", "k2"}};
  auto back = ParseManifest(ToJson(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(m));
  EXPECT_EQ(back->TotalBytes(), 120);
  EXPECT_EQ(back->files[1].key, "k2");
  EXPECT_EQ(back->keyspaces.at("ks"), m.keyspaces.at("ks"));
}

// S3 takes at most 10,000 parts: a 1 TiB SSTable needs parts above the 16 MiB default.
TEST(UploaderTest, PartSizeKeepsEveryFileWithinTenThousandParts) {
  constexpr int64_t kMiB = 1 << 20;
  EXPECT_EQ(PartSizeFor(1, 16 * kMiB), 16 * kMiB);
  EXPECT_EQ(PartSizeFor(int64_t{10000} * 16 * kMiB, 16 * kMiB), 16 * kMiB);
  const int64_t tib = int64_t{1024} * 1024 * kMiB;
  const int64_t part = PartSizeFor(tib, 16 * kMiB);
  EXPECT_EQ(part % kMiB, 0);
  EXPECT_LE((tib + part - 1) / part, 10000);
  EXPECT_EQ(part, 105 * kMiB);
}

TEST(LayoutTest, IndexRoundTripAndKey) {
  EXPECT_EQ(IndexKey("team/a", "c1", "b1"), "team/a/c1/backups/b1.json");
  EXPECT_EQ(IndexKey("", "c1", "b1"), "c1/backups/b1.json");
  Index index{"b1",
              "c1",
              "ns",
              "2026-12-04T12:00:00Z",
              "2026-12-04T12:01:00Z",
              {{"c1-dc1-r1-0", "dc1", "r1", "c1/c1-dc1-r1-0/manifests/b1.json", 120}},
              120};
  auto back = ParseIndex(ToJson(index));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(index));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseIndex(R"({"backup":"b1"})").status()));
}

TEST(LayoutTest, VerifyFilesNamesWhatIsMissingResizedOrChanged) {
  Manifest m;
  auto file = [](const std::string& key, int64_t size, const std::string& md5,
                 const std::string& etag) {
    FileEntry f{"ks", "t-1", key, size, md5, key};
    f.etag = etag;
    return f;
  };
  m.files = {file("whole", 10, "aa", ""),
             file("gone", 10, "bb", ""),
             file("resized", 10, "cc", ""),
             file("changed", 10, "dd", ""),
             file("multipart", 10, "ee", ""),
             file("recorded", 10, "ff", "abc-2"),
             file("recorded-bad", 10, "ff", "abc-2")};
  const std::map<std::string, StoredFile> stored = {
      {"whole", {10, "AA"}},  // ETags compare without case
      {"resized", {9, "cc"}},       {"changed", {10, "00"}},
      {"multipart", {10, "xyz-3"}},  // unrecorded multipart ETag: no MD5 to compare with
      {"recorded", {10, "abc-2"}},  {"recorded-bad", {10, "abd-2"}}};
  const Verification v = VerifyFiles(m, stored);
  EXPECT_EQ(v.files, 3);  // whole, multipart, recorded
  EXPECT_EQ(v.bytes, 30);
  EXPECT_EQ(v.problems,
            (std::vector<std::string>{"gone: not stored",
                                      "resized: stored with 9 bytes, the manifest says 10",
                                      "changed: stored with ETag 00, expected dd",
                                      "recorded-bad: stored with ETag abd-2, expected abc-2"}));
}

TEST(LayoutTest, NotAManifestIsRefusedWithTheReason) {
  EXPECT_TRUE(absl::IsInvalidArgument(ParseManifest("{").status()));
  auto no_finish = ParseManifest(R"({"backup":"b","cluster":"c","node":"n","files":[]})");
  EXPECT_TRUE(absl::IsInvalidArgument(no_finish.status()));
  EXPECT_NE(no_finish.status().message().find("finished"), absl::string_view::npos)
      << no_finish.status();
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseManifest(R"({"backup":"b","cluster":"c","node":"n","finished":"t",
                        "files":[{"keyspace":"k"}]})")
          .status()));
}

}  // namespace
}  // namespace backup
