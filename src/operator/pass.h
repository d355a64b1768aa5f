// One reconcile pass of one Cluster: what was observed, what has been decided so far, what will
// be reported. Built by ClusterReconciler::Reconcile, handed to each step in turn.
// Not thread-safe (one pass runs on one worker).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/api/api.h"
#include "api/v1alpha1/naming.h"
#include "kube/object.h"
#include "kube/store.h"
#include "operator/autoscaling.h"
#include "operator/desired.h"
#include "operator/reconciler.h"
#include "operator/system_keyspaces.h"
#include "operator/volumes.h"
#include "repair/coverage.h"

namespace ringkeeper {

struct ClusterReconciler::Pass {
  Pass(kube::Object cluster_object, ClusterSpec cluster_spec)
      : cluster(std::move(cluster_object)), spec(std::move(cluster_spec)) {
    const kube::Json& s = cluster.json()["status"];
    old_status = s.is_object() ? s : kube::Json::object();
    if (old_status.contains("operation")) operation = old_status["operation"];
    if (old_status.contains("cleanup")) cleanup = old_status["cleanup"];
    if (old_status.contains("dataCenterJoin")) dc_join = old_status["dataCenterJoin"];
    version = kube::StringField(old_status, "version");
    if (old_status.contains("upgrade")) upgrade = old_status["upgrade"];
    auth_ready = old_status.value("authReady", false);
    if (old_status["restoreFrom"].is_object()) restore_from = old_status["restoreFrom"];
    // A pass that does not reach the autoscale step measured nothing: the timers stop.
    if (old_status.contains("autoscaling")) autoscaling = WithoutTimers(old_status["autoscaling"]);
    if (old_status["systemReplication"].is_object()) {
      system_replication = old_status["systemReplication"];
    }
  }

  Member* Find(const std::string& pod) {
    for (Member& m : members) {
      if (m.pod == pod) return &m;
    }
    return nullptr;
  }
  const Member* Find(const std::string& pod) const { return const_cast<Pass*>(this)->Find(pod); }

  // The first member UN as every node sees it, or null: where the operator opens CQL sessions.
  const Member* FirstUp() const {
    for (const Member& m : members) {
      if (m.up_everywhere && !m.address.empty()) return &m;
    }
    return nullptr;
  }

  // The data center joining (status.dataCenterJoin), "" when none.
  std::string JoiningDc() const { return kube::StringField(dc_join, "dataCenter"); }
  // Its phase (data_center_join.h: join_phase), "" when none.
  std::string JoinPhase() const { return kube::StringField(dc_join, "phase"); }

  // The rack's replicas: as this pass decided them, else its StatefulSet's as observed (before
  // the statefulsets step), 0 without one.
  int ReplicasOf(const std::string& dc, const std::string& rack) const {
    const std::string name = StatefulSetName(spec, dc, rack);
    if (auto it = replicas.find(name); it != replicas.end()) return it->second;
    auto it = statefulsets.find(name);
    return it == statefulsets.end()
               ? 0
               : static_cast<int>(kube::IntField(it->second->json()["spec"], "replicas"));
  }

  // Every rack's StatefulSet has the spec's member count: no scaling decided or under way.
  bool RacksAtSize() const {
    for (const auto& dc : spec.dcs) {
      for (const auto& rack : dc.racks) {
        auto it = replicas.find(StatefulSetName(spec, dc.name, rack.name));
        if (it == replicas.end() || it->second != rack.members) return false;
      }
    }
    return true;
  }

  kube::Object cluster;  // as last read or written (status writes update it)
  ClusterSpec spec;
  kube::Json old_status;  // the status as the API server has it now

  // Observed (caches), by name.
  std::map<std::string, kube::ObjectPtr> statefulsets, services, pods, configmaps, pvcs, pdbs,
      networkpolicies;
  std::vector<Member> members;                                       // rack by rack, ordinal order
  std::vector<std::pair<std::string, agent::api::Ring>> ring_views;  // viewer pod, its ring
  // From the Secret <cluster>-agent-token (agent_credentials.h); found: the Secret exists.
  AgentCredentials agent_credentials;
  bool agent_secret_found = false;

  // Never created (no StatefulSet, never bootstrapped): all members start at once, on tokens
  // computed here.
  bool brand_new = false;

