#include "operator/reconciler.h"

#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "operator/desired.h"
#include "operator/pass.h"

// The pass loop and the writes every step shares. The steps live by concern: observe.cc (what
// is there), objects.cc (the desired objects, the superuser), volume_growth.cc, operations.cc,
// lost_nodes.cc (the disruptive operations), report.cc (status and conditions).
namespace ringkeeper {

using kube::Json;
namespace res = kube::resources;

// The steps of a pass, in order. A step returning kWait ends the pass there (the rest needs
// what it waits for); status is reported after every pass, whatever happened.
const ClusterReconciler::Step ClusterReconciler::kSteps[] = {
    {"observe", &ClusterReconciler::Observe, true},
    {"secrets", &ClusterReconciler::EnsureSecrets, false},
    {"tls", &ClusterReconciler::EnsureTls, false},
    {"service-account", &ClusterReconciler::EnsureServiceAccount, false},
    {"services", &ClusterReconciler::EnsureServices, false},
    {"autoscaling-limits", &ClusterReconciler::CheckAutoscaling, false},
    {"version", &ClusterReconciler::PlanVersion, false},
    {"config", &ClusterReconciler::EnsureConfig, false},
    {"restore-from", &ClusterReconciler::PlanRestoreFrom, false},
    {"replays", &ClusterReconciler::FindReplays, false},
    {"dc-join", &ClusterReconciler::JoinDataCenter, false},
    {"member-settings", &ClusterReconciler::EnsureMemberSettings, false},
    {"statefulsets", &ClusterReconciler::EnsureStatefulSets, false},
    {"volumes", &ClusterReconciler::GrowVolumes, false},
    {"pdbs", &ClusterReconciler::EnsurePdbs, false},
    {"network-policy", &ClusterReconciler::EnsureNetworkPolicy, false},
    {"bootstrap", &ClusterReconciler::TrackBootstrap, true},
    {"system-keyspaces", &ClusterReconciler::ReplicateSystemKeyspaces, false},
    {"superuser", &ClusterReconciler::EnsureSuperuser, false},
    {"restore-data", &ClusterReconciler::RestoreFromBackup, false},
    {"operation", &ClusterReconciler::ContinueOperation, false},
    {"volume-templates", &ClusterReconciler::RecreateStatefulSets, false},
    {"lost-nodes", &ClusterReconciler::ReplaceOnLostNodes, false},
    {"replace-requests", &ClusterReconciler::StartRequestedReplacement, false},
    {"replay-restarts", &ClusterReconciler::RestartForReplay, false},
    {"upgrade", &ClusterReconciler::Upgrade, false},
    {"rolling-restart", &ClusterReconciler::RollPods, false},
    {"scale-up", &ClusterReconciler::ScaleUp, false},
    {"cleanup", &ClusterReconciler::Cleanup, false},
    {"scale-down", &ClusterReconciler::ScaleDown, false},
    {"dc-removal", &ClusterReconciler::RemoveDataCenter, false},
    {"dc-rebuild", &ClusterReconciler::RebuildDataCenter, false},
    {"autoscale", &ClusterReconciler::Autoscale, false},  // last: only when nothing else runs
};

ClusterReconciler::ClusterReconciler(Seams seams, Caches caches, ReconcilerOptions options)
    : seams_(seams),
      caches_(caches),
      options_(std::move(options)),
      agent_credentials_(seams.reader) {}

namespace {

absl::Duration Jittered(absl::Duration d, double jitter) {
  if (jitter <= 0) return d;
  static thread_local std::mt19937 rng(std::random_device{}());
  return d * std::uniform_real_distribution<double>(1 - jitter, 1 + jitter)(rng);
}

}  // namespace

absl::StatusOr<kube::Result> ClusterReconciler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr cluster = caches_.clusters->Get(key.ToString());
  if (!cluster || cluster->being_deleted()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.metrics) options_.metrics->Remove(key);
    written_.Forget(key.ToString());
    return kube::Result{};  // owned objects go with it (owner references)
  }
  cluster = written_.Newest(key.ToString(), cluster);  // read our own writes
  auto spec = ParseCluster(*cluster, options_.defaults);
  if (!spec.ok()) return kube::TerminalError(spec.status());

  Pass p(*cluster, *std::move(spec));
  p.requeue = Jittered(options_.resync, options_.resync_jitter);
  absl::Status error;
  for (const Step& step : kSteps) {
    if (p.spec.paused && !step.when_paused) continue;
    auto flow = (this->*step.run)(p);
    if (!flow.ok()) {
      error = base::Annotate(flow.status(), step.name);
      break;
    }
    if (*flow == Flow::kWait) {
      p.waiting_in = step.name;
      break;
    }
  }
  if (error.ok() && !p.apply_errors.empty()) {
    // The pass went on past these; they are reported (ReconcileError) and retried with backoff.
    std::vector<std::string> messages;
    for (const absl::Status& e : p.apply_errors) messages.emplace_back(e.message());
    error = absl::Status(p.apply_errors.front().code(), absl::StrJoin(messages, "; "));
  }
  if (absl::Status reported = Report(p, error); error.ok()) error = reported;
  if (!error.ok()) {
    if (kube::IsConflict(error)) return kube::Result{absl::Seconds(1)};  // stale cache: again
    return error;
  }
  return kube::Result{p.requeue};
}

