// spec.restoreFrom: a Cluster created from a backup.
//
//   plan (before any member exists; step "restore-from"): the backup's index and every node's
//        manifest are read; each member is paired with a source node of its data center (same
//        count per data center, racks and ordinals in order) and takes that node's tokens; the
//        pairing is recorded in status.restoreFrom before any pod is created, and the
//        location's credentials are copied for the init containers. Until the backup can be
//        read and fits, nothing is created: the Restored condition and a Warning event say why,
//        and the pass looks again (a Secret created, a backup finished, a size fixed: it goes
//        on by itself).
//   members start: agent init fetches each member's source files onto its empty volume before
//        Cassandra first starts (member settings' `restore`), on the source node's tokens.
//   restore (once the Cluster reports Ready; step "restore-data"): a Restore <cluster>-restore,
//        owned by the Cluster, brings the schema back and imports the fetched files; its phase
//        is copied into status.restoreFrom. A failed Restore is reported; deleting it starts
//        another.
#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/restore.h"
#include "backup/layout.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "operator/pass.h"
#include "operator/storage_access.h"

namespace ringkeeper {

using kube::Json;

namespace {

// Members and source nodes in the same order: data center, rack, then ordinal (a shorter name
// of the same StatefulSet has the smaller ordinal: "-2" before "-10").
template <typename T>
auto PairingOrder(const T& dc, const T& rack, const std::string& name) {
  return std::make_tuple(dc, rack, name.size(), name);
}

std::string RestoreObjectName(const ClusterSpec& c) { return c.name + "-restore"; }

// Where the restore stands, in status.restoreFrom (its nodes and Restore name kept).
void Record(Json& restore_from, const char* phase, const char* why, const std::string& message) {
  restore_from["phase"] = phase;
  restore_from["reason"] = why;
  restore_from["message"] = message;
}

}  // namespace

agent::api::OperationRequest MemberRestore(const ClusterReconciler::Pass& p, const Member& m) {
  agent::api::OperationRequest r;
  const RestoreFromSpec& from = p.spec.restore_from;
  // Only a member's first start: once it joined its volume holds the data (and a member
  // replaced later streams from its peers, as any replacement).
  if (!from.set() || m.bootstrapped ||
      kube::StringField(p.restore_from, "phase") == restore_from_phase::kComplete) {
    return r;
  }
  const StorageLocationSpec* location = p.spec.FindStorageLocation(from.storage_location);
  const Json& nodes = kube::FieldAt(p.restore_from, {"nodes"});
  if (!location || !nodes.is_array()) return r;
  for (const Json& n : nodes) {
    if (kube::StringField(n, "pod") != m.pod) continue;
    r.kind = agent::api::kOpRestore;
    r.backup = from.backup;
    r.source_cluster = from.cluster;
    r.source_node = kube::StringField(n, "source");
    r.keyspaces = from.keyspaces;
    r.location = StorageAccess::AgentLocation(*location);
  }
  return r;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::PlanRestoreFrom(Pass& p) {
  const RestoreFromSpec& from = p.spec.restore_from;
  if (!from.set() || !p.brand_new) return Flow::kContinue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = restore_tokens_.find(p.spec.uid); it != restore_tokens_.end()) {
      p.restore_tokens = it->second;  // planned by an earlier pass of this process
      return Flow::kContinue;
    }
  }
  if (!options_.backup_storage) return absl::FailedPreconditionError("no backup storage");
  const StorageLocationSpec* location = p.spec.FindStorageLocation(from.storage_location);
  if (!location) return absl::InvalidArgumentError("spec.restoreFrom: no such storage location");