  // Decided in this pass.
  std::map<std::string, kube::ObjectPtr> applied;  // "Kind/name" -> the applied object
  std::map<std::string, std::string> config_hash;  // config ConfigMap name -> hash
  std::map<std::string, int> replicas;             // StatefulSet name -> replicas
  bool bootstrapped = false;
  bool auth_ready = false;
  kube::Json operation;  // status.operation (null: none)
  kube::Json cleanup;    // status.cleanup (null: none)
  // status.dataCenterJoin (null: none): a data center added to the running cluster, joining
  // (joining.cc). Data centers of the spec the running cluster has not started yet: their
  // members get no settings and the scale steps leave them alone until their join begins.
  kube::Json dc_join;
  // status.version: the Cassandra version the cluster was last accepted at (the spec.version its
  // templates run, or go to while an upgrade runs); a refused spec.version leaves it (upgrade.cc).
  std::string version;
  // status.upgrade (null: none): the version change under way — every node's snapshot, then one
  // rack at a time, then upgradesstables after a major (upgrade.cc). Scaling, data center
  // changes, requested replacements and repairs wait for it.
  kube::Json upgrade;
  bool Upgrading() const { return upgrade.is_object(); }
  // status.tls (null: none): the encryption the nodes run, set at creation (node_tls_step.cc);
  // spec.tls within the pass is brought to it. `node_tls_hash` names the nodes' certificate
  // (the templates' config hash carries it: a renewal rolls the pods); `cql_tls` is how the
  // operator's CQL sessions reach the nodes.
  kube::Json tls;
  std::string node_tls_hash;
  cql::TlsOptions cql_tls;
  // status.autoscaling (autoscaling.h): each data center's usage and timer, as the autoscale step
  // left them (their timers stopped when it did not judge them in this pass).
  kube::Json autoscaling;
  // A spec.version accepted but not started yet (the upgrade step starts it once nothing else
  // runs); "" when none.
  std::string upgrade_wanted;
  // The image of a rack's StatefulSet while an upgrade runs (by StatefulSet name): the new
  // version for the racks done and the one rolling, the old one for the rest. Empty: spec.image.
  std::map<std::string, std::string> rack_image;
  std::set<std::string> new_dcs;
  // Data centers taken out of the spec whose StatefulSets remain: their members (listed, not
  // wanted) leave the cluster one at a time (data_center_removal.cc).
  std::set<std::string> leaving_dcs;
  // status.systemReplication: per DC, the replication factor the system keyspaces were brought
  // to and repaired at.
  kube::Json system_replication = kube::Json::object();
  // status.restoreFrom (spec.restoreFrom; null: none) and, while the Cluster is created from a
  // backup, each member's tokens: its source node's (restore_from.cc).
  kube::Json restore_from;
  std::map<std::string, std::vector<std::string>> restore_tokens;
  // Members restarting to replay their commit log for a Restore to a point in time
  // (point_in_time.cc), by pod: what their settings carry, and the pod that restarts.
  struct Replay {
    agent::api::ReplayRequest request;
    std::string pod_uid;
  };
  std::map<std::string, Replay> replays;
  std::string progress_reason, progress_message;
  // Requests refused in this pass, by the type of the condition that says so (ScaleDownRefused,
  // DataCenterChangeRefused): its reason and message (ClusterReconciler::Refuse).
  struct Refusal {
    std::string reason, message;
  };
  std::map<std::string, Refusal> refusals;
  std::string config_refusal;                // unknown keys named; the pods' config is held
  std::vector<RackVolumes> volumes;          // each rack's data volumes against the spec
  std::vector<std::string> volumes_blocked;  // "dc1/r1: StorageClass x does not allow ..."
  // Applies that failed without stopping the pass (one rack's StatefulSet does not hold back
  // the others or the operations); reported as ReconcileError.
  std::vector<absl::Status> apply_errors;
  std::string waiting_in;  // the step that asked to wait
  absl::Duration requeue;
};

// status[field] = value, or the field erased when value is null.
void SetOrErase(kube::Json& status, const char* field, const kube::Json& value);

// Every member that has a pod (but `except`) is UN as every node sees it, and every such node
// answered (operations.cc).
bool AllUp(const ClusterReconciler::Pass& p, const std::string& except = "");

// The restore request a member's `agent init` runs before Cassandra first starts (a Cluster
// created from a backup, until the member joined); kind "" when none (restore_from.cc).
agent::api::OperationRequest MemberRestore(const ClusterReconciler::Pass& p, const Member& m);

// The record of an operation on one member, written to status.operation before it acts.
kube::Json NewOperation(OperationKind kind, const Member& m, Phase phase, absl::Time now);

// The phase status.operation records (nullopt for an unknown one).
std::optional<Phase> PhaseOf(const kube::Json& operation);

// Every keyspace's replication map, from system_schema.keyspaces.
absl::StatusOr<std::map<std::string, kube::Json>> ReadReplication(CqlSession& client);

// Every table (system_schema.tables) with its id and gc_grace_seconds (the other fields unset).
absl::StatusOr<std::vector<repair::TableCoverage>> ReadTables(CqlSession& client);

// ALTER KEYSPACE to NetworkTopologyStrategy with `factors` ({dc: factor}).
absl::Status AlterReplication(CqlSession& session, const std::string& keyspace,
                              const kube::Json& factors);
// Each change altered in turn, then the schema agreed on every node; the steps made ("system_auth
// 1→2 in dc1", for the event), empty when there was no change.
absl::StatusOr<std::vector<std::string>> ApplyReplicationChanges(
    CqlSession& session, const std::vector<ReplicationChange>& changes);

}  // namespace ringkeeper
