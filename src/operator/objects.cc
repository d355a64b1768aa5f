// The desired objects of a Cluster, applied each pass when they differ (applied-hash): the
// Secrets, the pods' ServiceAccount, the Services, the rendered config (unknown keys refused
// before any pod rolls), the members' settings, the StatefulSets (every write through
// ApplyStatefulSet), the PDBs; and the generated superuser.
#include <openssl/rand.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "kube/yaml.h"
#include "operator/data_center_join.h"
#include "operator/desired.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/storage_access.h"
#include "operator/tokens.h"
#include "operator/volumes.h"

namespace ringkeeper {
namespace {

using kube::Json;
namespace res = kube::resources;

std::string RandomSecret(int bytes) {
  std::vector<unsigned char> buf(bytes);
  RAND_bytes(buf.data(), bytes);
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (unsigned char b : buf) out += kAlphabet[b % 62];
  return out;
}

using Settings = std::map<std::string, agent::api::InitSettings>;   // pod -> settings
using PodTokens = std::map<std::string, std::vector<std::string>>;  // pod -> initial tokens

}  // namespace

std::map<std::string, agent::api::InitSettings> ClusterReconciler::WrittenSettings(const Pass& p) {
  Settings existing;
  for (const auto& [name, cm] : p.configmaps) {
    if (!absl::EndsWith(name, "-members")) continue;
    for (const auto& [key, value] : cm->json()["data"].items()) {
      try {
        existing[key.substr(0, key.size() - 5)] =
            Json::parse(value.get<std::string>()).get<agent::api::InitSettings>();
      } catch (const std::exception&) {
      }
    }
  }
  return existing;
}

namespace {

// Each member's tokens in `dc`: evenly interleaved, racks interleaved, shifted by `offset` (which
// keeps them apart from other data centers' tokens).
void AddDataCenterTokens(const ClusterSpec& spec, const DataCenterSpec& dc, int64_t offset,
                         PodTokens& out) {
  std::vector<std::string> racks;
  std::vector<int> counts;
  for (const auto& r : dc.racks) {
    racks.push_back(r.name);
    counts.push_back(r.members);
  }
  const auto slots = InterleaveRacks(racks, counts);
  const auto tokens = EvenlyInterleavedTokens(static_cast<int>(slots.size()), kNumTokens);
  for (size_t i = 0; i < slots.size(); ++i) {
    std::vector<std::string>& member = out[PodName(spec, dc.name, slots[i].rack, slots[i].ordinal)];
    for (int64_t t : tokens[i]) member.push_back(std::to_string(t + offset));
  }
}

// Tokens of the members that start at once: every member of a brand-new cluster (a data
// center's index as its offset), or of a data center joining a running one (the offset its
// join recorded, clear of the ring's tokens).
PodTokens InitialTokens(const ClusterReconciler::Pass& p) {
  PodTokens initial_tokens;
  if (p.JoinPhase() == join_phase::kStarting) {
    if (const DataCenterSpec* dc = p.spec.FindDc(p.JoiningDc())) {
      AddDataCenterTokens(p.spec, *dc, kube::IntField(p.dc_join, "tokenOffset"), initial_tokens);
    }
    return initial_tokens;
  }
  if (!p.brand_new) return initial_tokens;
  if (!p.restore_tokens.empty()) return p.restore_tokens;  // created from a backup: its tokens
  int64_t dc_index = 0;
  for (const auto& dc : p.spec.dcs) AddDataCenterTokens(p.spec, dc, dc_index++, initial_tokens);
  return initial_tokens;
}

// Seeds: per DC the first three members, racks interleaved, that are not going to bootstrap
// (a seed never bootstraps): initial members and members that joined.
std::vector<std::string> Seeds(const ClusterReconciler::Pass& p, const Settings& existing,
                               const PodTokens& initial_tokens) {
  std::vector<std::string> seeds;
  for (const auto& dc : p.spec.dcs) {
    std::vector<std::string> racks;
    std::vector<int> counts;
    for (const auto& r : dc.racks) {
      racks.push_back(r.name);
      int n = 0;
      for (const Member& m : p.members) n += (m.dc == dc.name && m.rack == r.name && m.wanted);
      counts.push_back(n);
    }
    int taken = 0;
    for (const auto& slot : InterleaveRacks(racks, counts)) {
      if (taken == 3) break;
      const std::string pod = PodName(p.spec, dc.name, slot.rack, slot.ordinal);
      const Member* m = p.Find(pod);
      const auto e = existing.find(pod);
      const bool initial =
          initial_tokens.count(pod) || (e != existing.end() && !e->second.initial_tokens.empty());
      if (m && !m->address.empty() && (initial || m->bootstrapped)) {
        seeds.push_back(m->address);
        ++taken;
      }
    }
  }
  std::sort(seeds.begin(), seeds.end());
  return seeds;
}

}  // namespace

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureSecrets(Pass& p) {
  if (!p.agent_secret_found || p.agent_credentials.token.empty() ||
      p.agent_credentials.ca_pem.empty()) {
    ASSIGN_OR_RETURN(auto data, NewAgentTls(seams_.clock->Now()));
    // A token the agents already know is kept: the running pods read it from their volume.
    data[kAgentSecretToken] =
        p.agent_credentials.token.empty() ? RandomSecret(40) : p.agent_credentials.token;
    const Json secret = AgentTokenSecret(p.spec, data);
    if (!p.agent_secret_found) {
      // Created, never applied over: two passes that both found none must not each make a token.
      auto created = seams_.writer->Create(res::kSecrets, secret);
      if (absl::IsAlreadyExists(created.status())) return Flow::kWait;  // read by the next pass
      if (!created.ok()) return created.status();
    } else {
      // A Secret from before the agents spoke TLS (or one a user emptied): the rest added. The
      // pods' templates ask for the new keys from this pass on, which rolls them one at a time.
      auto applied = seams_.writer->Apply(res::kSecrets, secret);
      if (!applied.ok()) return applied.status();
      Event(p, false, reason::kAgentTlsAdded,
            absl::StrCat("the agents' CA and certificates added to Secret ",
                         AgentTokenSecretName(p.spec),
                         "; each pod serves mutual TLS once the roll has restarted it"));
    }
    const bool created = !p.agent_secret_found;
    p.agent_credentials = AgentCredentialsOf(secret);
    p.agent_secret_found = true;
    agent_credentials_.Put(p.spec.uid, p.agent_credentials);
    if (created) return Flow::kWait;
  }
  if (p.spec.generate_superuser && !p.old_status.value("authReady", false)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (superuser_secret_seen_.count(p.spec.uid) != 0) return Flow::kContinue;
    }
    // No informer on Secrets (list/watch would let the operator read every Secret of the
    // namespace): one GET, then remembered.
    auto secret = seams_.reader->Get(res::kSecrets, p.spec.ns, p.spec.superuser_secret);
    if (absl::IsNotFound(secret.status())) {
      // A role name of our own, so the well-known "cassandra" can be disabled.
      auto created = seams_.writer->Create(
          res::kSecrets, SuperuserSecret(p.spec, p.spec.name + "-admin", RandomSecret(32)));
      if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
      Event(p, false, reason::kSuperuserCreated,
            absl::StrCat("generated superuser credentials in Secret ", p.spec.superuser_secret));
    } else if (!secret.ok()) {
      return secret.status();
    }
    std::lock_guard<std::mutex> lock(mu_);
    superuser_secret_seen_.insert(p.spec.uid);
  }
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureServiceAccount(Pass& p) {
  const kube::ObjectPtr observed = caches_.serviceaccounts->Get(
      kube::ObjectKey{p.spec.ns, ServiceAccountName(p.spec)}.ToString());
  RETURN_IF_ERROR(Apply(p, res::kServiceAccounts, CassandraServiceAccount(p.spec), observed));
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureServices(Pass& p) {
  auto observed = [&](const std::string& name) {
    auto it = p.services.find(name);
    return it == p.services.end() ? nullptr : it->second;
  };
  for (const auto& dc : p.spec.dcs) {
    RETURN_IF_ERROR(Apply(p, res::kServices, HeadlessService(p.spec, dc.name),
                          observed(HeadlessServiceName(p.spec, dc.name))));
    RETURN_IF_ERROR(Apply(p, res::kServices, ClientService(p.spec, dc.name),
                          observed(ClientServiceName(p.spec, dc.name))));
  }
  bool missing_ip = false;
  for (Member& m : p.members) {
    if (!m.wanted) continue;  // a removed member's pod still terminating gets no Service back
    RETURN_IF_ERROR(
        Apply(p, res::kServices, MemberService(p.spec, m.dc, m.rack, m.ordinal), observed(m.pod)));
    if (m.address.empty()) {
      if (auto it = p.applied.find("Service/" + m.pod); it != p.applied.end()) {
        m.address = kube::StringField(it->second->json()["spec"], "clusterIP");
      }
    }
    missing_ip |= m.address.empty();
  }
  // Member Services of members that are gone (a decommission interrupted after shrinking).
  if (p.operation.is_null()) {
    for (const auto& [name, svc] : p.services) {
      if (!svc->label(kLabelRack) || OrdinalOf(name) < 0 || svc->being_deleted()) continue;
      const Member* m = p.Find(name);
      // A leaving data center's members keep theirs until each has left the ring.
      if (m && (m->wanted || p.leaving_dcs.count(m->dc))) continue;
      RETURN_IF_ERROR(DeleteIfSame(p, res::kServices, name, svc->uid()));
    }
  }
  // Settings carry the members' IPs: without every one of them nothing else can be written.
  return missing_ip ? Flow::kWait : Flow::kContinue;
}

absl::StatusOr<Json> ClusterReconciler::RackOverrides(Pass& p, const RackSpec& rack) {
  if (rack.config_map_name.empty()) return Json::object();
  // The user's ConfigMap is optional (the seed names one that may not exist). Its text is read
  // from the API when the cache of every ConfigMap's metadata shows a version not read yet, or
  // lacks one that was read (deleted, or the cache lags its creation: the API says which);
  // an idle pass reads nothing.
  const std::string key = kube::ObjectKey{p.spec.ns, rack.config_map_name}.ToString();
  const kube::ObjectPtr listed = caches_.configmap_metadata->Get(key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rack_configs_.find(key);
    // resource_version "" records a read that found none.
    const std::string wanted = listed ? listed->resource_version() : "";
    if (it != rack_configs_.end() && it->second.resource_version == wanted) {
      return it->second.overrides;
    }
  }
  auto cm = seams_.reader->Get(res::kConfigMaps, p.spec.ns, rack.config_map_name);
  Json overrides = Json::object();
  if (cm.ok()) {
    // Parsed with Kubernetes' scalar rules; the keys are checked below and by the agent.
    auto docs = kube::ObjectsFromYaml(kube::StringField(cm->json()["data"], "cassandra.yaml"));
    if (!docs.ok() || docs->size() > 1) {
      return kube::TerminalError(absl::InvalidArgumentError(
          absl::StrCat("ConfigMap ", rack.config_map_name, " cassandra.yaml: ",
                       docs.ok() ? "more than one YAML document" : docs.status().message())));
    }
    if (!docs->empty()) overrides = docs->front().json();
  } else if (!absl::IsNotFound(cm.status())) {
    return cm.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  rack_configs_[key] = {cm.ok() ? cm->resource_version() : "", overrides};
  return overrides;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureConfig(Pass& p) {
  struct Rendered {
    std::string name, statefulset;
    Json configmap;
  };
  std::vector<Rendered> racks;
  std::set<std::string> keys;
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      ASSIGN_OR_RETURN(const Json overrides, RackOverrides(p, rack));
      Json cm = ConfigConfigMap(p.spec, dc.name, rack.name, overrides);
      for (const auto& [key, value] : overrides.items()) keys.insert(key);
      racks.push_back({ConfigConfigMapName(p.spec, dc.name, rack.name),
                       StatefulSetName(p.spec, dc.name, rack.name), std::move(cm)});
    }
  }
  for (const auto& [key, value] : p.spec.config.items()) keys.insert(key);
  if (const std::vector<std::string> unknown = UnknownConfigKeys(p, keys); !unknown.empty()) {
    p.config_refusal = absl::StrCat(
        "unknown cassandra.yaml key(s) ", absl::StrJoin(unknown, ", "), " (Cassandra ",
        p.spec.version, " has no such setting): the config stays as it was, no pod restarts");
  }
  for (Rendered& r : racks) {
    // Everything that needs a restart when it changes (the template carries this hash).
    Json restart_inputs = {{"config", r.configmap["data"]},
                           {"heap", p.spec.heap_size},
                           {"jvm", p.spec.jvm_extra_options}};
    // The nodes' certificate: a renewal rolls the pods (a Cluster without TLS keeps its hash).
    if (!p.node_tls_hash.empty()) restart_inputs["tls"] = p.node_tls_hash;
    p.config_hash[r.name] = HashOf(restart_inputs);
    auto cm = p.configmaps.find(r.name);
    auto sts = p.statefulsets.find(r.statefulset);
    if (!p.config_refusal.empty() && cm != p.configmaps.end() && sts != p.statefulsets.end()) {
      // Refused: the rack keeps its ConfigMap and its pods their template.
      static const Json::json_pointer kTemplateHash(
          "/spec/template/metadata/annotations/cassandra.rook.io~1config-hash");
      p.config_hash[r.name] = sts->second->json().value(kTemplateHash, std::string());
      continue;
    }
    RETURN_IF_ERROR(Apply(p, res::kConfigMaps, std::move(r.configmap),
                          cm == p.configmaps.end() ? nullptr : cm->second));
  }
  return Flow::kContinue;
}

std::vector<std::string> ClusterReconciler::UnknownConfigKeys(Pass& p,
                                                              const std::set<std::string>& keys) {
  if (keys.empty()) return {};
  std::set<std::string> known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = config_keys_.find(p.spec.version); it != config_keys_.end()) known = it->second;
  }
  if (known.empty()) {
    // A member running the spec's version says which keys it knows; after a version change,
    // until one runs it, the pods' init containers check the keys instead.
    for (const Member& m : p.members) {
      if (!m.info || m.info->release_version != p.spec.version || m.pod_ip.empty()) continue;
      auto answer = Agent(p, m)->ConfigKeys();
      if (!answer.ok()) {
        spdlog::debug("cluster {}: config keys from {}: {}", p.cluster.key().ToString(), m.pod,
                      answer.status().ToString());
        continue;
      }
      known.insert(answer->keys.begin(), answer->keys.end());
      std::lock_guard<std::mutex> lock(mu_);
      config_keys_[p.spec.version] = known;
      break;
    }
  }
  if (known.empty()) return {};
  std::vector<std::string> unknown;
  for (const std::string& key : keys) {
    if (!known.count(key)) unknown.push_back(key);
  }
  return unknown;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureMemberSettings(Pass& p) {
  const Settings existing = WrittenSettings(p);
  const PodTokens initial_tokens = InitialTokens(p);
  const std::vector<std::string> seeds = Seeds(p, existing, initial_tokens);
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      std::map<std::string, agent::api::InitSettings> settings;
      for (const Member& m : p.members) {
        if (m.dc != dc.name || m.rack != rack.name || !m.wanted) continue;
        // Not before its data center's join is recorded: it would bootstrap with random tokens.
        if (p.new_dcs.count(m.dc)) continue;
        MemberPlan plan;
        plan.pod = m.pod;
        plan.broadcast_ip = m.address;
        plan.joined_before = m.bootstrapped;
        plan.restore = MemberRestore(p, m);
        if (const StorageLocationSpec* l = p.spec.FindStorageLocation(p.spec.commit_log_archive)) {
          plan.commitlog_archive = StorageAccess::AgentLocation(*l);
        }
        if (auto r = p.replays.find(m.pod); r != p.replays.end()) plan.replay = r->second.request;
        if (auto e = existing.find(m.pod); e != existing.end()) {
          plan.initial_tokens = e->second.initial_tokens;
          plan.auto_bootstrap = e->second.auto_bootstrap;
        } else if (auto t = initial_tokens.find(m.pod); t != initial_tokens.end()) {
          plan.initial_tokens = t->second;
          // All start at once, streaming nothing: an empty cluster, or a data center that joins
          // and rebuilds afterwards (joining.cc).
          plan.auto_bootstrap = false;
        }
        settings[m.pod] = MemberSettings(p.spec, dc.name, rack.name, seeds, plan);
      }
      const std::string name = MembersConfigMapName(p.spec, dc.name, rack.name);
      auto it = p.configmaps.find(name);
      RETURN_IF_ERROR(Apply(p, res::kConfigMaps,
                            MembersConfigMap(p.spec, dc.name, rack.name, settings),
                            it == p.configmaps.end() ? nullptr : it->second));
    }
  }
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureStatefulSets(Pass& p) {
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      const std::string name = StatefulSetName(p.spec, dc.name, rack.name);
      auto it = p.statefulsets.find(name);
      const kube::ObjectPtr observed = it == p.statefulsets.end() ? nullptr : it->second;
      // Replicas are the operator's decision: all members at once for a brand-new cluster,
      // else what the scale steps set (a rack added later starts empty and grows one by one).
      // A data center joining a running cluster starts all its members at once too.
      const bool all_at_once =
          p.brand_new || (p.JoiningDc() == dc.name && p.JoinPhase() == join_phase::kStarting);
      int replicas = all_at_once ? rack.members : ReplicasOfMissing(p, dc.name, rack.name);
      if (observed) {
        const int has = static_cast<int>(kube::IntField(observed->json()["spec"], "replicas"));
        replicas = all_at_once ? std::max(has, rack.members) : has;
      }
      p.replicas[name] = replicas;
      if (observed && observed->being_deleted()) continue;  // re-created once it is gone
      if (p.brand_new && !observed) {
        Event(p, false, reason::kCreating,
              absl::StrCat("creating rack ", dc.name, "/", rack.name, " with ", replicas,
                           " members started at once on precomputed tokens"));
      }
      // A failed apply holds back neither the other racks nor the operations.
      if (absl::Status applied = ApplyStatefulSet(p, dc.name, rack, replicas); !applied.ok()) {
        p.apply_errors.push_back(std::move(applied));
      }
    }
  }
  return Flow::kContinue;
}

