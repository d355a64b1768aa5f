#include "operator/restores.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/backup.h"
#include "api/v1alpha1/catalogue.h"
#include "backup/layout.h"
#include "base/log.h"
#include "base/status_macros.h"

namespace ringkeeper {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

struct RestoreReconciler::Pass {
  kube::ObjectPtr object;
  RestoreSpec spec;
  RestoreStatus status, old_status;
  kube::ObjectPtr cluster;
  ClusterSpec cluster_spec;
  const StorageLocationSpec* location = nullptr;
  absl::Time now;
};

RestoreReconciler::RestoreReconciler(Seams seams, BackupStorage* storage, RestoreCaches caches,
                                     RestoreReconcilerOptions options)
    : seams_(seams), storage_(storage), caches_(caches), options_(options), access_(seams) {}

absl::StatusOr<kube::Result> RestoreReconciler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr object = caches_.restores->Get(key.ToString());
  if (!object || object->being_deleted()) {
    written_.Forget(key.ToString());
    return kube::Result{};
  }
  object = written_.Newest(key.ToString(), object);  // never act on an older record
  auto spec = ParseRestore(*object);
  if (!spec.ok()) return kube::TerminalError(spec.status());
  Pass p;
  p.object = object;
  p.spec = *std::move(spec);
  p.old_status = ParseRestoreStatus(FieldAt(object->json(), {"status"}));
  p.status = p.old_status;
  p.now = seams_.clock->Now();
  if (p.status.Finished()) return kube::Result{};

  p.cluster = caches_.clusters->Get(kube::ObjectKey{p.spec.ns, p.spec.cluster}.ToString());
  absl::Status step;
  if (!p.cluster) {
    Fail(p, reason::kClusterNotFound,
         absl::StrCat("Cluster ", p.spec.cluster, " not found in namespace ", p.spec.ns));
  } else if (auto cluster_spec = ParseCluster(*p.cluster, Defaults{}); !cluster_spec.ok()) {
    step = cluster_spec.status();
  } else {
    p.cluster_spec = *std::move(cluster_spec);
    step =
        p.status.phase.empty() || p.status.phase == backup_phase::kPending ? Start(p) : Continue(p);
  }
  RETURN_IF_ERROR(WriteStatus(p));
  RETURN_IF_ERROR(step);
  kube::Result result;
  if (!p.status.Finished()) result.requeue_after = options_.poll;
  return result;
}

void RestoreReconciler::Fail(Pass& p, const char* why, const std::string& message) {
  p.status.Fail(why, message, kube::FormatRfc3339(p.now));
  spdlog::warn("restore {}: {}: {}", p.object->key().ToString(), why, message);
  seams_.events->Event(*p.object, true, reason::kRestoreFailed, absl::StrCat(why, ": ", message));
}