  // Nothing is created until the backup can be read and fits this Cluster.
  auto refuse = [&](const char* why, const std::string& message) {
    if (kube::StringField(p.restore_from, "message") != message) Event(p, true, why, message);
    p.restore_from = Json::object();  // no pairing while it does not fit
    Record(p.restore_from, restore_from_phase::kPending, why, message);
    return Flow::kWait;
  };
  StorageAccess access(seams_);
  auto credentials = access.ReadCredentials(p.spec, location->s3);
  if (absl::IsNotFound(credentials.status()) || absl::IsInvalidArgument(credentials.status())) {
    return refuse(reason::kCredentialsNotFound, std::string(credentials.status().message()));
  }
  RETURN_IF_ERROR(credentials.status());
  const std::string index_key = backup::IndexKey(location->s3.prefix, from.cluster, from.backup);
  auto index_text = options_.backup_storage->Get(location->s3, *credentials, index_key);
  if (absl::IsNotFound(index_text.status())) {
    return refuse(reason::kBackupNotFound,
                  absl::StrCat("no complete backup ", from.backup, " of cluster ", from.cluster,
                               " in ", from.storage_location, " (no index at s3://",
                               location->s3.bucket, "/", index_key, ")"));
  }
  RETURN_IF_ERROR(base::Annotate(index_text.status(), "read the backup's index"));
  auto index = backup::ParseIndex(*index_text);
  if (!index.ok()) return refuse(reason::kBackupNotFound, std::string(index.status().message()));

