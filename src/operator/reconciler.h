// The Cluster reconciler: observe (informer caches + the agents) → compute (desired objects, the
// next action) → act (apply what differs; at most one disruptive action per pass) → report
// (status, written only when it changed). The ordered steps are the table kSteps in
// reconciler.cc; the steps live by concern (README.md: observe.cc, objects.cc, operations.cc,
// scaling.cc, system_replication.cc, lost_nodes.cc, volume_growth.cc, report.cc).
//
// Intent that must survive an operator crash is written to the Cluster's status before it is
// acted on (status.operation, status.bootstrapped, members' bootstrapped flags), so any pass can
// be interrupted and the next one, in this process or the next leader, finishes the job.
//
// Threading: Reconcile runs on the controller's workers, never twice at once for one key;
// RenderPrometheus from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/api/api.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "kube/controller.h"
#include "kube/store.h"
#include "operator/agent_credentials.h"
#include "operator/autoscaling.h"
#include "operator/cluster_metrics.h"
#include "operator/desired.h"
#include "operator/own_writes.h"
#include "operator/seams.h"

namespace ringkeeper {

class BackupStorage;  // storage_access.h

// The informer caches the reconciler reads (owned by main).
struct Caches {
  const kube::Store* clusters = nullptr;
  const kube::Store* statefulsets = nullptr;
  const kube::Store* services = nullptr;
  const kube::Store* pods = nullptr;
  const kube::Store* configmaps = nullptr;
  const kube::Store* pvcs = nullptr;
  const kube::Store* pdbs = nullptr;
  const kube::Store* restores = nullptr;  // a Cluster created from a backup creates its Restore
  const kube::Store* serviceaccounts = nullptr;  // metadata only
  // Every ConfigMap of the watched namespaces, metadata only: whether a rack's own ConfigMap
  // exists and at which version, so its text is read from the API only when it changed.
  const kube::Store* configmap_metadata = nullptr;
  const kube::Store* networkpolicies = nullptr;  // metadata only
};

struct ReconcilerOptions {
  Defaults defaults;
  absl::Duration resync = absl::Seconds(15);  // poll of the nodes when nothing happens
  // Each quiet pass comes back after resync × a random factor in [1 - jitter, 1 + jitter]: a
  // thousand clusters passed at once (an operator start) drift apart instead of polling their
  // agents in one burst every period.
  double resync_jitter = 0.1;
  absl::Duration short_wait = absl::Seconds(5);  // while an operation is under way
  // A roll drains the next pod only once every pod has been Ready this long: clients hear that
  // a restarted node is back from a pushed event and reconnect with a backoff; draining the
  // next one at once can leave a client with no node it sees up.
  absl::Duration roll_settle = absl::Seconds(10);
  // Where each pass reports its gauges (members by state, ready); optional, not owned.
  ClusterMetrics* metrics = nullptr;
  // A pod not Ready this long after its creation is reported as not starting (Degraded).
  absl::Duration start_timeout = absl::Minutes(10);
  // Where a Cluster created from a backup reads it (spec.restoreFrom); not owned.
  BackupStorage* backup_storage = nullptr;
  // Who besides a cluster's own pods may reach its agents' API (AgentNetworkPolicy); no policy
  // while its namespace is unknown.
  OperatorPods operator_pods;
};

// One member (pod) as observed in this pass.
struct Member {
  std::string pod;
  std::string dc;
  std::string rack;
  int ordinal = 0;
  bool wanted = true;          // within the spec or the StatefulSet (else: a pod going away)
  kube::ObjectPtr pod_object;  // null when the pod does not exist
  std::string address;         // the member Service's ClusterIP (broadcast address)
  std::string pod_ip;
  std::string pod_uid;
  std::string revision;  // the pod's controller-revision-hash
  bool pod_ready = false;
  std::optional<agent::api::NodeInfo> info;  // from its own agent
  std::string state;                         // "UN", "UJ", "DN"... as the others see it; "" unknown
  bool up_everywhere = false;                // every view (its own included) has it UN
  bool in_ring = false;                      // some other node's view still lists it
  bool bootstrapped = false;                 // has been UN once (sticky, from status)
  // Why its pod cannot start ("CrashLoopBackOff: ...", "Unschedulable: ..."); "" when none seen.
  std::string trouble;
  // "node n2 deleted, its local volume with it": lost with its Kubernetes node (node_loss.h).
  std::string node_lost;
};

// What keeps a pod from starting, read from its status: a container (init containers
// included) waiting in a crash loop or on an image, an unschedulable pod, or a pod not Ready
// `start_timeout` after it was created. "" when none.
std::string PodTrouble(const kube::Object& pod, absl::Time now, absl::Duration start_timeout);

struct RackVolumes;  // volumes.h

class ClusterReconciler : public kube::Reconciler {
 public:
  // Acts only through `seams` (not owned; they outlive the reconciler).
  ClusterReconciler(Seams seams, Caches caches, ReconcilerOptions options);