absl::Status RestoreReconciler::Start(Pass& p) {
  if (std::string why; !ReportedReady(*p.cluster, &why)) {
    Fail(p, reason::kClusterNotReady,
         absl::StrCat("Cluster ", p.spec.cluster, " is not Ready (", why,
                      "): a restore needs every member"));
    return absl::OkStatus();
  }
  // The source: a Complete Backup of this namespace, or a backup named under a location.
  std::string location = p.spec.source_location, source_cluster = p.spec.source_cluster,
              source_backup = p.spec.source_backup;
  if (!p.spec.backup.empty()) {
    kube::ObjectPtr b = caches_.backups->Get(kube::ObjectKey{p.spec.ns, p.spec.backup}.ToString());
    if (!b) {
      Fail(p, reason::kBackupNotFound,
           absl::StrCat("Backup ", p.spec.backup, " not found in namespace ", p.spec.ns));
      return absl::OkStatus();
    }
    const BackupStatus bs = ParseBackupStatus(FieldAt(b->json(), {"status"}));
    if (bs.phase != backup_phase::kComplete) {
      Fail(p, reason::kBackupNotComplete,
           absl::StrCat("Backup ", p.spec.backup, " is ",
                        bs.phase.empty() ? std::string("not started") : bs.phase,
                        ": only a complete backup is restored"));
      return absl::OkStatus();
    }
    location = StringField(FieldAt(b->json(), {"spec"}), "storageLocation");
    source_cluster = StringField(FieldAt(b->json(), {"spec"}), "cluster");
    source_backup = p.spec.backup;
  }
  p.location = p.cluster_spec.FindStorageLocation(location);
  if (!p.location) {
    Fail(p, reason::kStorageLocationNotFound,
         absl::StrCat("Cluster ", p.spec.cluster, " has no storage location \"", location,
                      "\" (it has: ", LocationNames(p.cluster_spec), ")"));
    return absl::OkStatus();
  }
  auto store = access_.Open(p.cluster_spec, *p.cluster, *p.location, storage_, caches_.pods);
  if (!store.ok()) {
    if (absl::IsNotFound(store.status()) || absl::IsInvalidArgument(store.status())) {
      Fail(p, reason::kCredentialsNotFound, std::string(store.status().message()));
      return absl::OkStatus();
    }
    return store.status();
  }
  // The index says the backup is whole and which nodes it has.
  const std::string index_key =
      backup::IndexKey(p.location->Prefix(), source_cluster, source_backup);
  auto index_text = (*store)->Get(index_key);
  if (absl::IsNotFound(index_text.status())) {
    Fail(p, reason::kBackupNotFound,
         absl::StrCat("no complete backup ", source_backup, " of cluster ", source_cluster, " in ",
                      location, " (no index at ", (*store)->Where(index_key), ")"));
    return absl::OkStatus();
  }
  if (!index_text.ok()) return base::Annotate(index_text.status(), "read the backup's index");
  auto index = backup::ParseIndex(*index_text);
  if (!index.ok() || index->nodes.empty()) {
    Fail(p, reason::kBackupNotFound,
         absl::StrCat(index_key, ": ", index.ok() ? "no nodes" : index.status().message()));
    return absl::OkStatus();
  }
  // Every keyspace asked for is in it (one manifest has the schema of all); a restore to a
  // point in time replays the restored tables only.
  std::vector<std::string> replayed_tables;
  if (!p.spec.keyspaces.empty() || p.spec.to_point_in_time()) {
    auto manifest_text = (*store)->Get(index->nodes[0].manifest);
    if (!manifest_text.ok()) return base::Annotate(manifest_text.status(), "read a manifest");
    auto manifest = backup::ParseManifest(*manifest_text);
    if (!manifest.ok()) return manifest.status();
    for (const std::string& ks : p.spec.keyspaces) {
      if (!manifest->keyspaces.contains(ks)) {
        Fail(p, reason::kKeyspaceNotInBackup,
             absl::StrCat("backup ", source_backup, " has no keyspace ", ks));
        return absl::OkStatus();
      }
    }
    auto keyspaces = backup::RestoredKeyspaces(*manifest, p.spec.keyspaces);
    if (keyspaces.ok()) replayed_tables = backup::TablesOf(*manifest, *keyspaces);
  }
  std::vector<ReportedMember> members = ReportedMembers(*p.cluster);
  if (members.empty()) {
    Fail(p, reason::kClusterNotReady, absl::StrCat("Cluster ", p.spec.cluster, " has no members"));
    return absl::OkStatus();
  }
  // A Cluster created from this backup recorded its pairing (its members run on the tokens of
  // their source nodes, whose files they fetched before starting): that pairing, nothing else.
  std::map<std::string, std::string> recorded;
  const Json& from = FieldAt(p.cluster->json(), {"status", "restoreFrom"});
  const Json& pairs = FieldAt(from, {"nodes"});
  if (StringField(from, "restore") == p.object->name() && pairs.is_array()) {
    for (const Json& n : pairs) recorded[StringField(n, "pod")] = StringField(n, "source");
  }
  std::set<std::string> source_nodes;
  for (const backup::IndexNode& n : index->nodes) source_nodes.insert(n.node);
  // Node files only where each member owns its source node's tokens: the same members in
  // place (a member keeps its tokens; a scale since the backup changes the count), or the
  // recorded pairing. Anything else is streamed to the replicas the ring gives each row now.
  const bool same_names = members.size() == index->nodes.size() &&
                          std::all_of(members.begin(), members.end(),
                                      [&](const auto& m) { return source_nodes.contains(m.pod); });
  const bool node_files = same_names || recorded.size() == members.size();
  std::vector<backup::IndexNode> sources = index->nodes;
  auto order = [](const auto& a, const auto& b) {
    return std::tie(a.dc, a.rack, a.node) < std::tie(b.dc, b.rack, b.node);
  };
  std::sort(sources.begin(), sources.end(), order);
  std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
    return std::tie(a.dc, a.rack, a.pod) < std::tie(b.dc, b.rack, b.pod);
  });
  // NodeFiles: each member its source node (its own name in place, else the recorded pairing).
  // BulkLoad: each source node's files streamed by one member, the members taking them in turn.
  p.status.nodes.clear();
  const size_t parts = node_files ? members.size() : sources.size();
  for (size_t i = 0; i < parts; ++i) {
    RestoreNodeStatus n;
    n.pod = members[i % members.size()].pod;
    n.source = !node_files ? sources[i].node : same_names ? n.pod : recorded[n.pod];
    n.phase = node_phase::kPending;
    if (p.spec.to_point_in_time()) n.replay_phase = replay_phase::kPending;
    p.status.nodes.push_back(std::move(n));
  }
  if (p.spec.to_point_in_time()) {
    // The segments replay on the nodes that wrote them, over the files of a backup older than
    // the point: only in place, at the backup's size, from an archived commit log.
    absl::Time finished;
    std::string error;
    if (p.cluster_spec.commit_log_archive.empty()) {
      Fail(p, reason::kCommitLogNotArchived,
           absl::StrCat("Cluster ", p.spec.cluster,
                        " does not archive its commit log (spec.commitLogArchive): there is "
                        "nothing to replay up to a point in time"));
      return absl::OkStatus();
    }
    if (source_cluster != p.spec.cluster || !same_names) {
      Fail(p, reason::kPointInTimeNotInPlace,
           absl::StrCat("a point in time is restored in place only, into the cluster that took "
                        "the backup with the same members (backup ",
                        source_backup, " is of ", source_cluster, ", ", index->nodes.size(),
                        " nodes)"));
      return absl::OkStatus();
    }
    if (!absl::ParseTime(absl::RFC3339_full, index->finished, &finished, &error) ||
        finished > p.spec.point_in_time) {
      Fail(p, reason::kPointInTimeBeforeBackup,
           absl::StrCat("backup ", source_backup, " finished at ", index->finished,
                        ", after the point in time ", kube::FormatRfc3339(p.spec.point_in_time),
                        ": restore from an earlier backup"));
      return absl::OkStatus();
    }
    if (p.spec.point_in_time > p.now) {
      Fail(p, reason::kPointInTimeInFuture,
           absl::StrCat("the point in time ", kube::FormatRfc3339(p.spec.point_in_time),
                        " has not come yet"));
      return absl::OkStatus();
    }
    p.status.replay_target = kube::FormatRfc3339(p.spec.point_in_time);
    p.status.replay_since = index->started;
    p.status.replay_tables = std::move(replayed_tables);
  }
  p.status.method = node_files ? restore_method::kNodeFiles : restore_method::kBulkLoad;
  p.status.phase = backup_phase::kRunning;
  p.status.start_time = kube::FormatRfc3339(p.now);
  p.status.location = location;
  p.status.source_cluster = source_cluster;
  p.status.source_backup = source_backup;
  p.status.schema_pod = p.status.nodes[0].pod;
  seams_.events->Event(*p.object, false, reason::kRestoreStarted,
                       absl::StrCat("restoring ", source_backup, " of ", source_cluster, " (",
                                    index->nodes.size(), " nodes) into the ", members.size(),
                                    " members of ", p.spec.cluster, " by ", p.status.method));
  return absl::OkStatus();
}

