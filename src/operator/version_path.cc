#include "operator/version_path.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/v1alpha1/catalogue.h"

namespace ringkeeper {

std::optional<CassandraVersion> ParseCassandraVersion(const std::string& version) {
  CassandraVersion v;
  std::string numbers = version;
  if (size_t at = version.find_first_of("-+"); at != std::string::npos) {
    numbers = version.substr(0, at);
    v.suffix = version.substr(at);
  }
  std::vector<std::string> parts = absl::StrSplit(numbers, '.');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  int* fields[] = {&v.major, &v.minor, &v.patch};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty() || !absl::SimpleAtoi(parts[i], fields[i]) || *fields[i] < 0) {
      return std::nullopt;
    }
  }
  return v;
}

VersionChange JudgeVersionChange(const std::string& from, const std::string& to) {
  if (from == to) return VersionChange::kSame;
  auto f = ParseCassandraVersion(from);
  auto t = ParseCassandraVersion(to);
  if (!f || !t) return VersionChange::kUnparsable;
  if (t->major > f->major + 1) return VersionChange::kMajorVersionSkipped;
  if (t->major < f->major) return VersionChange::kMajorVersionDowngrade;
  if (t->major == f->major + 1) return VersionChange::kMajorUpgrade;
  if (t->minor < f->minor) return VersionChange::kMinorVersionDowngrade;
  if (t->minor > f->minor) return VersionChange::kMinorUpgrade;
  return VersionChange::kPatch;  // another patch (or suffix) of the same major.minor
}

bool Refused(VersionChange change) { return *RefusalReason(change) != '\0'; }

const char* RefusalReason(VersionChange change) {
  switch (change) {
    case VersionChange::kMajorVersionSkipped:
      return reason::kMajorVersionSkipped;
    case VersionChange::kMajorVersionDowngrade:
      return reason::kMajorVersionDowngrade;
    case VersionChange::kMinorVersionDowngrade:
      return reason::kMinorVersionDowngrade;
    case VersionChange::kUnparsable:
      return reason::kUnparsableVersion;
    default:
      return "";
  }
}

std::string RefusalMessage(VersionChange change, const std::string& from, const std::string& to) {
  const std::string head =
      absl::StrCat("spec.version ", to, " refused (from ", from, "; the cluster stays on it): ");
  auto f = ParseCassandraVersion(from);
  switch (change) {
    case VersionChange::kMajorVersionSkipped:
      return absl::StrCat(head, "Cassandra upgrades one major version at a time; upgrade to ",
                          f ? f->major + 1 : 0, ".x first");
    case VersionChange::kMajorVersionDowngrade:
      return absl::StrCat(head,
                          "a downgrade across a major version is not supported (the older "
                          "version cannot read what the newer one wrote); restore a backup "
                          "taken before the upgrade instead");
    case VersionChange::kMinorVersionDowngrade:
      return absl::StrCat(head,
                          "a downgrade to an older minor version is not supported; only another "
                          "patch release of ",
                          f ? absl::StrCat(f->major, ".", f->minor) : from, " can be rolled back");
    case VersionChange::kUnparsable:
      return absl::StrCat(head, "not a Cassandra version (major.minor[.patch])");
    default:
      return "";
  }
}

std::string UpgradeSnapshotTag(const std::string& from, const std::string& to) {
  return absl::StrCat("upgrade-", from, "-to-", to);
}

}  // namespace ringkeeper