  absl::StatusOr<kube::Result> Reconcile(const kube::ObjectKey& key) override;

  struct Pass;  // one reconcile pass of one cluster (reconciler.cc)
  enum class Flow { kContinue, kWait };

 private:
  using StepFn = absl::StatusOr<Flow> (ClusterReconciler::*)(Pass&);
  struct Step {
    const char* name;
    StepFn run;
    bool when_paused;  // runs also when spec.paused (observing and reporting only)
  };
  static const Step kSteps[];

  // observe.cc, objects.cc, report.cc: observe, apply the desired objects, report.
  absl::StatusOr<Flow> Observe(Pass& p);
  absl::StatusOr<Flow> EnsureSecrets(Pass& p);
  absl::StatusOr<Flow> EnsureTls(Pass& p);
  absl::StatusOr<Flow> EnsureServiceAccount(Pass& p);
  absl::StatusOr<Flow> EnsureServices(Pass& p);
  absl::StatusOr<Flow> EnsureConfig(Pass& p);
  absl::StatusOr<Flow> EnsureMemberSettings(Pass& p);
  // The user's cassandra.yaml overrides for `rack` (its configMapName's cassandra.yaml).
  absl::StatusOr<kube::Json> RackOverrides(Pass& p, const RackSpec& rack);
  // Of `keys`, those the running Cassandra version does not know, asked of an agent running
  // spec.version (cached per version). Empty when none can tell: a pod's init refuses them then.
  std::vector<std::string> UnknownConfigKeys(Pass& p, const std::set<std::string>& keys);
  absl::StatusOr<Flow> EnsureStatefulSets(Pass& p);
  absl::StatusOr<Flow> EnsurePdbs(Pass& p);
  absl::StatusOr<Flow> EnsureNetworkPolicy(Pass& p);
  // volume_growth.cc: claims raised to the spec's size, StatefulSets re-created to match.
  absl::StatusOr<Flow> GrowVolumes(Pass& p);
  absl::StatusOr<Flow> RecreateStatefulSets(Pass& p);
  absl::StatusOr<Flow> ContinueRecreateStatefulSet(Pass& p);
  // Why the claims of `v` cannot grow ("StorageClass x does not allow volume expansion"); ""
  // when every one's class allows it.
  absl::StatusOr<std::string> WhyNotExpandable(const RackVolumes& v);
  // The replicas a rack's missing StatefulSet is created with after the cluster was created.
  static int ReplicasOfMissing(const Pass& p, const std::string& dc, const std::string& rack);
  absl::StatusOr<Flow> TrackBootstrap(Pass& p);
  // joining.cc: a data center added to the running cluster (data_center_join.h). JoinDataCenter
  // notices it and records the join before the settings and StatefulSets are written;
  // RebuildDataCenter, the last step, has keyspaces replicate to it and its members rebuild.
  absl::StatusOr<Flow> JoinDataCenter(Pass& p);
  absl::StatusOr<Flow> RebuildDataCenter(Pass& p);
  // data_center_removal.cc: a data center taken out of the spec leaves the cluster.
  absl::StatusOr<Flow> RemoveDataCenter(Pass& p);
  // Writes status.dataCenterJoin (or clears it with a null) now, before acting on it.
  absl::Status RecordJoin(Pass& p, const kube::Json& join);
  absl::StatusOr<Flow> ReplicateSystemKeyspaces(Pass& p);  // system_replication.cc
  // upgrade.cc: spec.version judged against the version accepted (status.version) and every
  // version a member runs: an unsupported path refused (the pass goes on at the accepted
  // version), a supported one accepted and recorded before any template changes.
  absl::StatusOr<Flow> PlanVersion(Pass& p);
  // upgrade.cc: an accepted version change of a running cluster (status.upgrade): started once
  // nothing else runs, then every node's snapshot, one rack at a time, upgradesstables after a
  // major. Scaling, data center changes, requested replacements and repairs wait for it.
  absl::StatusOr<Flow> Upgrade(Pass& p);
  std::string UpgradeBlocker(const Pass& p) const;
  absl::StatusOr<Flow> SnapshotForUpgrade(Pass& p);
  absl::StatusOr<Flow> RollUpgradeRack(Pass& p);
  absl::StatusOr<Flow> UpgradeSSTables(Pass& p);
  absl::StatusOr<Flow> FinishUpgrade(Pass& p, kube::Json upgrade);
  absl::StatusOr<Flow> EnsureSuperuser(Pass& p);
  // restore_from.cc: a Cluster created from a backup: its members paired with the backup's
  // nodes and given their tokens before any is created; its Restore once it is Ready.
  absl::StatusOr<Flow> PlanRestoreFrom(Pass& p);
  absl::StatusOr<Flow> RestoreFromBackup(Pass& p);
  // point_in_time.cc: a Restore to a point in time asks each member in turn to restart with
  // its commit log replay in its settings (p.replays, read before the settings are written);
  // the restart is a Restart operation (drained first, only while every other member is up).
  absl::StatusOr<Flow> FindReplays(Pass& p);
  absl::StatusOr<Flow> RestartForReplay(Pass& p);
  // operations.cc, scaling.cc: the disruptive operations and their safety rules.
  absl::StatusOr<Flow> ContinueOperation(Pass& p);
  absl::StatusOr<Flow> StartRequestedReplacement(Pass& p);
  // lost_nodes.cc: members lost with their Kubernetes node (node_loss.h).
  struct LostMember {
    std::string node, why;
    bool local_volume = false;  // the member's volume was pinned to that node
    std::string pod_uid, pvc_uid;
  };
  absl::StatusOr<std::optional<LostMember>> LostWithItsNode(Pass& p, const Member& m);
  absl::StatusOr<Flow> ReplaceOnLostNodes(Pass& p);
  absl::StatusOr<Flow> RollPods(Pass& p);
  absl::StatusOr<Flow> ScaleUp(Pass& p);
  absl::StatusOr<Flow> Cleanup(Pass& p);
  absl::StatusOr<Flow> ScaleDown(Pass& p);
  // autoscaling_step.cc (autoscaling.h): spec.autoscaling's maximum checked against every data
  // center's size early in the pass; a data center grown by one last, in a settled pass only.
  absl::StatusOr<Flow> CheckAutoscaling(Pass& p);
  absl::StatusOr<Flow> Autoscale(Pass& p);
  static bool Settled(const Pass& p);
  // Records a refusal for the condition `type` (True, with this reason and message) and sends a
  // Warning event (of `event_reason`, else `reason`) unless the condition already says so: one
  // event per new refusal, not one per pass. The pass goes on with what does not depend on the
  // refused request.
  Flow Refuse(Pass& p, const char* type, const char* reason, const std::string& message,
              const char* event_reason = nullptr);
  // Refuse for the ScaleDownRefused condition (its events all of reason ScaleDownRefused).
  Flow RefuseScaleDown(Pass& p, const char* reason, const std::string& message);