agent::api::OperationRequest RestoreReconciler::Request(const Pass& p, const char* kind) const {
  agent::api::OperationRequest r;
  r.kind = kind;
  r.backup = p.status.source_backup;
  r.source_cluster = p.status.source_cluster;
  r.keyspaces = p.spec.keyspaces;
  r.location = StorageAccess::AgentLocation(*p.location);
  r.run = p.object->uid();
  r.load = p.status.method == restore_method::kBulkLoad;
  return r;
}

absl::StatusOr<agent::api::Operation> RestoreReconciler::Follow(
    Pass& p, const std::string& pod, std::string& id, const agent::api::OperationRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<NodeAgent> agent,
                   access_.AgentOf(p.cluster_spec, *caches_.pods, pod));
  if (!id.empty()) {
    auto op = agent->Operation(id);
    if (!absl::IsNotFound(op.status())) return op;
    // The agent restarted and forgot it: ask again (files it fetched are not fetched twice).
    spdlog::info("restore {}: {} lost operation {}: asking again", p.object->key().ToString(), pod,
                 id);
    id.clear();
  }
  RETURN_IF_ERROR(access_.CopyCredentials(p.cluster_spec));
  ASSIGN_OR_RETURN(agent::api::Operation op, agent->Start(request));
  id = op.id;
  return op;
}

