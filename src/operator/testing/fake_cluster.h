// An in-memory cluster for the scenario tests: the seams' honest twin. It holds the objects
// (the informer Stores the reconciler reads, plus Secrets and ServiceAccounts), plays the
// StatefulSet controller and the kubelet (pods per replica at the template's revision, PVCs per
// claim template, PVC protection while a pod uses the claim), and the Cassandra nodes behind
// the agents (a ring with states, tokens and load; bootstrap, replacement, decommission, drain;
// data that lives on the PVC), and CQL (keyspaces with per-DC replication, the superuser).
//
// The world moves only in Tick(); the reconciler's calls act at once, as the API server would.
// Not thread-safe: one test drives it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kube/store.h"
#include "operator/reconciler.h"
#include "operator/repair_schedules.h"
#include "operator/repairs.h"
#include "operator/seams.h"

namespace ringkeeper::testing {

// One Cassandra node: the process in a pod, with its data on the pod's PVC.
struct FakeNode {
  std::string pod;
  std::string pod_uid;  // the pod the process runs in
  std::string address;  // broadcast address (the member Service IP)
  std::string host_id;
  std::string dc, rack;
  std::string state = "N";        // N, J (joining), L (leaving)
  bool up = false;                // the process runs and gossips
  std::string mode = "STARTING";  // NORMAL, JOINING, LEAVING, DECOMMISSIONED, DRAINED
  int ticks_to_normal = 0;        // joining/starting: ticks left
  int ticks_to_leave = 0;         // leaving: ticks left
  int64_t load_bytes = 1 << 20;
  double cpu_cores = 0.05;  // what its process uses while up (a test sets it)
  int64_t cpu_nanos = 0;    // its process's CPU time since it started
  int64_t volume_used_bytes = 10 << 20;
  int64_t volume_total_bytes = 1 << 30;
  bool in_ring = false;
  // The seeds it gossips to (its settings' at start, or what its agent was told since), and
  // whether it replaces its own address: such a node announces a dead state (hibernate) that
  // no peer gossips to unless it lists the node as a seed, and it never learns the ring
  // without their gossip (CASSANDRA-19580). The fake assumes the worst: it stays joining.
  std::vector<std::string> seeds;
  bool replacing = false;
  std::string release_version;  // the Cluster's spec.version when its process started
  std::string rebuilt_from;     // the source data center of its last finished rebuild
};

struct RecordedEvent {
  bool warning;
  std::string reason;
  std::string message;
};

class FakeCluster : public ObjectReader,
                    public ObjectWriter,
                    public StatusWriter,
                    public EventSink,
                    public NodeAgents,
                    public CqlSessions,
                    public Clock {
 public:
  FakeCluster();

  Caches caches() const;
  RepairCaches repair_caches() const;
  RepairScheduleCaches repair_schedule_caches() const;
  Seams seams();

  // The Cluster (full object JSON), created as the API server would (uid, generation 1).
  kube::ObjectKey CreateCluster(kube::Json cluster);
  // JSON merge patch of the Cluster's spec (and metadata): generation +1 when the spec changes.
  void PatchCluster(const kube::Json& patch);
  kube::ObjectPtr Cluster() const;
  kube::Json Status() const;
  // status[field] (a copy), null when absent.
  kube::Json StatusField(const std::string& field) const;
  // The condition of `type`, or null.
  kube::Json Condition(const std::string& type) const;
  bool ConditionTrue(const std::string& type) const;

  // One step of the fake clock.
  static constexpr absl::Duration kTick = absl::Seconds(5);
  // The world moves by one step (kTick): controllers, kubelet, nodes.
  void Tick();
  // Time passes with nothing happening (a certificate nearing its end).
  void AdvanceClock(absl::Duration d) { now_ += d; }

  // Objects, by kind store and name (null when absent).
  kube::ObjectPtr Find(const kube::Resource& r, const std::string& name) const;
  std::vector<kube::ObjectPtr> List(const kube::Resource& r) const;
  int StatefulSetReplicas(const std::string& name) const;
  // Deletes an object as a user would (kubectl delete).
  // `without_grace`: a pod goes at once even when its node is lost (a graceful deletion then
  // waits for a kubelet that never answers).
  void UserDelete(const kube::Resource& r, const std::string& name, bool without_grace = false);
  // Kubernetes nodes (fake_controllers.cc): node-1..3 exist and are Ready from the start. Pods go
  // where their data claim's volume is (volumes are local: a PersistentVolume pinned to the node
  // it was provisioned on), else to the Ready node with the fewest pods.
  void SetKubeNodeReady(const std::string& name, bool ready);
  void DeleteKubeNode(const std::string& name);
  bool KubeNodeReady(const std::string& name) const;
  std::string KubeNodeOf(const std::string& pod) const;
  void UserLabelPod(const std::string& pod, const std::string& key, const std::string& value);
  void UserCreate(const kube::Resource& r, kube::Json object);

  // Nodes, by pod name; null when that pod never ran.
  FakeNode* Node(const std::string& pod);
  // Why Cassandra refuses to decommission the node without force ("" when it does not): its
  // data center would keep no more nodes than a keyspace's factor there.
  std::string DecommissionRefusal(const FakeNode& n) const;
  // Nodes of pods in the ring (joined and not decommissioned).
  std::vector<const FakeNode*> Ring() const;
  // Pods whose node never comes up (a bad image, a refused setting).
  std::set<std::string> never_up;
  // "Kind/name" whose next apply fails (a crash or a refused object mid-pass).
  std::set<std::string> fail_apply_once;
  // "Kind/name" whose next delete fails (a crash or an API error mid-pass).
  std::set<std::string> fail_delete_once;
  // A status write this predicate picks (given the status written) fails, once: the operator
  // stopped between two writes. Cleared when it fires.
  std::function<bool(const kube::Json& status)> fail_status_write;
  // Pods created from this StatefulSet revision crash-loop (a bad image or setting).
  std::string crash_revision;
  // StorageClass `name` (cluster-scoped), created or changed; "standard" (the default class,
  // given to claims that name none) exists from the start and allows expansion.
  void SetStorageClass(const std::string& name, bool allow_expansion);
  static constexpr char kDefaultStorageClass[] = "standard";
  // Pods whose agent does not answer.
  std::set<std::string> agent_down;
  // Agents reached in the wrong way ("pod IP: why"): TLS to a plain one, plain or the wrong
  // certificate to a TLS one.
  std::vector<std::string> agent_tls_refusals;
  // CQL sessions refused for their encryption ("pod: why"): plain to a node whose cassandra.yaml
  // requires client TLS, TLS to one that does not, or a CA not the node Secret's.
  std::vector<std::string> cql_tls_refusals;

  // The cassandra.yaml keys the nodes' Cassandra knows (their agents serve them), and how many
  // times an agent was asked.
  std::set<std::string> config_keys = {"concurrent_compactors", "concurrent_reads",
                                       "concurrent_writes", "compaction_throughput", "num_tokens"};
  int config_key_reads = 0;
  // Each seed list an agent was told to use: "pod: a,b,c".
  std::vector<std::string> seed_changes;
  // Keyspaces: name -> replication map ({"class": ..., "dc1": "3"}); their tables.
  std::map<std::string, kube::Json> keyspaces;
  std::map<std::string, std::set<std::string>> tables;
  std::map<std::string, int64_t> gc_grace_seconds;  // "ks.table" -> (10 days when absent)
  // Repairs the agents run: each takes `repair_ticks` ticks; the next `repairs_to_fail` fail;
  // with `repairs_hang` they run until stop_repairs reaches their coordinator. Compactions
  // pending per pod (NodeInfo).
  int repair_ticks = 1;
  int repairs_to_fail = 0;
  bool repairs_hang = false;
  std::map<std::string, int64_t> pending_compactions;
  // Rebuilds (a joining data center's members) take `rebuild_ticks` ticks; the next
  // `rebuilds_to_fail` fail.
  int rebuild_ticks = 2;
  int rebuilds_to_fail = 0;
  // A Repair's segments (requests with a run key) that succeeded, by "keyspace ranges", and
  // every such request.
  std::map<std::string, int> repaired;
  std::vector<agent::api::OperationRequest> repair_requests;
  int stops = 0;  // stop_repairs asked
  // A keyspace's token ranges and replicas as the agents serve them: 4 tokens per node in the
  // ring, interleaved; replicas the next RF distinct nodes clockwise. NotFound: no keyspace.
  absl::StatusOr<agent::api::RangeMap> RangesOf(const std::string& keyspace) const;
  // The agent of `pod` restarts: it forgets its operations (Cassandra's run on).
  void ForgetOperations(const std::string& pod);
  std::string superuser;  // set by SetupSuperuser

  // What the reconciler did.
  int writes() const { return writes_; }
  std::vector<std::string> write_log;  // "APPLY StatefulSet/x", "DELETE Pod/y", ...
  std::vector<std::string> read_log;   // "GET Secret/x": what the reconciler read past its caches
  std::vector<RecordedEvent> events;
  std::vector<std::string> agent_requests;  // "pod kind" of each started agent operation
  // What a node's volume keeps across restarts: its snapshots (tag -> the version that took it;
  // Cassandra refuses a tag it has) and each upgradesstables run (the version it ran on).
  std::map<std::string, std::map<std::string, std::string>> snapshots;  // by pod
  std::map<std::string, std::vector<std::string>> sstables_upgraded;    // by pod
  bool HasEvent(const std::string& reason) const;

  // ObjectReader / ObjectWriter / StatusWriter.
  absl::StatusOr<kube::Object> Get(const kube::Resource& r, const std::string& ns,
                                   const std::string& name) override;
  absl::StatusOr<kube::Object> Apply(const kube::Resource& r, const kube::Json& object) override;
  absl::StatusOr<kube::Object> Create(const kube::Resource& r, const kube::Json& object) override;
  // Clusters only (the operator changes no other spec): conditional on the resourceVersion.
  absl::StatusOr<kube::Object> Update(const kube::Resource& r, const kube::Json& object) override;
  absl::Status Delete(const kube::Resource& r, const std::string& ns, const std::string& name,
                      const std::string& uid, Deletion how) override;
  absl::StatusOr<kube::Object> UpdateStatus(const kube::Resource& r,
                                            const kube::Object& cluster) override;
  // EventSink.
  void Event(const kube::Object& regarding, bool warning, const std::string& reason,
             const std::string& message) override;
  // NodeAgents.
  // Each agent checks the token against the Secret, and speaks as its pod's template says
  // (agent_credentials.h): plain HTTP, or mutual TLS with the Secret's CA and the operator's
  // certificate. A call in the wrong way fails as the real handshake would, and is counted.
  std::shared_ptr<NodeAgent> For(const std::string& address,
                                 const AgentCredentials& credentials) override;
  // CqlSessions.
  absl::StatusOr<std::unique_ptr<CqlSession>> Connect(const std::string& host,
                                                      const CqlCredentials& login) override;
  absl::Status SetupSuperuser(const std::string& host, const CqlCredentials& superuser) override;
  // Clock.
  absl::Time Now() const override { return now_; }

  // Used by the fake agents and sessions.
  struct AgentOp {
    agent::api::Operation op;
    std::string pod;
    int ticks_left = 1;
    agent::api::OperationRequest request;
    bool fail = false;  // ends failed
  };
  FakeNode* NodeAt(const std::string& pod_ip);
  absl::Status CqlHandshake(const std::string& host, const CqlCredentials& login);
  // The settings the operator wrote for `pod` (what its node starts with).
  agent::api::InitSettings SettingsOf(const std::string& pod) const;
  // Some up peer lists `n` as a seed (so gossips to it whatever its state).
  bool GossipedTo(const FakeNode& n) const;
  absl::StatusOr<agent::api::Operation> StartOperation(const std::string& pod,
                                                       const agent::api::OperationRequest& r);
  absl::StatusOr<agent::api::Operation> GetOperation(const std::string& pod, const std::string& id);
  agent::api::NodeInfo InfoOf(const FakeNode& n) const;
  agent::api::Ring RingView() const;
  bool Serving(const std::string& address) const;  // a node at this address is UN

 private:
  kube::Store* StoreFor(const kube::Resource& r);
  const kube::Store* StoreFor(const kube::Resource& r) const;
  kube::Object Stamp(kube::Json object, const kube::ObjectPtr& old, const kube::Resource& r);
  void Put(const kube::Resource& r, kube::Object object);
  void RunStatefulSetController();
  // A missing pod of a StatefulSet, with its claims (unless an old claim is still going away).
  void CreatePod(const kube::Json& sts_spec, const std::string& pod, const std::string& revision);
  void RemovePodsAbove(const kube::Object& sts, int replicas);
  void RunVolumeResizer();
  void RunPodGarbageCollector();
  // The node a pod with data claim `claim` goes to; "" when it cannot schedule (its volume is
  // pinned to a node that is gone or NotReady). Provisions the claim's volume when it has none.
  std::string ScheduleOnto(const std::string& claim);
  absl::StatusOr<kube::Object> ApplyPart(const kube::ObjectPtr& old, const kube::Resource& r,
                                         const kube::Json& object);
  void RunNodes();
  void StartNode(const kube::Object& pod);
  std::string PvcOf(const std::string& pod) const;

  kube::Store clusters_, statefulsets_, services_, pods_, configmaps_, pvcs_, pdbs_,
      networkpolicies_, secrets_, serviceaccounts_, restores_, repairs_, others_;
  int64_t resource_version_ = 1;
  int uid_counter_ = 0;
  int pod_ip_counter_ = 10;
  int service_ip_counter_ = 10;
  int writes_ = 0;
  absl::Time now_ = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  kube::ObjectKey cluster_key_;
  std::map<std::string, FakeNode> nodes_;           // by pod name
  std::map<std::string, std::string> data_of_pvc_;  // PVC uid -> host id of the data on it
  std::map<std::string, AgentOp> operations_;       // by id
  int op_counter_ = 0;
};

}  // namespace ringkeeper::testing
