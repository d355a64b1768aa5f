#include "operator/backup_schedules.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api/v1alpha1/backup.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "api/v1alpha1/restore.h"
#include "backup/layout.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "operator/scheduled_runs.h"

namespace ringkeeper {
namespace {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

constexpr char kAnnotationScheduledAt[] = "cassandra.rook.io/scheduled-at";

// When a Backup started (its creation when it has not yet).
std::string StartOf(const kube::Object& b) {
  const std::string started = StringField(FieldAt(b.json(), {"status"}), "startTime");
  return started.empty() ? StringField(b.json()["metadata"], "creationTimestamp") : started;
}

}  // namespace

struct BackupScheduler::Pass {
  kube::ObjectPtr cluster;
  ClusterSpec spec;
  absl::Time now;
  std::vector<kube::ObjectPtr> backups;  // every Backup of the Cluster
  std::set<std::string> purged_locations;
  bool created = false;  // a Backup was created this pass (its upload may start any moment)
  absl::Time wake = absl::InfiniteFuture();

  std::vector<kube::ObjectPtr> Of(const std::string& schedule) const {
    std::vector<kube::ObjectPtr> out;
    for (const auto& b : backups) {
      if (b->label(kLabelBackupSchedule).value_or("") == schedule) out.push_back(b);
    }
    return out;
  }
};

BackupScheduler::BackupScheduler(Seams seams, BackupStorage* storage, ScheduleCaches caches,
                                 BackupSchedulerOptions options)
    : seams_(seams), storage_(storage), caches_(caches), options_(options), access_(seams) {}

absl::StatusOr<kube::Result> BackupScheduler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr cluster = caches_.clusters->Get(key.ToString());
  if (!cluster || cluster->being_deleted()) return kube::Result{};
  auto spec = ParseCluster(*cluster, Defaults{});
  if (!spec.ok()) return kube::Result{};  // the Cluster reconciler reports it
  Pass p;
  p.cluster = cluster;
  p.spec = *std::move(spec);
  p.now = seams_.clock->Now();
  p.backups = ObjectsOfCluster(*caches_.backups, p.spec);
  absl::Status first_error;
  for (const BackupScheduleSpec& schedule : p.spec.backup_schedules) {
    absl::Status s = Retain(p, schedule);
    if (s.ok()) s = Schedule(p, schedule);
    if (!s.ok() && first_error.ok()) first_error = base::Annotate(s, schedule.name);
  }
  // Stored files no backup lists: per location a schedule uses.
  std::set<std::string> locations;
  absl::Duration grace = absl::InfiniteDuration();
  for (const BackupScheduleSpec& schedule : p.spec.backup_schedules) {
    locations.insert(schedule.storage_location);
    grace = std::min(grace, schedule.orphan_grace);
  }
  for (const std::string& name : locations) {
    const StorageLocationSpec* location = p.spec.FindStorageLocation(name);
    if (!location) continue;
    const std::string at = absl::StrCat(p.spec.uid, "/", name);
    bool due;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = collected_.find(at);
      if (p.purged_locations.contains(name)) to_collect_.insert(at);
      due = to_collect_.contains(at) || it == collected_.end() ||
            p.now - it->second >= options_.collect_every;
    }
    if (!due) continue;
    if (absl::Status s = Collect(p, *location, grace); !s.ok() && first_error.ok()) {
      first_error = base::Annotate(s, "collect unreferenced files");
    }
  }
  if (!first_error.ok()) return first_error;
  kube::Result result;
  if (!p.spec.backup_schedules.empty()) {
    result.requeue_after = std::max(absl::Seconds(1), std::min(p.wake - p.now, options_.max_wait));
  }
  return result;
}