absl::Status RestoreReconciler::Continue(Pass& p) {
  p.location = p.cluster_spec.FindStorageLocation(p.status.location);
  if (!p.location) {
    Fail(p, reason::kStorageLocationNotFound,
         absl::StrCat("Cluster ", p.spec.cluster, " no longer has storage location \"",
                      p.status.location, "\""));
    return absl::OkStatus();
  }
  const bool in_place = p.status.source_cluster == p.spec.cluster;
  if (!p.status.schema_done) {
    agent::api::OperationRequest request = Request(p, agent::api::kOpRestoreSchema);
    request.source_node = p.status.nodes[0].source;
    request.truncate = in_place;
    auto op = Follow(p, p.status.schema_pod, p.status.schema_operation, request);
    if (!op.ok()) {
      spdlog::info("restore {}: schema: {}", p.object->key().ToString(), op.status().message());
      return absl::OkStatus();  // asked again next pass
    }
    if (op->state == agent::api::kStateSucceeded) {
      p.status.schema_done = true;  // recorded before any node's data is imported
    } else if (op->state != agent::api::kStateRunning) {
      Fail(p, reason::kRestoreSchemaFailed, absl::StrCat(p.status.schema_pod, ": ", op->message));
    }
    return absl::OkStatus();
  }
  std::set<std::string> busy;  // an agent runs one restore at a time (BulkLoad: several parts)
  for (RestoreNodeStatus& node : p.status.nodes) {
    if (node.phase == node_phase::kDone) continue;
    if (!busy.insert(node.pod).second) continue;
    agent::api::OperationRequest request = Request(p, agent::api::kOpRestore);
    request.source_node = node.source;
    auto op = Follow(p, node.pod, node.operation, request);
    if (!op.ok()) {
      node.message = std::string(op.status().message());
      continue;
    }
    node.message.clear();
    node.files_done = op->files_done;
    node.bytes = op->bytes_total;
    if (op->state == agent::api::kStateSucceeded) {
      node.phase = node_phase::kDone;
    } else if (op->state == agent::api::kStateRunning) {
      node.phase = node_phase::kRunning;
    } else {
      node.phase = node_phase::kFailed;
      node.message = op->message;
      Fail(p, reason::kNodeRestoreFailed, absl::StrCat(node.pod, ": ", op->message));
      return absl::OkStatus();
    }
  }
  if (std::all_of(p.status.nodes.begin(), p.status.nodes.end(),
                  [](const auto& n) { return n.phase == node_phase::kDone; }) &&
      (p.status.replay_target.empty() || Replay(p))) {
    p.status.phase = backup_phase::kComplete;
    p.status.completion_time = kube::FormatRfc3339(p.now);
    int64_t bytes = 0;
    for (const auto& n : p.status.nodes) bytes += n.bytes;
    seams_.events->Event(
        *p.object, false, reason::kRestoreComplete,
        absl::StrCat(p.status.nodes.size(), " nodes, ", bytes, " bytes restored from ",
                     p.status.source_backup,
                     p.status.replay_target.empty()
                         ? std::string()
                         : absl::StrCat(", commit log replayed up to ", p.status.replay_target)));
  }
  return absl::OkStatus();
}

