#include "operator/backups.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "backup/layout.h"
#include "base/log.h"
#include "base/status_macros.h"

namespace ringkeeper {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

struct BackupReconciler::Pass {
  kube::ObjectPtr object;
  BackupSpec spec;
  BackupStatus status;
  BackupStatus old_status;
  kube::ObjectPtr cluster;
  ClusterSpec cluster_spec;
  const StorageLocationSpec* location = nullptr;
  absl::Time now;
};

BackupReconciler::BackupReconciler(Seams seams, BackupStorage* storage, BackupCaches caches,
                                   BackupReconcilerOptions options)
    : seams_(seams), storage_(storage), caches_(caches), options_(options), access_(seams) {}

absl::StatusOr<kube::Result> BackupReconciler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr object = caches_.backups->Get(key.ToString());
  if (!object || object->being_deleted()) {
    written_.Forget(key.ToString());
    return kube::Result{};
  }
  object = written_.Newest(key.ToString(), object);  // never act on an older record
  auto spec = ParseBackup(*object);
  if (!spec.ok()) return kube::TerminalError(spec.status());
  Pass p;
  p.object = object;
  p.spec = *std::move(spec);
  p.old_status = ParseBackupStatus(FieldAt(object->json(), {"status"}));
  p.status = p.old_status;
  p.now = seams_.clock->Now();
  if (p.status.Finished()) {
    const std::string ask = object->annotation(kAnnotationVerify).value_or("");
    if (p.status.phase != backup_phase::kComplete || ask.empty() ||
        ask == p.status.verification.request) {
      return kube::Result{};
    }
    RETURN_IF_ERROR(Reverify(p, ask));
    RETURN_IF_ERROR(WriteStatus(p));
    return kube::Result{};
  }

  std::string why;
  absl::StatusOr<const char*> missing = FindLocation(p, &why);
  absl::Status step;
  if (!missing.ok()) {
    step = missing.status();
  } else if (*missing) {
    Fail(p, *missing, why);
  } else if (p.status.phase.empty() || p.status.phase == backup_phase::kPending) {
    step = Start(p);
  } else {
    step = Continue(p);
  }
  RETURN_IF_ERROR(WriteStatus(p));
  RETURN_IF_ERROR(step);
  kube::Result result;
  if (!p.status.Finished()) result.requeue_after = options_.poll;
  return result;
}

absl::StatusOr<const char*> BackupReconciler::FindLocation(Pass& p, std::string* why) {
  p.cluster = caches_.clusters->Get(kube::ObjectKey{p.spec.ns, p.spec.cluster}.ToString());
  if (!p.cluster) {
    *why = absl::StrCat("Cluster ", p.spec.cluster, " not found in namespace ", p.spec.ns);
    return reason::kClusterNotFound;
  }
  ASSIGN_OR_RETURN(p.cluster_spec, ParseCluster(*p.cluster, Defaults{}));
  p.location = p.cluster_spec.FindStorageLocation(p.spec.storage_location);
  if (!p.location) {
    *why =
        absl::StrCat("Cluster ", p.spec.cluster, " has no storage location \"",
                     p.spec.storage_location, "\" (it has: ", LocationNames(p.cluster_spec), ")");
    return reason::kStorageLocationNotFound;
  }
  return nullptr;
}

void BackupReconciler::Fail(Pass& p, const char* why, const std::string& message) {
  p.status.Fail(why, message, kube::FormatRfc3339(p.now));
  spdlog::warn("backup {}: {}: {}", p.object->key().ToString(), why, message);
  seams_.events->Event(*p.object, true, reason::kBackupFailed, absl::StrCat(why, ": ", message));
}

// The checks, then the nodes recorded: from here on the Backup is Running and its nodes fixed.
absl::Status BackupReconciler::Start(Pass& p) {
  if (std::string why; !ReportedReady(*p.cluster, &why)) {
    Fail(p, reason::kClusterNotReady,
         absl::StrCat("Cluster ", p.spec.cluster, " is not Ready (", why,
                      "): a backup needs every member"));
    return absl::OkStatus();
  }
  if (!p.location->IsFilesystem()) {
    auto credentials = access_.ReadCredentials(p.cluster_spec, p.location->s3);
    if (!credentials.ok()) {
      if (absl::IsNotFound(credentials.status()) || absl::IsInvalidArgument(credentials.status())) {
        Fail(p, reason::kCredentialsNotFound, std::string(credentials.status().message()));
        return absl::OkStatus();
      }
      return credentials.status();
    }
  }
  for (const ReportedMember& m : ReportedMembers(*p.cluster)) {
    BackupNodeStatus n;
    n.pod = m.pod;
    n.dc = m.dc;
    n.rack = m.rack;
    n.phase = node_phase::kPending;
    p.status.nodes.push_back(std::move(n));
  }
  if (p.status.nodes.empty()) {
    Fail(p, reason::kClusterNotReady,
         absl::StrCat("Cluster ", p.spec.cluster, " reports no members"));
    return absl::OkStatus();
  }
  p.status.phase = backup_phase::kRunning;
  p.status.start_time = kube::FormatRfc3339(p.now);
  seams_.events->Event(*p.object, false, reason::kBackupStarted,
                       absl::StrCat("backing up ", p.status.nodes.size(), " nodes of ",
                                    p.spec.cluster, " to ", p.spec.storage_location));
  return absl::OkStatus();
}

