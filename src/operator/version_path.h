// Which Cassandra version changes a cluster may take, and what each one needs. Cassandra
// supports upgrading one major version at a time (3.11 → 4.x → 5.0, the sstables rewritten by
// `upgradesstables` after each major), never a downgrade across a major (a node of the older
// version cannot read what the newer one wrote), nor to an older minor within a major (4.1 →
// 4.0: the same). A patch release is a drop-in either way. Before any node restarts, every
// node snapshots its data under a tag named after the upgrade, the way back when the new
// version misbehaves.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

namespace ringkeeper {

// "5.0.9" → {5, 0, 9}; "4.1" → {4, 1, 0}; "5.0.9-beta1" → {5, 0, 9, "-beta1"}.
struct CassandraVersion {
  int major = 0, minor = 0, patch = 0;
  std::string suffix;  // "-beta1", "+build" or ""
};
std::optional<CassandraVersion> ParseCassandraVersion(const std::string& version);

// What a change of spec.version from `from` to `to` is. The refused kinds say why (their names
// are the VersionChangeRefused condition's reasons).
enum class VersionChange {
  kSame,                   // nothing to do
  kPatch,                  // same major.minor: rolled, no upgradesstables
  kMinorUpgrade,           // 4.0 → 4.1: rolled, no upgradesstables
  kMajorUpgrade,           // 4.1 → 5.0: rolled, then upgradesstables on every node
  kMajorVersionSkipped,    // 3.11 → 5.0: refused (one major at a time)
  kMajorVersionDowngrade,  // 5.0 → 4.1: refused
  kMinorVersionDowngrade,  // 4.1 → 4.0: refused
  kUnparsable,             // a version that is no version: refused
};
VersionChange JudgeVersionChange(const std::string& from, const std::string& to);

// The change is refused (the cluster stays on `from`).
bool Refused(VersionChange change);
// The condition reason of a refused change ("MajorVersionSkipped", ...), "" otherwise.
const char* RefusalReason(VersionChange change);
// Why, in words an SRE reads in the condition: "Cassandra supports one major version at a
// time: upgrade 3.11.17 to 4.1 first".
std::string RefusalMessage(VersionChange change, const std::string& from, const std::string& to);

// The snapshot every node takes before the upgrade's first restart: "upgrade-4.1.10-to-5.0.9".
std::string UpgradeSnapshotTag(const std::string& from, const std::string& to);

}  // namespace ringkeeper