absl::Status BackupScheduler::Schedule(Pass& p, const BackupScheduleSpec& s) {
  if (s.suspend) return absl::OkStatus();
  auto run = RunToCreate(
      p.spec, s.name, s.schedule, s.time_zone, s.starting_deadline, p.now, p.Of(s.name),
      [](const kube::Object& b) {
        return !ParseBackupStatus(FieldAt(b.json(), {"status"})).Finished();
      },
      &p.wake);
  if (!run.ok()) {
    warnings_.Warn(*seams_.events, *p.cluster,
                   absl::StrCat(s.name, "/", s.schedule, "/", s.time_zone),
                   reason::kInvalidSchedule,
                   absl::StrCat("spec.backups[", s.name, "].", run.status().message(),
                                "; no backup is scheduled until it is fixed"));
    return absl::OkStatus();
  }
  const absl::Time last = run->at;
  if (run->running) {
    warnings_.Warn(*seams_.events, *p.cluster, ScheduledName(p.spec, s.name, last),
                   reason::kBackupSkipped,
                   absl::StrCat("the ", kube::FormatRfc3339(last), " run of schedule ", s.name,
                                " is skipped: Backup ", run->running->name(), " still runs"));
    return absl::OkStatus();
  }
  if (run->name.empty()) return absl::OkStatus();
  const std::string name = run->name;
  Json backup = {{"apiVersion", kApiVersion},
                 {"kind", kBackups.kind},
                 {"metadata",
                  {{"name", name},
                   {"namespace", p.spec.ns},
                   {"labels", {{kLabelCluster, p.spec.name}, {kLabelBackupSchedule, s.name}}},
                   {"annotations", {{kAnnotationScheduledAt, kube::FormatRfc3339(last)}}},
                   {"ownerReferences", Json::array({OwnerReference(p.spec)})}}},
                 {"spec", {{"cluster", p.spec.name}, {"storageLocation", s.storage_location}}}};
  if (!s.keyspaces.empty()) backup["spec"]["keyspaces"] = s.keyspaces;
  auto created = seams_.writer->Create(kBackups, backup);
  if (absl::IsAlreadyExists(created.status())) return absl::OkStatus();
  RETURN_IF_ERROR(base::Annotate(created.status(), absl::StrCat("create Backup ", name)));
  p.created = true;
  spdlog::info("cluster {}: schedule {}: Backup {} created", p.cluster->key().ToString(), s.name,
               name);
  seams_.events->Event(
      *p.cluster, false, reason::kBackupScheduled,
      absl::StrCat("Backup ", name, " for the ", kube::FormatRfc3339(last), " run of ", s.name));
  return absl::OkStatus();
}

absl::Status BackupScheduler::Retain(Pass& p, const BackupScheduleSpec& s) {
  std::vector<kube::ObjectPtr> complete, failed;
  for (const auto& b : p.Of(s.name)) {
    const BackupStatus status = ParseBackupStatus(FieldAt(b->json(), {"status"}));
    if (status.phase == backup_phase::kComplete) complete.push_back(b);
    if (status.phase == backup_phase::kFailed) failed.push_back(b);
  }
  auto newest_first = [](const kube::ObjectPtr& a, const kube::ObjectPtr& b) {
    return StartOf(*a) > StartOf(*b);  // RFC 3339 in UTC sorts as time
  };
  std::sort(complete.begin(), complete.end(), newest_first);
  std::sort(failed.begin(), failed.end(), newest_first);
  for (size_t i = 1; i < complete.size(); ++i) {  // the newest is always kept
    absl::Time started;
    const bool too_old =
        s.max_age > absl::ZeroDuration() &&
        absl::ParseTime(absl::RFC3339_full, StartOf(*complete[i]), &started, nullptr) &&
        p.now - started > s.max_age;
    if (static_cast<int>(i) >= s.keep || too_old) {
      RETURN_IF_ERROR(Purge(p, *complete[i],
                            too_old ? absl::StrCat("older than ", absl::FormatDuration(s.max_age))
                                    : absl::StrCat("beyond the newest ", s.keep)));
    }
  }
  for (size_t i = s.failed_history; i < failed.size(); ++i) {
    RETURN_IF_ERROR(
        Purge(p, *failed[i], absl::StrCat("a failed backup beyond the newest ", s.failed_history)));
  }
  return absl::OkStatus();
}

absl::Status BackupScheduler::Purge(Pass& p, const kube::Object& b, const std::string& why) {
  for (const kube::ObjectPtr& r : caches_.restores->List()) {
    const RestoreStatus rs = ParseRestoreStatus(FieldAt(r->json(), {"status"}));
    if (r->ns() == b.ns() && StringField(FieldAt(r->json(), {"spec"}), "backup") == b.name() &&
        !rs.Finished()) {
      warnings_.Warn(
          *seams_.events, *p.cluster, absl::StrCat("held/", b.name(), "/", r->name()),
          reason::kPurgeHeld,
          absl::StrCat("Backup ", b.name(), " is kept while Restore ", r->name(), " reads it"));
      return absl::OkStatus();
    }
  }
  const std::string location_name = StringField(FieldAt(b.json(), {"spec"}), "storageLocation");
  const StorageLocationSpec* location = p.spec.FindStorageLocation(location_name);
  if (!location) {
    warnings_.Warn(
        *seams_.events, *p.cluster, absl::StrCat("held/", b.name()), reason::kPurgeHeld,
        absl::StrCat("Backup ", b.name(), " is past its retention but its storage location \"",
                     location_name, "\" is gone from the Cluster: kept, nothing deleted"));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const std::unique_ptr<LocationStore> store,
                   access_.Open(p.spec, *p.cluster, *location, storage_, caches_.pods));
  const BackupStatus status = ParseBackupStatus(FieldAt(b.json(), {"status"}));
  // The index first: from here on this is not a backup anyone restores.
  std::string index = backup::IndexKey(location->Prefix(), p.spec.name, b.name());
  if (absl::StartsWith(status.index, store->Where(""))) {
    index = std::string(absl::StripPrefix(status.index, store->Where("")));
  }
  RETURN_IF_ERROR(store->Delete({index}));
  std::vector<std::string> manifests;
  for (const BackupNodeStatus& n : status.nodes) {
    manifests.push_back(
        !n.manifest.empty()
            ? n.manifest
            : backup::ManifestKey({location->Prefix(), p.spec.name, n.pod}, b.name()));
  }
  RETURN_IF_ERROR(store->Delete(manifests));
  absl::Status deleted =
      seams_.writer->Delete(kBackups, b.ns(), b.name(), b.uid(), Deletion::kGraceful);
  if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
  p.purged_locations.insert(location_name);
  spdlog::info("cluster {}: Backup {} purged ({})", p.cluster->key().ToString(), b.name(), why);
  seams_.events->Event(*p.cluster, false, reason::kBackupPurged,
                       absl::StrCat("Backup ", b.name(), " purged: ", why));
  return absl::OkStatus();
}