absl::Status BackupReconciler::Continue(Pass& p) {
  const bool asking = std::any_of(p.status.nodes.begin(), p.status.nodes.end(),
                                  [](const auto& n) { return n.operation.empty(); });
  if (asking) RETURN_IF_ERROR(access_.CopyCredentials(p.cluster_spec));
  absl::Status first_error;
  for (BackupNodeStatus& node : p.status.nodes) {
    if (node.phase == node_phase::kDone) continue;
    absl::Status s = FollowNode(p, node);
    if (p.status.Finished()) return absl::OkStatus();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  if (!first_error.ok()) return first_error;
  const bool all_done = std::all_of(p.status.nodes.begin(), p.status.nodes.end(),
                                    [](const auto& n) { return n.phase == node_phase::kDone; });
  return all_done ? Finish(p) : absl::OkStatus();
}

absl::Status BackupReconciler::FollowNode(Pass& p, BackupNodeStatus& node) {
  auto found = access_.AgentOf(p.cluster_spec, *caches_.pods, node.pod);
  if (absl::IsUnavailable(found.status())) {
    node.message = std::string(found.status().message());
    return absl::OkStatus();  // no address yet
  }
  ASSIGN_OR_RETURN(std::shared_ptr<NodeAgent> agent, std::move(found));

  if (!node.operation.empty()) {
    auto op = agent->Operation(node.operation);
    if (absl::IsNotFound(op.status())) {
      // The agent restarted and forgot it: ask again; what it had stored is not sent twice.
      spdlog::info("backup {}: {} lost operation {}: asking again", p.object->key().ToString(),
                   node.pod, node.operation);
      node.operation.clear();
      node.phase = node_phase::kPending;
      return access_.CopyCredentials(p.cluster_spec);
    }
    if (!op.ok()) {
      node.message = std::string(op.status().message());
      return absl::OkStatus();  // unreachable for now: asked again next pass
    }
    node.files_done = op->files_done;
    node.files_skipped = op->files_skipped;
    node.bytes_total = op->bytes_total;
    node.bytes_sent = op->bytes_sent;
    node.message.clear();
    if (op->state == agent::api::kStateSucceeded) {
      node.phase = node_phase::kDone;
      node.files_total = op->files_total;
      node.manifest = op->manifest;
    } else if (op->state != agent::api::kStateRunning) {
      node.phase = node_phase::kFailed;
      node.message = op->message;
      Fail(p, reason::kNodeBackupFailed, absl::StrCat(node.pod, ": ", op->message));
    }
    return absl::OkStatus();
  }

  agent::api::OperationRequest request;
  request.kind = agent::api::kOpBackup;
  request.backup = p.spec.name;
  request.keyspaces = p.spec.keyspaces;
  request.upload_parallelism = p.spec.upload_parallelism;
  request.bandwidth_bytes_per_second = p.spec.bandwidth_bytes_per_second;
  request.location = StorageAccess::AgentLocation(*p.location);
  auto started = agent->Start(request);
  if (started.ok()) {
    node.operation = started->id;
    node.phase = node_phase::kRunning;
    node.message.clear();
    return absl::OkStatus();
  }
  node.message = std::string(started.status().message());
  absl::Time since;
  if (absl::IsUnavailable(started.status()) &&
      absl::StrContains(node.message, "credentials are not readable") &&
      absl::ParseTime(absl::RFC3339_full, p.status.start_time, &since, nullptr) &&
      p.now - since > options_.credentials_mount_timeout) {
    Fail(
        p, reason::kCredentialsNotMounted,
        absl::StrCat(node.pod, " could not read the credentials copied into Secret ",
                     StorageCredentialsSecretName(p.cluster_spec), " for ",
                     absl::FormatDuration(options_.credentials_mount_timeout), ": ", node.message));
  }
  return absl::OkStatus();  // asked again next pass
}

// Every node's manifest is stored: the index, last, makes the backup complete.
absl::Status BackupReconciler::Finish(Pass& p) {
  backup::Index index;
  index.backup = p.spec.name;
  index.cluster = p.spec.cluster;
  index.ns = p.spec.ns;
  index.started = p.status.start_time;
  index.finished = kube::FormatRfc3339(p.now);
  p.status.bytes = 0;
  p.status.bytes_sent = 0;
  for (const BackupNodeStatus& n : p.status.nodes) {
    index.nodes.push_back({n.pod, n.dc, n.rack, n.manifest, n.bytes_total});
    index.bytes += n.bytes_total;
    p.status.bytes_sent += n.bytes_sent;
  }
  p.status.bytes = index.bytes;
  const std::string key = backup::IndexKey(p.location->Prefix(), p.spec.cluster, p.spec.name);
  ASSIGN_OR_RETURN(const std::unique_ptr<LocationStore> store, OpenLocation(p));
  // Every file each manifest lists is stored whole (a purge of unreferenced files running
  // beside this backup could have taken one it found already stored): else the backup fails.
  ASSIGN_OR_RETURN(BackupVerification verified, VerifyStored(p, *store));
  if (!verified.passed) {
    Fail(p, reason::kNodeBackupFailed,
         absl::StrCat("listed in a manifest but not stored whole: ", verified.problems.front()));
    return absl::OkStatus();
  }
  p.status.verification = std::move(verified);
  if (absl::Status put = store->Put(key, backup::ToJson(index)); !put.ok()) {
    return base::Annotate(put, "write the backup's index");  // retried with backoff
  }
  p.status.phase = backup_phase::kComplete;
  p.status.completion_time = index.finished;
  p.status.index = store->Where(key);
  p.status.reason.clear();
  p.status.message.clear();
  seams_.events->Event(*p.object, false, reason::kBackupComplete,
                       absl::StrCat(p.status.nodes.size(), " nodes, ", p.status.bytes, " bytes, ",
                                    p.status.bytes_sent, " sent: ", p.status.index));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LocationStore>> BackupReconciler::OpenLocation(Pass& p) {
  return access_.Open(p.cluster_spec, *p.cluster, *p.location, storage_, caches_.pods);
}

absl::StatusOr<BackupVerification> BackupReconciler::VerifyStored(Pass& p, LocationStore& store) {
  BackupVerification v;
  v.time = kube::FormatRfc3339(p.now);
  for (const BackupNodeStatus& n : p.status.nodes) {
    auto text = store.Get(n.manifest);
    if (absl::IsNotFound(text.status())) {
      v.problems.push_back(absl::StrCat(n.manifest, ": not stored"));
      continue;
    }
    if (!text.ok()) return base::Annotate(text.status(), "read " + n.manifest);
    ASSIGN_OR_RETURN(const backup::Manifest manifest, backup::ParseManifest(*text));
    const std::string data = backup::DataPrefix({p.location->Prefix(), p.spec.cluster, n.pod});
    ASSIGN_OR_RETURN(const std::vector<StoredObject> stored, store.List(data));
    std::map<std::string, backup::StoredFile> listed;
    for (const StoredObject& o : stored) listed[o.key] = {o.size, o.etag};
    backup::Verification node = backup::VerifyFiles(manifest, listed);
    v.files += node.files;
    v.bytes += node.bytes;
    for (const std::string& problem : node.problems) {
      if (v.problems.size() < BackupVerification::kMaxProblems) {
        v.problems.push_back(absl::StrCat(n.pod, ": ", problem));
      }
    }
  }
  v.passed = v.problems.empty();
  return v;
}

absl::Status BackupReconciler::Reverify(Pass& p, const std::string& request) {
  BackupVerification v;
  std::string why;
  ASSIGN_OR_RETURN(const char* missing, FindLocation(p, &why));
  if (missing) {
    // The location's address and credentials are the Cluster's: without them, no answer.
    v.time = kube::FormatRfc3339(p.now);
    v.problems.push_back(absl::StrCat("storage location unknown: ", why));
  } else {
    ASSIGN_OR_RETURN(const std::unique_ptr<LocationStore> store, OpenLocation(p));
    ASSIGN_OR_RETURN(v, VerifyStored(p, *store));
  }
  v.request = request;
  const std::string summary =
      v.passed ? absl::StrCat(v.files, " files, ", v.bytes, " bytes stored whole")
               : absl::StrCat(v.problems.size(), " problems, e.g. ", v.problems.front());
  spdlog::info("backup {}: verified: {}", p.object->key().ToString(), summary);
  seams_.events->Event(*p.object, !v.passed,
                       v.passed ? reason::kBackupVerified : reason::kBackupVerifyFailed, summary);
  p.status.verification = std::move(v);
  return absl::OkStatus();
}

absl::Status BackupReconciler::WriteStatus(Pass& p) {
  const Json next = ToJson(p.status);
  if (next == ToJson(p.old_status) && FieldAt(p.object->json(), {"status"}).is_object()) {
    return absl::OkStatus();
  }
  Json object = p.object->json();
  object["status"] = next;
  auto written = seams_.status->UpdateStatus(kBackups, kube::Object(std::move(object)));
  if (!written.ok()) return base::Annotate(written.status(), "write the Backup's status");
  written_.Remember(p.object->key().ToString(),
                    std::make_shared<const kube::Object>(*std::move(written)));
  return absl::OkStatus();
}

}  // namespace ringkeeper