absl::Status ClusterReconciler::ApplyStatefulSet(Pass& p, const std::string& dc,
                                                 const RackSpec& rack, int replicas) {
  const std::string name = StatefulSetName(p.spec, dc, rack.name);
  auto it = p.statefulsets.find(name);
  const kube::ObjectPtr observed = it == p.statefulsets.end() ? nullptr : it->second;
  RackSpec to_apply = rack;
  to_apply.volume_claim_template = ClaimTemplateToApply(rack, observed);
  // While an upgrade runs, each rack on its own version (upgrade.cc).
  const ClusterSpec* spec = &p.spec;
  ClusterSpec upgrading;
  if (auto image = p.rack_image.find(name); image != p.rack_image.end()) {
    upgrading = p.spec;
    upgrading.image = image->second;
    spec = &upgrading;
  }
  RETURN_IF_ERROR(Apply(p, res::kStatefulSets,
                        RackStatefulSet(*spec, dc, to_apply, replicas,
                                        p.config_hash[ConfigConfigMapName(p.spec, dc, rack.name)]),
                        observed));
  p.replicas[name] = replicas;
  return absl::OkStatus();
}

void ClusterReconciler::ApplyOrNote(Pass& p, const kube::Resource& r, kube::Json desired,
                                    const std::map<std::string, kube::ObjectPtr>& observed) {
  auto it = observed.find(kube::StringField(desired["metadata"], "name"));
  if (absl::Status applied =
          Apply(p, r, std::move(desired), it == observed.end() ? nullptr : it->second);
      !applied.ok()) {
    p.apply_errors.push_back(std::move(applied));
  }
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsurePdbs(Pass& p) {
  for (const auto& dc : p.spec.dcs) {
    ApplyOrNote(p, res::kPodDisruptionBudgets, PodDisruptionBudget(p.spec, dc.name), p.pdbs);
  }
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureNetworkPolicy(Pass& p) {
  if (options_.operator_pods.ns.empty()) return Flow::kContinue;
  ApplyOrNote(p, res::kNetworkPolicies, AgentNetworkPolicy(p.spec, options_.operator_pods),
              p.networkpolicies);
  return Flow::kContinue;
}

// ---- the superuser ----------------------------------------------------------------------

absl::StatusOr<CqlCredentials> ClusterReconciler::SuperuserCredentials(Pass& p) {
  auto login = ReadSuperuser(*seams_.reader, p.spec);
  if (absl::IsNotFound(login.status())) {
    std::lock_guard<std::mutex> lock(mu_);
    superuser_secret_seen_.erase(p.spec.uid);  // gone: the next pass makes a new one
  }
  if (!login.ok()) return login.status();
  login->tls = p.cql_tls;  // what the nodes run this pass (the tls step)
  return login;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureSuperuser(Pass& p) {
  // After the system keyspaces have their replication: the new role is then written to every
  // replica it will be read from (ReplicateSystemKeyspaces).
  if (p.auth_ready || !p.bootstrapped || !SystemKeyspacesReplicated(p)) return Flow::kContinue;
  const Member* target = p.FirstUp();
  if (!target) return Flow::kWait;
  ASSIGN_OR_RETURN(auto creds, SuperuserCredentials(p));
  absl::Status setup = seams_.cql->SetupSuperuser(target->address, creds);
  if (!setup.ok()) return base::Annotate(setup, "create the superuser");
  p.auth_ready = true;
  Event(p, false, reason::kSuperuserCreated,
        absl::StrCat("superuser ", creds.user, " ready; the default cassandra role is disabled"));
  return Flow::kContinue;
}

}  // namespace ringkeeper
