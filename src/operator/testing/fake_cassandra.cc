// The fake cluster's Cassandra side: a node per pod (started by the kubelet once its settings
// and volume exist, with its data on the PVC), the ring they form, the agents that answer for
// them (token checked, operations run over ticks) and CQL sessions (keyspaces, the superuser).
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/status_macros.h"
#include "kube/resource.h"
#include "operator/agent_credentials.h"
#include "operator/desired.h"
#include "operator/testing/fake_cluster.h"
#include "pki/pki.h"

namespace ringkeeper::testing {
namespace {

using kube::Json;
namespace res = kube::resources;
namespace api = agent::api;

bool PodReadyIn(const Json& pod) {
  for (const auto& c : pod["status"]["conditions"]) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

class FakeAgent : public NodeAgent {
 public:
  FakeAgent(FakeCluster& world, std::string pod_ip, bool token_ok, std::string tls_refused)
      : world_(world),
        pod_ip_(std::move(pod_ip)),
        token_ok_(token_ok),
        tls_refused_(std::move(tls_refused)) {}

  absl::StatusOr<api::NodeInfo> NodeInfo() override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(true));
    return world_.InfoOf(*n);
  }
  absl::StatusOr<api::Ring> Ring() override {
    RETURN_IF_ERROR(Reach(true).status());
    return world_.RingView();
  }
  absl::StatusOr<api::Operation> Start(const api::OperationRequest& request) override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(false));
    return world_.StartOperation(n->pod, request);
  }
  absl::StatusOr<api::Operation> Operation(const std::string& id) override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(false));
    return world_.GetOperation(n->pod, id);
  }
  absl::StatusOr<api::ConfigKeys> ConfigKeys() override {
    RETURN_IF_ERROR(Reach(false).status());
    ++world_.config_key_reads;
    return api::ConfigKeys{{world_.config_keys.begin(), world_.config_keys.end()}};
  }
  absl::StatusOr<api::RangeMap> Ranges(const std::string& keyspace) override {
    RETURN_IF_ERROR(Reach(true).status());
    return world_.RangesOf(keyspace);
  }
  absl::StatusOr<api::SeedList> SetSeeds(const std::vector<std::string>& seeds) override {
    ASSIGN_OR_RETURN(FakeNode * n, Reach(true));
    n->seeds = seeds;
    world_.seed_changes.push_back(absl::StrCat(n->pod, ": ", absl::StrJoin(seeds, ",")));
    api::SeedList now;
    for (const std::string& s : seeds) {
      if (s != n->address) now.seeds.push_back(s);
    }
    return now;
  }
  absl::StatusOr<api::StorageReply> Storage(const api::StorageRequest&) override {
    return absl::UnimplementedError("the fake cluster's agents mount no storage location");
  }

 private:
  // The agent answers when its pod runs; node figures need Cassandra up behind it.
  absl::StatusOr<FakeNode*> Reach(bool need_cassandra) {
    if (!tls_refused_.empty()) {
      world_.agent_tls_refusals.push_back(absl::StrCat(pod_ip_, ": ", tls_refused_));
      return absl::UnavailableError("agent: " + tls_refused_);
    }
    if (!token_ok_) return absl::UnauthenticatedError("agent: bad token");
    FakeNode* n = world_.NodeAt(pod_ip_);
    if (!n || world_.agent_down.count(n->pod) || !world_.KubeNodeReady(world_.KubeNodeOf(n->pod))) {
      return absl::UnavailableError(absl::StrCat("agent at ", pod_ip_, " unreachable"));
    }
    if (need_cassandra && !n->up) return absl::UnavailableError("Cassandra is not up");
    return n;
  }

  FakeCluster& world_;
  const std::string pod_ip_;
  const bool token_ok_;
  const std::string tls_refused_;
};