  absl::StatusOr<Flow> ContinueDecommission(Pass& p);
  absl::StatusOr<Flow> ContinueReplace(Pass& p);
  // While `m` replaces its own address, every up peer lists it as a seed (operations.cc).
  absl::Status SeedReplacement(Pass& p, const Member& m);
  // Once it is done, those peers are given their settings' seeds again.
  void UnseedReplacement(Pass& p);
  // The members' settings as written in their ConfigMaps (what their pods started with), by pod.
  static std::map<std::string, agent::api::InitSettings> WrittenSettings(const Pass& p);
  absl::StatusOr<Flow> ContinueRestart(Pass& p);
  absl::StatusOr<Flow> ContinueSystemReplication(Pass& p);
  // Phase Altering: the factors of `op` applied, agreed on, and the repairs they need recorded.
  absl::Status AlterSystemKeyspaces(Pass& p, kube::Json& op);
  // Polls the recorded repair of `keyspace` on `m`: kContinue once it is done with (succeeded,
  // or given up on after 5 failures), kWait while it runs or is retried.
  absl::StatusOr<Flow> FollowRepair(Pass& p, kube::Json& op, const Member& m,
                                    const std::string& keyspace);
  // The system keyspaces' factor in `dc` lowered to its new size (scale_down.h).
  absl::Status LowerSystemKeyspaces(Pass& p, CqlSession& session,
                                    const std::map<std::string, kube::Json>& replication,
                                    const DataCenterSpec& dc);
  // Every DC's system keyspaces are at min(3, its size), repaired.
  static bool SystemKeyspacesReplicated(const Pass& p);
  // Every pod runs its StatefulSet's current template (Ready requires it: a config or version
  // change is not done until the roll is).
  static bool PodsAtCurrentRevision(const Pass& p);
  // The rack's current template revision, "" while its controller has not caught up with us.
  static std::string CurrentRevision(const Pass& p, const std::string& dc, const std::string& rack);
  // CQL as the superuser, or as cassandra/cassandra before the superuser exists.
  absl::StatusOr<std::unique_ptr<CqlSession>> AdminSession(Pass& p);

