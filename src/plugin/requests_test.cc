#include "plugin/requests.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace ringkeeper::plugin {
namespace {

using kube::Json;

const absl::Time kNow = absl::FromUnixSeconds(1796000000);  // 2026-11-30T...Z

TEST(RequestsTest, RestartSetsTheAnnotationTheOperatorCopiesToEveryPodTemplate) {
  EXPECT_EQ(RestartPatch(kNow).dump(),
            R"({"metadata":{"annotations":{"cassandra.rook.io/restartedAt":")" +
                kube::FormatRfc3339(kNow) + R"("}}})");
}

TEST(RequestsTest, ReplaceLabelsThePodOnly) {
  EXPECT_EQ(ReplacePatch().dump(),
            R"({"metadata":{"labels":{"cassandra.rook.io/replace":"true"}}})");
}

TEST(RequestsTest, OnlyAPodOfAClusterCanBeReplaced) {
  auto ok = ClusterOfPod(Json::parse(
      R"({"metadata": {"name": "c-dc-r-0", "labels": {"cassandra.rook.io/cluster": "c"}}})"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "c");
  auto other = ClusterOfPod(Json::parse(R"({"metadata": {"name": "web-0"}})"));
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(absl::StrContains(other.status().message(), "pod web-0 is not a Cassandra pod"))
      << other.status();
}

TEST(RequestsTest, GeneratedNamesAreValidDnsLabelsKeepingTheTime) {
  EXPECT_EQ(GeneratedName("c", "repair", kNow),
            "c-repair-" + absl::FormatTime("%Y%m%d-%H%M%S", kNow, absl::UTCTimeZone()));
  const std::string longer = GeneratedName(std::string(80, 'x'), "backup", kNow);
  EXPECT_EQ(longer.size(), 63u);
  EXPECT_TRUE(
      absl::EndsWith(longer, absl::FormatTime("-backup-%Y%m%d-%H%M%S", kNow, absl::UTCTimeZone())));
}

TEST(RequestsTest, RepairCarriesOnlyWhatWasAsked) {
  EXPECT_EQ(
      RepairManifest("ns", "r", "c", {}).dump(),
      R"({"apiVersion":"cassandra.rook.io/v1alpha1","kind":"Repair","metadata":{"name":"r","namespace":"ns"},"spec":{"cluster":"c"}})");
  RepairOptions o;
  o.keyspaces = {"shop"};
  o.tables = {"orders"};
  o.type = "preview";
  o.parallelism = "dc-parallel";
  o.intensity = 0.5;
  o.segments_per_node = 4;
  const Json spec = RepairManifest("ns", "r", "c", o)["spec"];
  EXPECT_EQ(spec, Json::parse(R"({"cluster": "c", "keyspaces": ["shop"], "tables": ["orders"],
    "type": "preview", "parallelism": "dc-parallel", "intensity": 0.5, "segmentsPerNode": 4})"));
}

TEST(RequestsTest, BackupAndRestore) {
  EXPECT_EQ(BackupManifest("ns", "b", "c", "s3", {"shop"})["spec"],
            Json::parse(R"({"cluster": "c", "storageLocation": "s3", "keyspaces": ["shop"]})"));
  EXPECT_EQ(RestoreManifest("ns", "r", "c", "b", {}, "")["spec"],
            Json::parse(R"({"cluster": "c", "backup": "b"})"));
  EXPECT_EQ(RestoreManifest("ns", "r", "c", "b", {"shop"}, "2026-12-01T00:00:00Z")["spec"],
            Json::parse(R"({"cluster": "c", "backup": "b", "keyspaces": ["shop"],
                            "pointInTime": "2026-12-01T00:00:00Z"})"));
}

TEST(RequestsTest, ProgressInOneLine) {
  EXPECT_EQ(Progress(Json::object()), "Pending (not yet picked up by the operator)");
  EXPECT_FALSE(Finished(Json::object()));
  const Json running = Json::parse(
      R"({"status": {"phase": "Running", "segments": {"done": 12, "total": 48},
                     "waiting": "RepairAhead: repair/x runs first"}})");
  EXPECT_EQ(Progress(running), "Running 12/48 segments; RepairAhead: repair/x runs first");
  EXPECT_FALSE(Finished(running));
  const Json failed = Json::parse(
      R"({"status": {"phase": "Failed", "reason": "KeyspaceNotFound", "message": "no keyspace x"}})");
  EXPECT_EQ(Progress(failed), "Failed; KeyspaceNotFound; no keyspace x");
  EXPECT_TRUE(Finished(failed));
  EXPECT_TRUE(Finished(Json::parse(R"({"status": {"phase": "Complete", "bytes": 10}})")));
  EXPECT_EQ(Progress(Json::parse(R"({"status": {"phase": "Complete", "bytes": 10}})")),
            "Complete, 10 bytes");
}

TEST(RequestsTest, CqlshPasswordTravelsOnStdinNeverInArguments) {
  const std::string file = "/tmp/ringkeeper-cqlsh-0123";
  EXPECT_EQ(CqlshCredentials("admin", "p%ss'word"),
            "[plain_text_auth]\nusername = admin\npassword = p%ss'word\n");
  const std::vector<std::string> write = CqlshWriteCommand(file);
  EXPECT_EQ(write, (std::vector<std::string>{"sh", "-c", "umask 077 && cat > '" + file + "'"}));
  const std::vector<std::string> run = CqlshRunCommand(file, {"-e", "SELECT 1"});
  ASSERT_EQ(run.size(), 6u);
  EXPECT_EQ(run[2],
            "trap 'rm -f '\\''" + file + "'\\''' EXIT; cqlsh --credentials '" + file + "' \"$@\"");
  EXPECT_EQ(run[3], "cqlsh");  // $0; then cqlsh's own arguments as "$@"
  EXPECT_EQ(run[4], "-e");
  EXPECT_EQ(run[5], "SELECT 1");
  for (const auto& arg : write) EXPECT_FALSE(absl::StrContains(arg, "p%ss")) << arg;
  for (const auto& arg : run) EXPECT_FALSE(absl::StrContains(arg, "p%ss")) << arg;
}

}  // namespace
}  // namespace ringkeeper::plugin