class FakeSession : public CqlSession {
 public:
  explicit FakeSession(FakeCluster& world) : world_(world) {}
  absl::StatusOr<cql::ResultSet> Query(const std::string& statement, cql::Consistency) override {
    cql::ResultSet out;
    if (absl::StartsWith(statement, "SELECT keyspace_name, replication FROM")) {
      for (const auto& [ks, replication] : world_.keyspaces) {
        out.rows.push_back({{{"keyspace_name", ks}, {"replication", replication.dump()}}});
      }
      return out;
    }
    if (absl::StartsWith(statement,
                         "SELECT keyspace_name, table_name, gc_grace_seconds, id FROM")) {
      for (const auto& [ks, tables] : world_.tables) {
        for (const std::string& t : tables) {
          auto gc = world_.gc_grace_seconds.find(ks + "." + t);
          out.rows.push_back(
              {{{"keyspace_name", ks},
                {"table_name", t},
                {"gc_grace_seconds",
                 std::to_string(gc == world_.gc_grace_seconds.end() ? 864000 : gc->second)}}});
        }
      }
      return out;
    }
    if (absl::StartsWith(statement, "ALTER KEYSPACE ")) {
      const std::string rest = statement.substr(15);
      const std::string ks = rest.substr(0, rest.find(' '));
      const size_t open = rest.find('{');
      Json replication =
          Json::parse(absl::StrReplaceAll(rest.substr(open), {{"'", "\""}}), nullptr, false);
      if (!world_.keyspaces.count(ks) || !replication.is_object()) {
        return absl::FailedPreconditionError("fake CQL: bad ALTER " + statement);
      }
      for (auto& [k, v] : replication.items()) {
        if (v.is_number()) v = std::to_string(v.get<int>());
      }
      // Cassandra 5.0 refuses a system_auth replication that leaves out (or sets 0 for) a data
      // center whose nodes are in the ring.
      if (ks == "system_auth") {
        std::set<std::string> missing;
        for (const FakeNode* n : world_.Ring()) {
          if (replication.value(n->dc, "0") == "0") missing.insert(n->dc);
        }
        if (!missing.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "Following datacenters have active nodes and must be present in replication "
              "options for keyspace system_auth: [",
              absl::StrJoin(missing, ", "), "]"));
        }
      }
      world_.keyspaces[ks] = replication;
      return out;
    }
    return absl::UnimplementedError("fake CQL does not know: " + statement);
  }
  absl::Status WaitForSchemaAgreement(absl::Duration) override { return absl::OkStatus(); }

 private:
  FakeCluster& world_;
};

}  // namespace

agent::api::InitSettings FakeCluster::SettingsOf(const std::string& pod) const {
  for (const auto& cm : configmaps_.List()) {
    const Json& data = cm->json()["data"];
    if (data.is_object() && data.contains(pod + ".json")) {
      return Json::parse(data[pod + ".json"].get<std::string>()).get<api::InitSettings>();
    }
  }
  return {};
}

void FakeCluster::StartNode(const kube::Object& pod) {
  FakeNode& n = nodes_[pod.name()];
  n.pod = pod.name();
  const api::InitSettings settings = SettingsOf(pod.name());
  if (settings.broadcast_address.empty()) return;  // agent init fails: no settings yet
  n.address = settings.broadcast_address;
  n.dc = settings.dc;
  n.rack = settings.rack;
  kube::ObjectPtr pvc = Find(res::kPersistentVolumeClaims, PvcOf(pod.name()));
  if (!pvc) return;
  n.up = true;
  n.pod_uid = pod.uid();
  // The version its image runs (the tag of the pod's cassandra container: the one its
  // StatefulSet's template had when the pod was created), as a real node reports.
  n.release_version = kube::StringField(Cluster()->json()["spec"], "version");
  for (const auto& c : pod.json()["spec"]["containers"]) {
    const std::string image = kube::StringField(c, "image");
    if (kube::StringField(c, "name") == "cassandra" && image.find(':') != std::string::npos) {
      n.release_version = image.substr(image.rfind(':') + 1);
    }
  }
  n.mode = "STARTING";
  n.cpu_nanos = 0;  // a new process
  n.ticks_to_normal = 1;
  n.seeds = settings.seeds;
  n.replacing = false;
  std::string& data = data_of_pvc_[pvc->uid()];
  if (!data.empty()) {
    n.host_id = data;  // restart on its own data
    return;
  }
  // An empty volume: a fresh node, a replacement of a member that had joined, or a bootstrap.
  const bool replacing = settings.member_joined_before && n.in_ring;
  n.replacing = replacing;
  if (replacing) std::erase(n.seeds, n.address);  // as agent init does: a seed never bootstraps
  if (!replacing) n.host_id = absl::StrCat("host-", ++uid_counter_);
  data = n.host_id;
  n.in_ring = true;
  if (replacing || settings.auto_bootstrap) {
    n.state = "J";
    n.mode = "JOINING";
    n.ticks_to_normal = 2;
  } else {
    n.state = "N";
  }
}

