#include "operator/version_path.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

TEST(CassandraVersion, ParsesTwoOrThreeNumbersAndASuffix) {
  auto v = ParseCassandraVersion("5.0.9");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 5);
  EXPECT_EQ(v->minor, 0);
  EXPECT_EQ(v->patch, 9);
  v = ParseCassandraVersion("4.1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->patch, 0);
  v = ParseCassandraVersion("5.0.0-beta1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->suffix, "-beta1");
  for (const char* bad : {"", "5", "5.", "5..1", "a.b", "5.0.9.1", "-1.0"}) {
    EXPECT_FALSE(ParseCassandraVersion(bad)) << bad;
  }
}

TEST(VersionChange, OneMajorAtATimeUpwardsAndPatchesEitherWay) {
  EXPECT_EQ(JudgeVersionChange("5.0.9", "5.0.9"), VersionChange::kSame);
  EXPECT_EQ(JudgeVersionChange("5.0.8", "5.0.9"), VersionChange::kPatch);
  EXPECT_EQ(JudgeVersionChange("5.0.9", "5.0.8"), VersionChange::kPatch);  // a patch rollback
  EXPECT_EQ(JudgeVersionChange("4.0.13", "4.1.10"), VersionChange::kMinorUpgrade);
  EXPECT_EQ(JudgeVersionChange("4.1.10", "5.0.9"), VersionChange::kMajorUpgrade);
  EXPECT_EQ(JudgeVersionChange("3.11.17", "4.1.10"), VersionChange::kMajorUpgrade);
  EXPECT_EQ(JudgeVersionChange("3.11.17", "5.0.9"), VersionChange::kMajorVersionSkipped);
  EXPECT_EQ(JudgeVersionChange("4.1.10", "3.11.17"), VersionChange::kMajorVersionDowngrade);
  EXPECT_EQ(JudgeVersionChange("5.0.9", "4.1.10"), VersionChange::kMajorVersionDowngrade);
  EXPECT_EQ(JudgeVersionChange("4.1.10", "4.0.13"), VersionChange::kMinorVersionDowngrade);
  EXPECT_EQ(JudgeVersionChange("4.1.10", "latest"), VersionChange::kUnparsable);
}

TEST(VersionChange, RefusalsNameTheirReasonAndTheWayForward) {
  for (auto change : {VersionChange::kSame, VersionChange::kPatch, VersionChange::kMinorUpgrade,
                      VersionChange::kMajorUpgrade}) {
    EXPECT_FALSE(Refused(change));
    EXPECT_EQ(RefusalMessage(change, "4.1.10", "5.0.9"), "");
  }
  EXPECT_TRUE(Refused(VersionChange::kMajorVersionDowngrade));
  EXPECT_STREQ(RefusalReason(VersionChange::kMajorVersionDowngrade), "MajorVersionDowngrade");
  const std::string down =
      RefusalMessage(VersionChange::kMajorVersionDowngrade, "4.1.10", "3.11.17");
  EXPECT_TRUE(absl::StrContains(down, "spec.version 3.11.17 refused")) << down;
  EXPECT_TRUE(absl::StrContains(down, "from 4.1.10; the cluster stays on it")) << down;
  EXPECT_TRUE(absl::StrContains(down, "restore a backup")) << down;
  const std::string skip = RefusalMessage(VersionChange::kMajorVersionSkipped, "3.11.17", "5.0.9");
  EXPECT_TRUE(absl::StrContains(skip, "upgrade to 4.x first")) << skip;
}

TEST(VersionChange, TheSnapshotIsNamedAfterTheUpgrade) {
  EXPECT_EQ(UpgradeSnapshotTag("4.1.10", "5.0.9"), "upgrade-4.1.10-to-5.0.9");
}

}  // namespace
}  // namespace ringkeeper