absl::Status ClusterReconciler::Apply(Pass& p, const kube::Resource& r, Json desired,
                                      const kube::ObjectPtr& observed) {
  desired = WithAppliedHash(std::move(desired));
  if (observed && AppliedFrom(desired, *observed)) return absl::OkStatus();
  auto applied = seams_.writer->Apply(r, desired);
  if (!applied.ok()) {
    return base::Annotate(
        applied.status(),
        absl::StrCat("apply ", r.kind, " ", kube::StringField(desired["metadata"], "name")));
  }
  spdlog::debug("cluster {}: applied {} {}", p.cluster.key().ToString(), r.kind, applied->name());
  p.applied[absl::StrCat(r.kind, "/", applied->name())] =
      std::make_shared<const kube::Object>(*applied);
  return absl::OkStatus();
}

absl::Status ClusterReconciler::WriteStatus(Pass& p, const Json& status) {
  kube::Object next = p.cluster;
  next.json()["status"] = status;
  auto written = seams_.status->UpdateStatus(kClusters, next);
  if (!written.ok()) return written.status();
  p.old_status = status;
  KeepWritten(p, *std::move(written));
  return absl::OkStatus();
}

void ClusterReconciler::KeepWritten(Pass& p, kube::Object written) {
  p.cluster = std::move(written);
  std::lock_guard<std::mutex> lock(mu_);
  written_.Remember(p.cluster.key().ToString(), std::make_shared<const kube::Object>(p.cluster));
}

void SetOrErase(Json& status, const char* field, const Json& value) {
  if (value.is_null()) {
    status.erase(field);
  } else {
    status[field] = value;
  }
}

absl::Status ClusterReconciler::WriteStatusField(Pass& p, const char* field, const Json& value) {
  Json status = p.old_status;
  SetOrErase(status, field, value);
  return WriteStatus(p, status);
}

absl::Status ClusterReconciler::RecordOperation(Pass& p, const Json& operation) {
  RETURN_IF_ERROR(WriteStatusField(p, "operation", operation));
  if (operation.is_null() && !p.operation.is_null() && options_.metrics) {
    if (auto started = kube::ParseRfc3339(kube::StringField(p.operation, "startedAt"))) {
      options_.metrics->OperationDone(p.cluster.key(), kube::StringField(p.operation, "kind"),
                                      absl::ToDoubleSeconds(seams_.clock->Now() - *started));
    }
  }
  p.operation = operation;
  return absl::OkStatus();
}

absl::Status ClusterReconciler::BeginOperation(Pass& p, const Json& operation, bool warning,
                                               const char* reason, const std::string& message) {
  RETURN_IF_ERROR(RecordOperation(p, operation));
  Event(p, warning, reason, message);
  p.requeue = options_.short_wait;
  return absl::OkStatus();
}

absl::Status ClusterReconciler::AdvanceOperation(Pass& p, Phase phase) {
  Json operation = p.operation;
  operation["phase"] = ToString(phase);
  return RecordOperation(p, operation);
}

absl::Status ClusterReconciler::DeleteIfSame(Pass& p, const kube::Resource& r,
                                             const std::string& name, const std::string& uid,
                                             Deletion how) {
  absl::Status deleted = seams_.writer->Delete(r, p.spec.ns, name, uid, how);
  // Conflict: the precondition failed, the name now belongs to a successor.
  if (absl::IsNotFound(deleted) || kube::IsConflict(deleted)) return absl::OkStatus();
  return deleted;
}

std::shared_ptr<NodeAgent> ClusterReconciler::Agent(Pass& p, const Member& m) {
  return seams_.agents->For(m.pod_ip, CredentialsFor(p.agent_credentials, m.pod_object.get()));
}

void ClusterReconciler::Event(Pass& p, bool warning, const char* reason,
                              const std::string& message) {
  spdlog::info("cluster {}: {}: {}", p.cluster.key().ToString(), reason, message);
  seams_.events->Event(p.cluster, warning, reason, message);
}

ClusterReconciler::Flow ClusterReconciler::Refuse(Pass& p, const char* type, const char* reason,
                                                  const std::string& message,
                                                  const char* event_reason) {
  p.refusals[type] = {reason, message};
  bool already = false;
  for (const auto& c : p.old_status["conditions"]) {
    already |= kube::StringField(c, "type") == type && kube::StringField(c, "status") == "True" &&
               kube::StringField(c, "message") == message;
  }
  if (!already) Event(p, true, event_reason ? event_reason : reason, message);
  return Flow::kContinue;
}

}  // namespace ringkeeper