bool FakeCluster::GossipedTo(const FakeNode& n) const {
  for (const auto& [pod, peer] : nodes_) {
    if (pod != n.pod && peer.up && peer.mode == "NORMAL" &&
        std::find(peer.seeds.begin(), peer.seeds.end(), n.address) != peer.seeds.end()) {
      return true;
    }
  }
  return false;
}

void FakeCluster::RunNodes() {
  for (auto& [name, n] : nodes_) {
    kube::ObjectPtr pod = Find(res::kPods, name);
    if (!pod) n.up = false;
    if (!n.up) continue;
    n.cpu_nanos += std::llround(n.cpu_cores * absl::ToDoubleSeconds(kTick) * 1e9);
    if (n.replacing && !GossipedTo(n)) continue;  // hibernating, unheard: joins no further
    if (n.ticks_to_normal > 0 && --n.ticks_to_normal == 0) {
      n.state = "N";
      n.mode = "NORMAL";
      n.replacing = false;
    }
    if (n.ticks_to_leave > 0 && --n.ticks_to_leave == 0) {
      n.in_ring = false;
      n.mode = "DECOMMISSIONED";
    }
  }
  // Pods without a running node start one (the kubelet runs the containers) on a Ready node.
  for (const auto& pod : pods_.List()) {
    FakeNode* n = Node(pod->name());
    const std::string kube_node = kube::StringField(pod->json()["spec"], "nodeName");
    if (kube_node.empty() || !KubeNodeReady(kube_node)) {
      if (n && n->pod_uid == pod->uid()) n->up = false;  // its machine is gone or unreachable
      continue;
    }
    const bool crashes =
        never_up.count(pod->name()) ||
        (!crash_revision.empty() && pod->label("controller-revision-hash") == crash_revision);
    if (crashes) {
      if (n) n->up = false;  // crash-looping: never gossips
      // As the kubelet does: waiting in back-off, then running again for a while (no waiting
      // reason, only the last crash to tell) before the next crash, one step per tick.
      Json j = pod->json();
      const Json& was = kube::FieldAt(j, {"status", "containerStatuses"});
      const int64_t restarts =
          was.is_array() && !was.empty() ? kube::IntField(was[0], "restartCount") : 0;
      const bool backing_off =
          was.is_array() && !was.empty() && kube::FieldAt(was[0], {"state", "waiting"}).is_object();
      Json state =
          backing_off
              ? Json{{"running", {{"startedAt", kube::FormatRfc3339(now_)}}}}
              : Json{{"waiting",
                      {{"reason", "CrashLoopBackOff"},
                       {"message", "back-off 5m0s restarting failed container=cassandra"}}}};
      j["status"]["containerStatuses"] =
          Json::array({{{"name", "cassandra"},
                        {"ready", false},
                        {"restartCount", backing_off ? restarts + 1 : restarts},
                        {"state", state},
                        {"lastState", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}}}});
      j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
      pods_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
      continue;
    }
    if (!n || n->pod_uid != pod->uid() || !n->up) StartNode(*pod);
  }
  // Readiness: the agent's /readyz (UN as the peers see it, CQL open).
  for (const auto& pod : pods_.List()) {
    FakeNode* n = Node(pod->name());
    const bool ready = n && n->up && n->in_ring && n->state == "N" && n->mode == "NORMAL";
    Json j = pod->json();
    if (PodReadyIn(j) == ready) continue;
    j["status"]["conditions"] = {{{"type", "Ready"},
                                  {"status", ready ? "True" : "False"},
                                  {"lastTransitionTime", kube::FormatRfc3339(now_)}}};
    j["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    pods_.Upsert(std::make_shared<const kube::Object>(std::move(j)));
  }
  for (auto& [id, op] : operations_) {
    if (op.op.state != api::kStateRunning) continue;
    FakeNode* n = Node(op.pod);
    if (op.op.kind == api::kOpDecommission) {
      if (n && !n->in_ring) op.op.state = api::kStateSucceeded;
      continue;
    }
    if (--op.ticks_left > 0) continue;
    op.op.state = op.fail ? api::kStateFailed : api::kStateSucceeded;
    op.op.finished_unix = absl::ToUnixSeconds(now_);
    if (op.fail) {
      op.op.message = op.op.kind == api::kOpRebuild ? "Error while rebuilding node: Stream failed"
                                                    : "repair failed: Repair job failed (fake)";
    }
    if (op.op.kind == api::kOpRebuild && !op.fail && n) n->rebuilt_from = op.request.source_dc;
    const std::string version = n ? n->release_version : "";
    if (op.op.kind == api::kOpSnapshot) {
      auto [_, taken] = snapshots[op.pod].emplace(op.request.tag, version);
      if (!taken) {
        op.op.state = api::kStateFailed;
        op.op.message = absl::StrCat("Snapshot ", op.request.tag, " already exists.");
      }
    } else if (op.op.kind == api::kOpClearSnapshot) {
      if (op.request.tag.empty()) {
        snapshots[op.pod].clear();
      } else {
        snapshots[op.pod].erase(op.request.tag);
      }
    } else if (op.op.kind == api::kOpUpgradeSSTables) {
      sstables_upgraded[op.pod].push_back(version);
    }
    if (op.op.kind == api::kOpRepair && !op.fail && !op.request.run.empty()) {
      ++repaired[absl::StrCat(op.request.keyspace, " ", absl::StrJoin(op.request.ranges, ","))];
    }
  }
}