  // Pair members and source nodes data center by data center.
  std::vector<backup::IndexNode> sources = index->nodes;
  std::vector<const Member*> targets;
  for (const Member& m : p.members) {
    if (m.wanted) targets.push_back(&m);
  }
  std::set<std::string> source_dcs, target_dcs;
  for (const auto& n : sources) source_dcs.insert(n.dc);
  for (const auto& dc : p.spec.dcs) target_dcs.insert(dc.name);
  if (source_dcs != target_dcs) {
    return refuse(
        reason::kDataCenterMismatch,
        absl::StrCat("backup ", from.backup, " has data centers ", absl::StrJoin(source_dcs, ", "),
                     " and this Cluster ", absl::StrJoin(target_dcs, ", "),
                     ": its keyspaces replicate to the backup's data centers by name"));
  }
  for (const std::string& dc : target_dcs) {
    const auto in_dc = [&dc](const auto& x) { return x.dc == dc; };
    const auto have = std::count_if(sources.begin(), sources.end(), in_dc);
    const auto want = std::count_if(targets.begin(), targets.end(),
                                    [&dc](const Member* m) { return m->dc == dc; });
    if (have != want) {
      return refuse(reason::kSizeMismatch,
                    absl::StrCat("backup ", from.backup, " has ", have, " nodes in ", dc,
                                 " and this Cluster ", want,
                                 ": a Cluster created from a backup has its node count"));
    }
  }
  std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) {
    return PairingOrder(a.dc, a.rack, a.node) < PairingOrder(b.dc, b.rack, b.node);
  });
  std::sort(targets.begin(), targets.end(), [](const Member* a, const Member* b) {
    return std::tie(a->dc, a->rack, a->ordinal) < std::tie(b->dc, b->rack, b->ordinal);
  });
  Json nodes = Json::array();
  std::map<std::string, std::vector<std::string>> tokens;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto text = options_.backup_storage->Get(location->s3, *credentials, sources[i].manifest);
    if (absl::IsNotFound(text.status())) {
      return refuse(reason::kBackupNotFound, absl::StrCat("backup ", from.backup, " lists ",
                                                          sources[i].manifest, ", not stored"));
    }
    RETURN_IF_ERROR(base::Annotate(text.status(), "read a manifest"));
    auto manifest = backup::ParseManifest(*text);
    if (!manifest.ok() || manifest->tokens.empty()) {
      return refuse(reason::kBackupNotFound,
                    absl::StrCat(sources[i].manifest, ": ",
                                 manifest.ok() ? "no tokens" : manifest.status().message()));
    }
    for (const std::string& ks : from.keyspaces) {
      if (!manifest->keyspaces.contains(ks)) {
        return refuse(reason::kKeyspaceNotInBackup,
                      absl::StrCat("backup ", from.backup, " has no keyspace ", ks));
      }
    }
    tokens[targets[i]->pod] = manifest->tokens;
    nodes.push_back({{"pod", targets[i]->pod}, {"source", sources[i].node}});
  }
  // The init containers read the location's credentials from the Secret every pod mounts.
  RETURN_IF_ERROR(access.CopyCredentials(p.spec));
  if (kube::FieldAt(p.restore_from, {"nodes"}) != nodes) {
    Event(p, false, reason::kRestorePlanned,
          absl::StrCat(nodes.size(), " members start on the tokens of backup ", from.backup, " of ",
                       from.cluster, ", each with its source node's files"));
  }
  p.restore_from = {{"nodes", nodes}};
  Record(p.restore_from, restore_from_phase::kPending, reason::kRestorePlanned,
         "the members start with the backup's files; the Restore runs once the Cluster is Ready");
  p.restore_tokens = tokens;
  std::lock_guard<std::mutex> lock(mu_);
  restore_tokens_[p.spec.uid] = std::move(tokens);
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::RestoreFromBackup(Pass& p) {
  const RestoreFromSpec& from = p.spec.restore_from;
  const std::string phase = kube::StringField(p.restore_from, "phase");
  if (!from.set() || phase == restore_from_phase::kComplete ||
      !kube::FieldAt(p.restore_from, {"nodes"}).is_array()) {
    return Flow::kContinue;
  }
  // The Restore refuses a Cluster that does not report Ready: start it only once it does.
  if (std::string why; !ReportedReady(p.cluster, &why) || !AllUp(p)) return Flow::kContinue;
  const std::string name = RestoreObjectName(p.spec);
  kube::ObjectPtr restore = caches_.restores->Get(kube::ObjectKey{p.spec.ns, name}.ToString());
  if (!restore) {
    // First, or the user deleted a failed one to try again.
    Json object = {{"apiVersion", kApiVersion},
                   {"kind", kRestores.kind},
                   {"metadata",
                    {{"name", name},
                     {"namespace", p.spec.ns},
                     {"labels", {{kLabelCluster, p.spec.name}}},
                     {"ownerReferences", Json::array({OwnerReference(p.spec)})}}},
                   {"spec",
                    {{"cluster", p.spec.name},
                     {"source",
                      {{"storageLocation", from.storage_location},
                       {"cluster", from.cluster},
                       {"backup", from.backup}}}}}};
    if (!from.keyspaces.empty()) object["spec"]["keyspaces"] = from.keyspaces;
    auto created = seams_.writer->Create(kRestores, object);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
      return base::Annotate(created.status(), absl::StrCat("create Restore ", name));
    }
    Event(p, false, reason::kRestoring,
          absl::StrCat("Restore ", name, " started: backup ", from.backup, " of ", from.cluster));
  }
  // Just created: no status yet, as a Restore that has not started.
  const RestoreStatus status =
      restore ? ParseRestoreStatus(kube::FieldAt(restore->json(), {"status"})) : RestoreStatus{};
  if (status.phase == backup_phase::kComplete) {
    int64_t bytes = 0;
    for (const auto& n : status.nodes) bytes += n.bytes;
    const std::string message =
        absl::StrCat("backup ", from.backup, " of ", from.cluster, " restored by ", name, ": ",
                     status.nodes.size(), " nodes, ", bytes, " bytes");
    Event(p, false, reason::kRestoreComplete, message);
    Record(p.restore_from, restore_from_phase::kComplete, reason::kRestoreComplete, message);
  } else if (status.phase == backup_phase::kFailed) {
    const std::string message = absl::StrCat("Restore ", name, " failed: ", status.reason, ": ",
                                             status.message, " (delete it to try again)");
    if (phase != restore_from_phase::kFailed) Event(p, true, reason::kRestoreFailed, message);
    Record(p.restore_from, restore_from_phase::kFailed, reason::kRestoreFailed, message);
  } else {
    Record(
        p.restore_from, restore_from_phase::kRestoring, reason::kRestoring,
        absl::StrCat("Restore ", name, " is ", status.phase.empty() ? "starting" : status.phase));
    p.requeue = std::min(p.requeue, options_.short_wait);
  }
  p.restore_from["restore"] = name;
  return Flow::kContinue;
}

}  // namespace ringkeeper