  // The one way a rack's StatefulSet is written: the spec's, at `replicas` (recorded in
  // p.replicas), with the claim template the existing one has (volumes.h).
  absl::Status ApplyStatefulSet(Pass& p, const std::string& dc, const RackSpec& rack, int replicas);
  // Applies `desired` (server-side apply) unless `observed` was applied from the same content.
  absl::Status Apply(Pass& p, const kube::Resource& r, kube::Json desired,
                     const kube::ObjectPtr& observed);
  // Apply against the observed object of the same name; a failure is noted in p.apply_errors
  // (reported as ReconcileError) without stopping the pass.
  void ApplyOrNote(Pass& p, const kube::Resource& r, kube::Json desired,
                   const std::map<std::string, kube::ObjectPtr>& observed);
  // Writes status.operation (or clears it with a null) now, before acting on it.
  absl::Status RecordOperation(Pass& p, const kube::Json& operation);
  // Starts an operation: records it (before any of it is done), announces it with an event,
  // and asks to look again soon.
  absl::Status BeginOperation(Pass& p, const kube::Json& operation, bool warning,
                              const char* reason, const std::string& message);
  // Records that the current operation moved on to `phase`.
  absl::Status AdvanceOperation(Pass& p, Phase phase);
  // Deletes `name` only while it is still the object with `uid` (a pass acting on an old
  // observation never deletes its successor); already gone or replaced counts as done.
  absl::Status DeleteIfSame(Pass& p, const kube::Resource& r, const std::string& name,
                            const std::string& uid, Deletion how = Deletion::kGraceful);
  absl::Status WriteStatus(Pass& p, const kube::Json& status);
  // `written` (our write of the Cluster, spec or status) is the pass's Cluster from now on, and
  // is what the next pass starts from until the cache has it (OwnWrites).
  void KeepWritten(Pass& p, kube::Object written);
  // status.<field> set to `value` (erased when null) and written now, before acting on it.
  absl::Status WriteStatusField(Pass& p, const char* field, const kube::Json& value);
  absl::Status Report(Pass& p, const absl::Status& step_error);
  absl::StatusOr<CqlCredentials> SuperuserCredentials(Pass& p);
  // The agent of `m` (at its pod's IP), in the way its pod serves (agent_credentials.h).
  std::shared_ptr<NodeAgent> Agent(Pass& p, const Member& m);
  void Event(Pass& p, bool warning, const char* reason, const std::string& message);

  const Seams seams_;
  const Caches caches_;
  const ReconcilerOptions options_;

  AgentCredentialsCache agent_credentials_;
  mutable std::mutex mu_;  // guards the maps below
  // Cluster uid -> each member's tokens from the backup (spec.restoreFrom), once planned.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> restore_tokens_;
  OwnWrites written_;  // the Cluster as our last write left it
  // Cassandra version -> the cassandra.yaml keys it knows (from an agent running it).
  std::map<std::string, std::set<std::string>> config_keys_;
  // Cluster uids whose generated superuser Secret was seen (read or created) since this process
  // started: a pass before auth is set up asks the API only until then. Forgotten when a read
  // finds it gone, so the next pass creates it again.
  std::set<std::string> superuser_secret_seen_;
  // A rack ConfigMap's overrides as last read ("ns/name" -> its resourceVersion and them).
  struct RackConfigRead {
    std::string resource_version;
    kube::Json overrides;
  };
  std::map<std::string, RackConfigRead> rack_configs_;
  // "<uid>/<generation>" of the Clusters whose commit log archive credentials were copied.
  std::set<std::string> archive_credentials_copied_;
  // The members' CPU readings, for spec.autoscaling.cpuUsedPercent (its own lock).
  CpuRates cpu_rates_;
};

}  // namespace ringkeeper