std::string FakeCluster::DecommissionRefusal(const FakeNode& n) const {
  int in_dc = 0;
  for (const FakeNode* o : Ring()) in_dc += o->dc == n.dc;
  for (const auto& [keyspace, replication] : keyspaces) {
    int rf = 0;
    if (!replication.contains(n.dc) ||
        !absl::SimpleAtoi(replication[n.dc].get<std::string>(), &rf) || rf == 0 || in_dc > rf) {
      continue;
    }
    return absl::StrCat("Not enough live nodes to maintain replication factor in keyspace ",
                        keyspace, " (RF = ", rf, ", N = ", in_dc,
                        "). Perform a forceful decommission to ignore.");
  }
  return "";
}

absl::StatusOr<api::RangeMap> FakeCluster::RangesOf(const std::string& keyspace) const {
  auto ks = keyspaces.find(keyspace);
  if (ks == keyspaces.end()) return absl::NotFoundError("no keyspace " + keyspace);
  std::vector<const FakeNode*> ring;
  for (const auto& [_, n] : nodes_) {
    if (n.in_ring) ring.push_back(&n);
  }
  std::sort(ring.begin(), ring.end(),
            [](const FakeNode* a, const FakeNode* b) { return a->address < b->address; });
  if (ring.empty()) return absl::UnavailableError("no ring");
  int64_t rf = 0;
  const Json& replication = ks->second;
  for (const auto& [k, v] : replication.items()) {
    int64_t f = 0;
    if (k != "class" && v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &f)) rf += f;
  }
  rf = std::clamp<int64_t>(rf, 1, int64_t(ring.size()));
  constexpr int kTokens = 4;
  const int n = int(ring.size()) * kTokens;
  const unsigned __int128 step = (static_cast<unsigned __int128>(1) << 64) / n;
  std::vector<std::pair<int64_t, size_t>> tokens;  // token, node index
  for (int i = 0; i < n; ++i) {
    const unsigned __int128 offset = step * i;
    tokens.push_back({static_cast<int64_t>(static_cast<uint64_t>(offset) ^ (uint64_t{1} << 63)),
                      size_t(i) % ring.size()});
  }
  api::RangeMap out;
  out.keyspace = keyspace;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto& [start, _] = tokens[(i + tokens.size() - 1) % tokens.size()];
    api::TokenRange r{std::to_string(start), std::to_string(tokens[i].first), {}};
    for (size_t j = i; r.endpoints.size() < size_t(rf); j = (j + 1) % tokens.size()) {
      const std::string& a = ring[tokens[j].second]->address;
      if (std::find(r.endpoints.begin(), r.endpoints.end(), a) == r.endpoints.end()) {
        r.endpoints.push_back(a);
      }
    }
    out.ranges.push_back(std::move(r));
  }
  std::sort(out.ranges.begin(), out.ranges.end(), [](const auto& a, const auto& b) {
    int64_t x = 0, y = 0;
    absl::SimpleAtoi(a.start, &x);
    absl::SimpleAtoi(b.start, &y);
    return x < y;
  });
  return out;
}

