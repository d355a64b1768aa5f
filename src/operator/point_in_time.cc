// A Restore to a point in time, on the Cluster's side (restores.cc drives it): the Restore
// records, member by member, that a member restarts to replay its commit log (its node status
// Restarting, with the pod that restarts). Here, each pass, those members' settings carry the
// replay (agent init gathers the segments and writes Cassandra's restore settings), and the pod
// recorded is restarted as a Restart operation: drained, deleted, only while every other member
// is up. The successor replays at its start; the Restore sees it in the agent's NodeInfo.
//
// Commit log archiving itself needs the location's credentials in the Secret the agents mount:
// copied here once per Cluster generation.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/restore.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/object.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/storage_access.h"

namespace ringkeeper {

using kube::Json;

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::FindReplays(Pass& p) {
  if (p.spec.commit_log_archive.empty()) return Flow::kContinue;
  const std::string copied = absl::StrCat(p.spec.uid, "/", p.spec.generation);
  bool copy = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    copy = archive_credentials_copied_.insert(copied).second;
  }
  if (copy) {
    if (absl::Status s = StorageAccess(seams_).CopyCredentials(p.spec); !s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      archive_credentials_copied_.erase(copied);
      return base::Annotate(s, "copy the commit log archive's credentials");
    }
  }
  if (!caches_.restores) return Flow::kContinue;
  for (const kube::ObjectPtr& object : caches_.restores->List()) {
    if (object->ns() != p.spec.ns || object->being_deleted()) continue;
    auto spec = ParseRestore(*object);
    if (!spec.ok() || spec->cluster != p.spec.name || !spec->to_point_in_time()) continue;
    const RestoreStatus status = ParseRestoreStatus(kube::FieldAt(object->json(), {"status"}));
    if (status.phase != backup_phase::kRunning) continue;
    const StorageLocationSpec* location = p.spec.FindStorageLocation(p.spec.commit_log_archive);
    absl::Time since;
    std::string error;
    if (!location || !absl::ParseTime(absl::RFC3339_full, status.replay_since, &since, &error)) {
      continue;
    }
    for (const RestoreNodeStatus& n : status.nodes) {
      if (n.replay_phase != replay_phase::kRestarting) continue;
      Pass::Replay& r = p.replays[n.pod];
      r.pod_uid = n.replay_pod_uid;
      r.request.run = object->uid();
      r.request.location = StorageAccess::AgentLocation(*location);
      r.request.source_cluster = p.spec.name;
      r.request.source_node = n.pod;
      r.request.since_unix = absl::ToUnixSeconds(since);
      r.request.point_in_time_unix = absl::ToUnixSeconds(spec->point_in_time);
      r.request.tables = status.replay_tables;
    }
  }
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::RestartForReplay(Pass& p) {
  for (const auto& [pod, replay] : p.replays) {
    Member* m = p.Find(pod);
    if (!m || !m->pod_object || m->pod_uid != replay.pod_uid) continue;  // restarted already
    p.progress_reason = reason::kReplayingCommitLog;
    if (!AllUp(p, pod)) {
      p.progress_message =
          absl::StrCat(pod, " restarts to replay its commit log once every other node is UN");
      p.requeue = options_.short_wait;
      return Flow::kWait;
    }
    Json operation =
        NewOperation(OperationKind::kRestart, *m, Phase::kDraining, seams_.clock->Now());
    operation["podUid"] = m->pod_uid;
    RETURN_IF_ERROR(BeginOperation(
        p, operation, false, reason::kReplayingCommitLog,
        absl::StrCat("restarting ", pod, " to replay its commit log up to ",
                     absl::FormatTime(absl::RFC3339_sec,
                                      absl::FromUnixSeconds(replay.request.point_in_time_unix),
                                      absl::UTCTimeZone()),
                     " (restore ", replay.request.run, "): drain, then recreate")));
    return ContinueRestart(p);
  }
  return Flow::kContinue;
}

}  // namespace ringkeeper