absl::Status BackupScheduler::Collect(Pass& p, const StorageLocationSpec& location,
                                      absl::Duration grace) {
  // A running backup's files have no manifest yet: nothing is judged while one runs.
  if (p.created) return absl::OkStatus();
  for (const auto& b : p.backups) {
    if (!ParseBackupStatus(FieldAt(b->json(), {"status"})).Finished()) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const std::unique_ptr<LocationStore> store,
                   access_.Open(p.spec, *p.cluster, location, storage_, caches_.pods));
  const std::string root =
      absl::StrCat(location.Prefix().empty() ? "" : location.Prefix() + "/", p.spec.name, "/");
  ASSIGN_OR_RETURN(std::vector<StoredObject> objects, store->List(root));
  // A key's node folder: "<root><node>/...".
  auto node_of = [&](const std::string& key) {
    const std::string rest = key.substr(root.size());
    return rest.substr(0, rest.find('/'));
  };
  std::set<std::string> referenced;
  std::map<std::string, absl::Time> oldest_start;  // per node, of the backups it stored
  for (const StoredObject& o : objects) {
    if (!absl::StrContains(o.key, "/manifests/")) continue;
    // Every manifest must be read: a file is judged unreferenced only on complete knowledge.
    ASSIGN_OR_RETURN(const std::string text, store->Get(o.key));
    ASSIGN_OR_RETURN(const backup::Manifest manifest, backup::ParseManifest(text));
    for (const backup::FileEntry& f : manifest.files) referenced.insert(f.key);
    // Unreadable: keeps every segment of the node.
    const absl::Time started = kube::ParseRfc3339(manifest.started).value_or(absl::InfinitePast());
    auto [it, first] = oldest_start.emplace(node_of(o.key), started);
    if (!first) it->second = std::min(it->second, started);
  }
  // Deletes `keys` and says so on the Cluster: "<n> <what> (<bytes> bytes) in <location> <why>".
  auto purge = [&](const std::vector<std::string>& keys, int64_t bytes, const char* reason,
                   const char* what, const char* why) -> absl::Status {
    if (keys.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(store->Delete(keys));
    const std::string message =
        absl::StrCat(keys.size(), " ", what, " (", bytes, " bytes) in ", location.name, " ", why);
    seams_.events->Event(*p.cluster, false, reason, message);
    spdlog::info("cluster {}: {}: {}", p.cluster->key().ToString(), reason, message);
    return absl::OkStatus();
  };
  std::vector<std::string> orphans;
  int64_t bytes = 0;
  for (const StoredObject& o : objects) {
    if (!absl::StrContains(o.key, "/data/") || referenced.contains(o.key)) continue;
    if (p.now - o.last_modified < grace) continue;
    orphans.push_back(o.key);
    bytes += o.size;
  }
  RETURN_IF_ERROR(
      purge(orphans, bytes, reason::kOrphanFilesPurged, "files", "that no kept backup lists"));
  // Archived commit log segments (spec.commitLogArchive, when it is this location): a restore
  // to a point in time replays a node's segments from its base backup's start on, and no base
  // starts before the node's oldest stored backup. A segment is stored once it is closed, so one
  // stored (last modified) before that start, less the grace, holds only writes the oldest
  // backup already has. A node with no stored backup keeps every segment.
  if (location.name == p.spec.commit_log_archive) {
    std::vector<std::string> segments;
    int64_t segment_bytes = 0;
    for (const StoredObject& o : objects) {
      if (!absl::StrContains(o.key, "/commitlog/")) continue;
      auto oldest = oldest_start.find(node_of(o.key));
      if (oldest == oldest_start.end() || o.last_modified >= oldest->second - grace) continue;
      segments.push_back(o.key);
      segment_bytes += o.size;
    }
    RETURN_IF_ERROR(purge(segments, segment_bytes, reason::kCommitLogPurged, "commit log segments",
                          "archived before the oldest kept backup of their node"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  collected_[absl::StrCat(p.spec.uid, "/", location.name)] = p.now;
  to_collect_.erase(absl::StrCat(p.spec.uid, "/", location.name));
  return absl::OkStatus();
}

}  // namespace ringkeeper