void FakeCluster::ForgetOperations(const std::string& pod) {
  for (auto it = operations_.begin(); it != operations_.end();) {
    it = it->second.pod == pod ? operations_.erase(it) : std::next(it);
  }
}

FakeNode* FakeCluster::Node(const std::string& pod) {
  auto it = nodes_.find(pod);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<const FakeNode*> FakeCluster::Ring() const {
  std::vector<const FakeNode*> out;
  for (const auto& [_, n] : nodes_) {
    if (n.in_ring) out.push_back(&n);
  }
  return out;
}

FakeNode* FakeCluster::NodeAt(const std::string& pod_ip) {
  for (const auto& pod : pods_.List()) {
    if (kube::StringField(pod->json()["status"], "podIP") == pod_ip) return Node(pod->name());
  }
  return nullptr;
}

api::NodeInfo FakeCluster::InfoOf(const FakeNode& n) const {
  api::NodeInfo info;
  info.host_id = n.host_id;
  info.release_version = n.release_version;
  info.address = n.address;
  info.operation_mode = n.mode;
  info.self_state = "U" + n.state;
  info.peers_state = "U" + n.state;
  info.native_transport_running = n.mode == "NORMAL";
  for (int i = 0; i < 16; ++i) info.tokens.push_back(std::to_string(i));
  info.load_bytes = n.load_bytes;
  info.process_cpu_nanos = n.cpu_nanos;
  info.data_volume_used_bytes = n.volume_used_bytes;
  info.data_volume_total_bytes = n.volume_total_bytes;
  if (auto it = pending_compactions.find(n.pod); it != pending_compactions.end()) {
    info.pending_compactions = it->second;
  }
  return info;
}

api::Ring FakeCluster::RingView() const {
  api::Ring ring;
  const size_t members = Ring().size();  // the fake's tokens split the ring evenly
  for (const auto& [_, n] : nodes_) {
    if (!n.in_ring) continue;
    api::RingEndpoint e;
    e.address = n.address;
    e.dc = n.dc;
    e.rack = n.rack;
    e.status = n.up && n.mode != "DRAINED" ? "U" : "D";
    e.state = n.state;
    e.host_id = n.host_id;
    e.load_bytes = n.load_bytes;
    e.tokens = 16;
    e.ownership = 1.0 / static_cast<double>(members);
    ring.endpoints.push_back(e);
  }
  return ring;
}

bool FakeCluster::Serving(const std::string& address) const {
  for (const auto& [_, n] : nodes_) {
    if (n.address == address && n.up && n.mode == "NORMAL") return true;
  }
  return false;
}

absl::StatusOr<api::Operation> FakeCluster::StartOperation(const std::string& pod,
                                                           const api::OperationRequest& r) {
  FakeNode* n = Node(pod);
  if (r.kind == api::kOpRepair && !r.run.empty()) {  // the agent's repeatable run
    for (const auto& [id, op] : operations_) {
      if (op.pod == pod && op.op.kind == api::kOpRepair && op.op.run == r.run &&
          (op.op.state == api::kStateRunning || op.op.state == api::kStateSucceeded)) {
        return op.op;
      }
    }
  }
  if (r.kind == api::kOpStopRepairs) {  // fails the sessions this node coordinates
    ++stops;
    for (auto& [id, op] : operations_) {
      if (op.pod == pod && op.op.kind == api::kOpRepair && op.op.state == api::kStateRunning) {
        op.op.state = api::kStateStopped;
        op.op.message = "Terminate session is called";
      }
    }
  }
  for (const auto& [id, op] : operations_) {
    if (op.pod == pod && op.op.state == api::kStateRunning && op.op.kind == r.kind) {
      return absl::AlreadyExistsError(absl::StrCat(op.op.kind, " ", id, " runs"));
    }
  }
  agent_requests.push_back(absl::StrCat(pod, " ", r.kind, r.force ? " force" : ""));
  AgentOp op;
  op.pod = pod;
  op.op.id = absl::StrCat("op-", ++op_counter_);
  op.op.kind = r.kind;
  op.op.state = api::kStateRunning;
  op.op.run = r.run;
  op.op.started_unix = absl::ToUnixSeconds(now_);
  op.request = r;
  if (r.kind == api::kOpRepair) {
    if (!r.run.empty()) repair_requests.push_back(r);  // a Repair's segment
    op.ticks_left = repairs_hang ? 1 << 30 : repair_ticks;
    if (repairs_to_fail > 0) {
      --repairs_to_fail;
      op.fail = true;
    }
  } else if (r.kind == api::kOpStopRepairs) {
    op.op.state = api::kStateSucceeded;
  } else if (r.kind == api::kOpRebuild) {
    op.ticks_left = rebuild_ticks;
    if (rebuilds_to_fail > 0) {
      --rebuilds_to_fail;
      op.fail = true;
    }
  }
  if (r.kind == api::kOpDrain) {
    n->mode = "DRAINED";
    op.op.state = api::kStateSucceeded;
  } else if (r.kind == api::kOpDecommission) {
    if (n->mode != "NORMAL") return absl::FailedPreconditionError("not NORMAL: " + n->mode);
    // Cassandra's own check (StorageService.decommission): the node's data center keeps more
    // nodes than a keyspace's factor there, unless forced. The operation fails at once.
    if (auto refusal = DecommissionRefusal(*n); !r.force && !refusal.empty()) {
      op.op.state = api::kStateFailed;
      op.op.message = refusal;
      op.op.finished_unix = op.op.started_unix;
      operations_[op.op.id] = op;
      return op.op;
    }
    n->state = "L";
    n->mode = "LEAVING";
    n->ticks_to_leave = 2;
  }
  operations_[op.op.id] = op;
  return op.op;
}

absl::StatusOr<api::Operation> FakeCluster::GetOperation(const std::string& pod,
                                                         const std::string& id) {
  auto it = operations_.find(id);
  if (it == operations_.end() || it->second.pod != pod) {
    return absl::NotFoundError("no operation " + id);
  }
  return it->second.op;
}

std::shared_ptr<NodeAgent> FakeCluster::For(const std::string& address,
                                            const AgentCredentials& credentials) {
  kube::ObjectPtr secret =
      secrets_.Get(kube::ObjectKey{cluster_key_.ns, cluster_key_.name + "-agent-token"}.ToString());
  const AgentCredentials expected =
      secret ? AgentCredentialsOf(secret->json()) : AgentCredentials{};
  kube::ObjectPtr pod;
  for (const auto& p : pods_.List()) {
    if (kube::StringField(p->json()["status"], "podIP") == address) pod = p;
  }
  std::string refused;
  if (pod && ServesAgentTls(pod.get())) {
    if (credentials.ca_pem.empty()) {
      refused = "plain HTTP to an agent serving mutual TLS";
    } else if (credentials.ca_pem != expected.ca_pem ||
               credentials.server_name != api::kAgentTlsName) {
      refused = "the agent's certificate not trusted under that CA and name";
    } else if (!pki::Verify(credentials.client_cert_pem, expected.ca_pem, now_).ok() ||
               pki::Inspect(credentials.client_cert_pem)->subject_common_name !=
                   api::kOperatorTlsName) {
      refused = "no operator's certificate from the Cluster's CA";
    }
  } else if (pod && !credentials.ca_pem.empty()) {
    refused = "TLS to an agent serving plain HTTP";
  }
  const bool token_ok = !expected.token.empty() && expected.token == credentials.token;
  return std::make_shared<FakeAgent>(*this, address, token_ok, refused);
}

absl::Status FakeCluster::CqlHandshake(const std::string& host, const CqlCredentials& login) {
  // The node's client encryption, as its rack's cassandra.yaml says (what it started with is
  // close enough: the operator refuses to change it on a running cluster).
  std::string pod;
  for (const auto& [_, n] : nodes_) {
    if (n.address == host) pod = n.pod;
  }
  bool tls = false;
  if (const size_t dash = pod.rfind('-'); dash != std::string::npos) {
    if (kube::ObjectPtr cm = configmaps_.Get(
            kube::ObjectKey{cluster_key_.ns, pod.substr(0, dash) + "-config"}.ToString())) {
      const Json yaml = Json::parse(kube::StringField(cm->json()["data"], "cassandra.yaml"),
                                    nullptr, /*allow_exceptions=*/false);
      const Json& options = kube::FieldAt(yaml, {"client_encryption_options"});
      tls = options.is_object() && options.value("enabled", false);
    }
  }
  std::string refused;
  if (tls && login.tls.ca_pem.empty()) {
    refused = "plain CQL to a node requiring TLS";
  } else if (!tls && !login.tls.ca_pem.empty()) {
    refused = "TLS to a node serving plain CQL";
  } else if (tls) {
    kube::ObjectPtr nodes =
        secrets_.Get(kube::ObjectKey{cluster_key_.ns, cluster_key_.name + "-node-tls"}.ToString());
    std::string ca;
    if (nodes) absl::Base64Unescape(kube::StringField(nodes->json()["data"], "ca.crt"), &ca);
    if (ca.empty() || ca != login.tls.ca_pem) refused = "the node's certificate not from that CA";
  }
  if (refused.empty()) return absl::OkStatus();
  cql_tls_refusals.push_back(absl::StrCat(pod, ": ", refused));
  return absl::UnavailableError("CQL: " + refused);
}

absl::StatusOr<std::unique_ptr<CqlSession>> FakeCluster::Connect(const std::string& host,
                                                                 const CqlCredentials& login) {
  if (!Serving(host)) return absl::UnavailableError("CQL: no node serving at " + host);
  RETURN_IF_ERROR(CqlHandshake(host, login));
  // The default role logs in until the superuser replaces it; then only the superuser does.
  const std::string allowed = superuser.empty() ? "cassandra" : superuser;
  if (login.user != allowed) {
    return absl::UnauthenticatedError("Provided username " + login.user +
                                      " and/or password are incorrect");
  }
  return std::make_unique<FakeSession>(*this);
}

absl::Status FakeCluster::SetupSuperuser(const std::string& host, const CqlCredentials& login) {
  if (!Serving(host)) return absl::UnavailableError("CQL: no node serving at " + host);
  RETURN_IF_ERROR(CqlHandshake(host, login));
  superuser = login.user;
  return absl::OkStatus();
}

}  // namespace ringkeeper::testing