bool RestoreReconciler::Replay(Pass& p) {
  const std::string run = p.object->uid();
  for (RestoreNodeStatus& node : p.status.nodes) {
    if (node.replay_phase == replay_phase::kDone) continue;
    kube::ObjectPtr pod = caches_.pods->Get(kube::ObjectKey{p.spec.ns, node.pod}.ToString());
    std::optional<agent::api::NodeInfo> info;
    if (pod && !pod->being_deleted()) {
      if (auto agent = access_.AgentOf(p.cluster_spec, *caches_.pods, node.pod); agent.ok()) {
        if (auto i = (*agent)->NodeInfo(); i.ok()) info = *std::move(i);
      }
    }
    auto has = [&run](const std::vector<std::string>& runs) {
      return std::find(runs.begin(), runs.end(), run) != runs.end();
    };
    if (info && has(info->replayed)) {
      node.replay_phase = replay_phase::kDone;
      seams_.events->Event(
          *p.object, false, reason::kCommitLogReplayed,
          absl::StrCat(node.pod, " replayed its commit log up to ", p.status.replay_target));
      continue;
    }
    if (!pod) return false;  // its StatefulSet brings it back
    if (node.replay_phase != replay_phase::kRestarting) {
      // Recorded before the Cluster reconciler acts on it: its settings carry the replay from
      // now on, and it restarts this pod (drained first, while every other member is up).
      node.replay_phase = replay_phase::kRestarting;
      node.replay_pod_uid = pod->uid();
      seams_.events->Event(*p.object, false, reason::kReplayingCommitLog,
                           absl::StrCat(node.pod, " restarts to replay its commit log up to ",
                                        p.status.replay_target));
    } else if (pod->uid() != node.replay_pod_uid && info && info->operation_mode == "NORMAL" &&
               !has(info->replaying)) {
      // Its successor started without the replay (its settings were read before they had
      // it): that one restarts too.
      spdlog::info("restore {}: {} came up without replaying: restarting it again",
                   p.object->key().ToString(), node.pod);
      node.replay_pod_uid = pod->uid();
    }
    return false;  // one member at a time
  }
  return true;
}

absl::Status RestoreReconciler::WriteStatus(Pass& p) {
  const kube::Json next = ToJson(p.status);
  if (next == ToJson(p.old_status) && FieldAt(p.object->json(), {"status"}).is_object()) {
    return absl::OkStatus();
  }
  kube::Json object = p.object->json();
  object["status"] = next;
  auto written = seams_.status->UpdateStatus(kRestores, kube::Object(std::move(object)));
  if (!written.ok()) return base::Annotate(written.status(), "write the Restore's status");
  written_.Remember(p.object->key().ToString(),
                    std::make_shared<const kube::Object>(*std::move(written)));
  return absl::OkStatus();
}

}  // namespace ringkeeper
