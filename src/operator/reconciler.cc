#include "operator/reconciler.h"

#include <openssl/rand.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "kube/resource.h"
#include "kube/yaml.h"
#include "operator/desired.h"
#include "operator/pass.h"
#include "operator/system_keyspaces.h"
#include "operator/tokens.h"
#include "operator/volumes.h"

namespace ringkeeper {
namespace {

using kube::Json;
namespace res = kube::resources;

constexpr int kNumTokens = 16;

std::string RandomSecret(int bytes) {
  std::vector<unsigned char> buf(bytes);
  RAND_bytes(buf.data(), bytes);
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (unsigned char b : buf) out += kAlphabet[b % 62];
  return out;
}

std::string Base64(const std::string& encoded) {
  std::string out;
  return absl::Base64Unescape(encoded, &out) ? out : "";
}

bool PodReady(const kube::Object& pod) {
  const Json& conditions = pod.json()["status"]["conditions"];
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions) {
    if (kube::StringField(c, "type") == "Ready") return kube::StringField(c, "status") == "True";
  }
  return false;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return absl::StrFormat("%.1f %s", v, units[u]);
}

}  // namespace

// The steps of a pass, in order. A step returning kWait ends the pass there (the rest needs
// what it waits for); status is reported after every pass, whatever happened.
const ClusterReconciler::Step ClusterReconciler::kSteps[] = {
    {"observe", &ClusterReconciler::Observe, true},
    {"secrets", &ClusterReconciler::EnsureSecrets, false},
    {"service-account", &ClusterReconciler::EnsureServiceAccount, false},
    {"services", &ClusterReconciler::EnsureServices, false},
    {"config", &ClusterReconciler::EnsureConfig, false},
    {"member-settings", &ClusterReconciler::EnsureMemberSettings, false},
    {"statefulsets", &ClusterReconciler::EnsureStatefulSets, false},
    {"volumes", &ClusterReconciler::GrowVolumes, false},
    {"pdbs", &ClusterReconciler::EnsurePdbs, false},
    {"bootstrap", &ClusterReconciler::TrackBootstrap, true},
    {"system-keyspaces", &ClusterReconciler::ReplicateSystemKeyspaces, false},
    {"superuser", &ClusterReconciler::EnsureSuperuser, false},
    {"operation", &ClusterReconciler::ContinueOperation, false},
    {"volume-templates", &ClusterReconciler::RecreateStatefulSets, false},
    {"lost-nodes", &ClusterReconciler::ReplaceOnLostNodes, false},
    {"replace-requests", &ClusterReconciler::StartRequestedReplacement, false},
    {"rolling-restart", &ClusterReconciler::RollPods, false},
    {"scale-up", &ClusterReconciler::ScaleUp, false},
    {"cleanup", &ClusterReconciler::Cleanup, false},
    {"scale-down", &ClusterReconciler::ScaleDown, false},
};

ClusterReconciler::ClusterReconciler(Seams seams, Caches caches, ReconcilerOptions options)
    : seams_(seams), caches_(caches), options_(std::move(options)) {}

absl::StatusOr<kube::Result> ClusterReconciler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr cluster = caches_.clusters->Get(key.ToString());
  if (!cluster || cluster->being_deleted()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.metrics) options_.metrics->Remove(key);
    written_.erase(key.ToString());
    return kube::Result{};  // owned objects go with it (owner references)
  }
  {
    // Read our own writes: the cache may not have our last status write yet, and a pass must
    // not act on a status older than one it wrote (resourceVersions are etcd revisions).
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = written_.find(key.ToString()); it != written_.end()) {
      int64_t cached = 0, written = 0;
      if (absl::SimpleAtoi(cluster->resource_version(), &cached) &&
          absl::SimpleAtoi(it->second->resource_version(), &written) && written > cached &&
          it->second->uid() == cluster->uid()) {
        cluster = it->second;
      }
    }
  }
  auto spec = ParseCluster(*cluster, options_.defaults);
  if (!spec.ok()) return kube::TerminalError(spec.status());

  Pass p(*cluster, *std::move(spec));
  p.requeue = options_.resync;
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

// ---- observe ------------------------------------------------------------------------------

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::Observe(Pass& p) {
  const std::string selector = absl::StrCat(kLabelCluster, "=", p.spec.name);
  auto collect = [&](const kube::Store* store, std::map<std::string, kube::ObjectPtr>& out) {
    for (auto& o : store->ByIndex(kube::kIndexLabel, selector)) {
      if (o->ns() == p.spec.ns) out[o->name()] = o;
    }
  };
  collect(caches_.statefulsets, p.statefulsets);
  collect(caches_.services, p.services);
  collect(caches_.pods, p.pods);
  collect(caches_.configmaps, p.configmaps);
  collect(caches_.pvcs, p.pvcs);
  collect(caches_.pdbs, p.pdbs);
  p.volumes = ObserveVolumes(p.spec, p.statefulsets, p.pvcs);

  // Members: every desired one and every pod that still exists beyond (a leaving member).
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      // Wanted: the spec's members and whatever the StatefulSet still has (a member leaving).
      int wanted = rack.members;
      if (auto it = p.statefulsets.find(StatefulSetName(p.spec, dc.name, rack.name));
          it != p.statefulsets.end()) {
        wanted = std::max(wanted,
                          static_cast<int>(kube::IntField(it->second->json()["spec"], "replicas")));
      }
      int count = wanted;
      for (const auto& [name, pod] : p.pods) {
        if (pod->label(kLabelDataCenter) == dc.name && pod->label(kLabelRack) == rack.name) {
          count = std::max(count, OrdinalOf(name) + 1);
        }
      }
      for (int i = 0; i < count; ++i) {
        Member m;
        m.pod = PodName(p.spec, dc.name, rack.name, i);
        m.dc = dc.name;
        m.rack = rack.name;
        m.ordinal = i;
        m.wanted = i < wanted;
        p.members.push_back(std::move(m));
      }
    }
  }
  // Sticky facts from the last status.
  std::set<std::string> bootstrapped;
  for (const auto& dc : p.old_status["dataCenters"]) {
    for (const auto& m : dc["members"]) {
      if (m.value("bootstrapped", false)) bootstrapped.insert(kube::StringField(m, "pod"));
    }
  }
  for (Member& m : p.members) {
    m.bootstrapped = bootstrapped.count(m.pod) > 0;
    if (auto it = p.services.find(m.pod); it != p.services.end()) {
      m.address = kube::StringField(it->second->json()["spec"], "clusterIP");
    }
    if (auto it = p.pods.find(m.pod); it != p.pods.end() && !it->second->being_deleted()) {
      m.pod_object = it->second;
      m.pod_ip = kube::StringField(it->second->json()["status"], "podIP");
      m.pod_uid = it->second->uid();
      m.revision = it->second->label("controller-revision-hash").value_or("");
      m.pod_ready = PodReady(*it->second);
      if (!m.pod_ready) {
        m.trouble = PodTrouble(*it->second, seams_.clock->Now(), options_.start_timeout);
      }
    }
  }

  // Never bootstrapped and no member ever joined: every rack starts all its members at once,
  // also when an earlier pass created only some of the StatefulSets (a crash, a rack whose
  // placement failed) -- a rack left at 0 would keep bootstrap from ever completing.
  p.brand_new = !p.old_status.value("bootstrapped", false) &&
                std::none_of(p.members.begin(), p.members.end(),
                             [](const Member& m) { return m.bootstrapped; });

  // The agents: each running member's own view of itself and of the ring.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = agent_tokens_.find(p.spec.uid); it != agent_tokens_.end()) {
      p.agent_token = it->second;
    }
  }
  if (p.agent_token.empty()) {
    auto secret = seams_.reader->Get(res::kSecrets, p.spec.ns, AgentTokenSecretName(p.spec));
    if (secret.ok()) {
      p.agent_token = Base64(kube::StringField(secret->json()["data"], "token"));
      std::lock_guard<std::mutex> lock(mu_);
      agent_tokens_[p.spec.uid] = p.agent_token;
    } else if (!absl::IsNotFound(secret.status())) {
      return secret.status();
    }
  }
  if (!p.agent_token.empty()) {
    for (Member& m : p.members) {
      if (m.pod_ip.empty()) continue;
      std::shared_ptr<NodeAgent> agent = Agent(p, m.pod_ip);
      auto info = agent->NodeInfo();
      if (info.ok()) m.info = *std::move(info);
      auto ring = agent->Ring();
      if (ring.ok()) p.ring_views.push_back({m.pod, *std::move(ring)});
    }
  }
  // Each member's state as the others see it; up everywhere = UN in every view.
  for (Member& m : p.members) {
    if (m.address.empty()) continue;
    int views = 0, un = 0;
    std::map<std::string, int> seen;
    for (const auto& [viewer, ring] : p.ring_views) {
      ++views;
      for (const auto& e : ring.endpoints) {
        if (e.address != m.address) continue;
        const std::string state = e.status + e.state;
        ++seen[state];
        if (state == "UN") ++un;
        if (viewer != m.pod) m.in_ring = true;
      }
    }
    m.up_everywhere = views > 0 && un == views && m.pod_ready;
    if (!seen.empty()) {
      // The view the most nodes share; a tie goes to the worse (non-UN) one.
      m.state = std::max_element(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
                  if (a.second != b.second) return a.second < b.second;
                  return a.first == "UN";
                })->first;
    }
  }
  return Flow::kContinue;
}

// ---- desired objects ----------------------------------------------------------------------

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

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureSecrets(Pass& p) {
  if (p.agent_token.empty()) {
    const std::string token = RandomSecret(40);
    auto created = seams_.writer->Create(res::kSecrets, AgentTokenSecret(p.spec, token));
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
    if (created.ok()) {
      p.agent_token = token;
      std::lock_guard<std::mutex> lock(mu_);
      agent_tokens_[p.spec.uid] = token;
    }
    return Flow::kWait;  // an existing one is read by the next pass
  }
  if (p.spec.generate_superuser && !p.old_status.value("authReady", false)) {
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
  }
  return Flow::kContinue;
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureServiceAccount(Pass& p) {
  // Read straight from the API (no informer on ServiceAccounts): only when its hash is unknown.
  const std::string name = ServiceAccountName(p.spec);
  kube::ObjectPtr observed;
  auto sa = seams_.reader->Get(res::kServiceAccounts, p.spec.ns, name);
  if (sa.ok()) observed = std::make_shared<const kube::Object>(*std::move(sa));
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
      if (m && m->wanted) continue;
      RETURN_IF_ERROR(DeleteIfSame(p, res::kServices, name, svc->uid()));
    }
  }
  // Settings carry the members' IPs: without every one of them nothing else can be written.
  return missing_ip ? Flow::kWait : Flow::kContinue;
}

absl::StatusOr<Json> ClusterReconciler::RackOverrides(Pass& p, const RackSpec& rack) {
  if (rack.config_map_name.empty()) return Json::object();
  // The user's ConfigMap is optional (the seed names one that may not exist).
  auto cm = seams_.reader->Get(res::kConfigMaps, p.spec.ns, rack.config_map_name);
  if (absl::IsNotFound(cm.status())) return Json::object();
  if (!cm.ok()) return cm.status();
  // Parsed with Kubernetes' scalar rules; the keys are checked below and by the agent.
  auto docs = kube::ObjectsFromYaml(kube::StringField(cm->json()["data"], "cassandra.yaml"));
  if (!docs.ok() || docs->size() > 1) {
    return kube::TerminalError(absl::InvalidArgumentError(absl::StrCat(
        "ConfigMap ", rack.config_map_name,
        " cassandra.yaml: ", docs.ok() ? "more than one YAML document" : docs.status().message())));
  }
  return docs->empty() ? Json::object() : docs->front().json();
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
    p.config_hash[r.name] = HashOf(Json{{"config", r.configmap["data"]},
                                        {"heap", p.spec.heap_size},
                                        {"jvm", p.spec.jvm_extra_options}});
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
      auto answer = Agent(p, m.pod_ip)->ConfigKeys();
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
  // The settings already written: a member's initial tokens are decided once, never changed.
  std::map<std::string, agent::api::InitSettings> existing;
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
  // Tokens of a brand-new cluster: evenly interleaved per DC, racks interleaved.
  std::map<std::string, std::vector<std::string>> initial_tokens;
  if (p.brand_new) {
    int dc_index = 0;
    for (const auto& dc : p.spec.dcs) {
      std::vector<std::string> racks;
      std::vector<int> counts;
      for (const auto& r : dc.racks) {
        racks.push_back(r.name);
        counts.push_back(r.members);
      }
      const auto slots = InterleaveRacks(racks, counts);
      const auto tokens = EvenlyInterleavedTokens(static_cast<int>(slots.size()), kNumTokens);
      for (size_t i = 0; i < slots.size(); ++i) {
        std::vector<std::string>& out =
            initial_tokens[PodName(p.spec, dc.name, slots[i].rack, slots[i].ordinal)];
        for (int64_t t : tokens[i]) out.push_back(std::to_string(t + dc_index));  // unique per DC
      }
      ++dc_index;
    }
  }
  // Seeds: per DC the first three members, racks interleaved, that are not going to bootstrap
  // (a seed never bootstraps): initial members and members that joined.
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
  for (const auto& dc : p.spec.dcs) {
    for (const auto& rack : dc.racks) {
      std::map<std::string, agent::api::InitSettings> settings;
      for (const Member& m : p.members) {
        if (m.dc != dc.name || m.rack != rack.name || !m.wanted) continue;
        MemberPlan plan;
        plan.pod = m.pod;
        plan.broadcast_ip = m.address;
        plan.joined_before = m.bootstrapped;
        if (auto e = existing.find(m.pod); e != existing.end()) {
          plan.initial_tokens = e->second.initial_tokens;
          plan.auto_bootstrap = e->second.auto_bootstrap;
        } else if (auto t = initial_tokens.find(m.pod); t != initial_tokens.end()) {
          plan.initial_tokens = t->second;
          plan.auto_bootstrap = false;  // all start at once on an empty cluster: nothing to stream
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
      int replicas = p.brand_new ? rack.members : ReplicasOfMissing(p, dc.name, rack.name);
      if (observed) {
        replicas = static_cast<int>(kube::IntField(observed->json()["spec"], "replicas"));
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
  RETURN_IF_ERROR(Apply(p, res::kStatefulSets,
                        RackStatefulSet(p.spec, dc, to_apply, replicas,
                                        p.config_hash[ConfigConfigMapName(p.spec, dc, rack.name)]),
                        observed));
  p.replicas[name] = replicas;
  return absl::OkStatus();
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsurePdbs(Pass& p) {
  for (const auto& dc : p.spec.dcs) {
    auto it = p.pdbs.find(PdbName(p.spec, dc.name));
    if (absl::Status applied =
            Apply(p, res::kPodDisruptionBudgets, PodDisruptionBudget(p.spec, dc.name),
                  it == p.pdbs.end() ? nullptr : it->second);
        !applied.ok()) {
      p.apply_errors.push_back(std::move(applied));
    }
  }
  return Flow::kContinue;
}

// ---- bootstrap and auth -------------------------------------------------------------------

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::TrackBootstrap(Pass& p) {
  bool all_initial_up = true;
  for (Member& m : p.members) {
    if (m.up_everywhere) m.bootstrapped = true;  // joined: an empty volume later means loss
    const RackSpec* rack = p.spec.FindRack(m.dc, m.rack);
    const bool desired = rack && m.ordinal < rack->members;
    if (desired && !m.up_everywhere) all_initial_up = false;
  }
  p.bootstrapped = p.old_status.value("bootstrapped", false) || all_initial_up;
  return Flow::kContinue;
}

absl::StatusOr<std::pair<std::string, std::string>> ClusterReconciler::SuperuserCredentials(
    Pass& p) {
  auto secret = seams_.reader->Get(res::kSecrets, p.spec.ns, p.spec.superuser_secret);
  if (!secret.ok()) return base::Annotate(secret.status(), "superuser Secret");
  const Json& data = secret->json()["data"];
  std::string user = Base64(kube::StringField(data, "username"));
  std::string password = Base64(kube::StringField(data, "password"));
  if (user.empty() || password.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Secret ", p.spec.superuser_secret, " needs non-empty keys username and password"));
  }
  return std::make_pair(user, password);
}

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::EnsureSuperuser(Pass& p) {
  // After the system keyspaces have their replication: the new role is then written to every
  // replica it will be read from (ReplicateSystemKeyspaces).
  if (p.auth_ready || !p.bootstrapped || !SystemKeyspacesReplicated(p)) return Flow::kContinue;
  const Member* target = p.FirstUp();
  if (!target) return Flow::kWait;
  ASSIGN_OR_RETURN(auto creds, SuperuserCredentials(p));
  absl::Status setup = seams_.cql->SetupSuperuser(target->address, {creds.first, creds.second});
  if (!setup.ok()) return base::Annotate(setup, "create the superuser");
  p.auth_ready = true;
  Event(p, false, reason::kSuperuserCreated,
        absl::StrCat("superuser ", creds.first, " ready; the default cassandra role is disabled"));
  return Flow::kContinue;
}

// ---- report -------------------------------------------------------------------------------

absl::Status ClusterReconciler::WriteStatus(Pass& p, const Json& status) {
  kube::Object next = p.cluster;
  next.json()["status"] = status;
  auto written = seams_.status->UpdateStatus(next);
  if (!written.ok()) return written.status();
  p.cluster = *std::move(written);
  p.old_status = status;
  std::lock_guard<std::mutex> lock(mu_);
  written_[p.cluster.key().ToString()] = std::make_shared<const kube::Object>(p.cluster);
  return absl::OkStatus();
}

absl::Status ClusterReconciler::RecordOperation(Pass& p, const Json& operation) {
  Json status = p.old_status;
  if (operation.is_null()) {
    status.erase("operation");
  } else {
    status["operation"] = operation;
  }
  RETURN_IF_ERROR(WriteStatus(p, status));
  p.operation = operation;
  return absl::OkStatus();
}

absl::Status ClusterReconciler::AdvanceOperation(Pass& p, Phase phase) {
  Json operation = p.operation;
  operation["phase"] = ToString(phase);
  return RecordOperation(p, operation);
}

absl::Status ClusterReconciler::DeleteIfSame(Pass& p, const kube::Resource& r,
                                             const std::string& name, const std::string& uid,
                                             bool without_grace) {
  absl::Status deleted = without_grace ? seams_.writer->DeleteWithoutGrace(r, p.spec.ns, name, uid)
                                       : seams_.writer->Delete(r, p.spec.ns, name, uid);
  // Conflict: the precondition failed, the name now belongs to a successor.
  if (absl::IsNotFound(deleted) || kube::IsConflict(deleted)) return absl::OkStatus();
  return deleted;
}

absl::Status ClusterReconciler::Report(Pass& p, const absl::Status& step_error) {
  Json status = p.old_status.is_object() ? p.old_status : Json::object();
  const int64_t generation = p.spec.generation;
  auto set_condition = [&](const char* type, bool value, const std::string& reason,
                           const std::string& message) {
    Json& conditions = status["conditions"];
    if (!conditions.is_array()) conditions = Json::array();
    const std::string s = value ? "True" : "False";
    for (auto& c : conditions) {
      if (kube::StringField(c, "type") != type) continue;
      if (kube::StringField(c, "status") != s)
        c["lastTransitionTime"] = kube::FormatRfc3339(seams_.clock->Now());
      c["status"] = s;
      c["reason"] = reason;
      c["message"] = message;
      c["observedGeneration"] = generation;
      return;
    }
    conditions.push_back({{"type", type},
                          {"status", s},
                          {"reason", reason},
                          {"message", message},
                          {"observedGeneration", generation},
                          {"lastTransitionTime", kube::FormatRfc3339(seams_.clock->Now())}});
  };

  // Members, per DC.
  int desired = 0, ready = 0;
  std::map<std::string, int> by_state;
  Json dcs = Json::array();
  for (const auto& dc : p.spec.dcs) {
    Json racks = Json::array();
    Json members = Json::array();
    for (const auto& rack : dc.racks) {
      int rack_ready = 0;
      for (const Member& m : p.members) {
        if (m.dc != dc.name || m.rack != rack.name) continue;
        const bool is_desired = m.ordinal < rack.members;
        if (is_desired && m.up_everywhere) ++rack_ready;
        Json member = {
            {"name", m.pod},
            {"pod", m.pod},
            {"rack", m.rack},
            {"address", m.address},
            {"state", m.state.empty() ? std::string(m.pod_object ? "?" : "Absent") : m.state},
            {"bootstrapped", m.bootstrapped}};
        if (m.info) {
          member["hostId"] = m.info->host_id;
          member["tokens"] = m.info->tokens.size();
          member["load"] = HumanBytes(m.info->load_bytes);
        }
        if (m.pod_object) {
          member["node"] = kube::StringField(m.pod_object->json()["spec"], "nodeName");
        }
        ++by_state[kube::StringField(member, "state")];
        members.push_back(std::move(member));
      }
      desired += rack.members;
      ready += rack_ready;
      racks.push_back(
          {{"name", rack.name}, {"members", rack.members}, {"readyMembers", rack_ready}});
    }
    dcs.push_back({{"name", dc.name}, {"racks", racks}, {"members", members}});
  }
  status["dataCenters"] = dcs;
  status["membersSummary"] = absl::StrCat(ready, "/", desired);
  status["bootstrapped"] = p.bootstrapped;
  status["authReady"] = p.auth_ready;
  if (p.operation.is_null()) {
    status.erase("operation");
  } else {
    status["operation"] = p.operation;
  }
  if (p.cleanup.is_null()) {
    status.erase("cleanup");
  } else {
    status["cleanup"] = p.cleanup;
  }
  if (!p.system_replication.empty()) status["systemReplication"] = p.system_replication;

  const bool replicas_match = p.RacksAtSize();
  const bool all_up = ready == desired;
  // Replicating the system keyspaces disturbs no one (Progressing says it runs): Ready does not
  // flap to False for it after a scale-up.
  // Nor does re-creating a StatefulSet with its pods orphaned (they keep running).
  const std::string operation_kind = kube::StringField(p.operation, "kind");
  const bool disruptive_operation =
      !p.operation.is_null() &&
      operation_kind != ToString(OperationKind::kReplicateSystemKeyspaces) &&
      operation_kind != ToString(OperationKind::kRecreateStatefulSet);
  const bool pods_updated = PodsAtCurrentRevision(p);
  const bool is_ready =
      all_up && replicas_match && pods_updated && p.auth_ready && !disruptive_operation;
  std::string progress_reason = reason::kIdle, progress_message = "nothing to do";
  if (!p.operation.is_null()) {
    progress_reason = kube::StringField(p.operation, "kind");
    const std::string pod = kube::StringField(p.operation, "pod");
    progress_message = absl::StrCat(progress_reason, pod.empty() ? "" : " of ", pod, ": ",
                                    kube::StringField(p.operation, "phase"));
  } else if (!p.bootstrapped) {
    progress_reason = reason::kCreating;
    progress_message = absl::StrCat(ready, " of ", desired, " members up");
  } else if (!p.progress_reason.empty()) {
    progress_reason = p.progress_reason;
    progress_message = p.progress_message;
  } else if (!p.cleanup.is_null()) {
    progress_reason = reason::kCleanup;
    progress_message = "cleanup of the members that gave ranges away";
  } else if (!p.scale_down_refusal.empty()) {
    // Nothing moves while the request is refused: not progressing, and the condition says why.
  } else if (!replicas_match) {
    progress_reason = reason::kScaling;
    progress_message = "racks are being resized";
  }
  const bool progressing = progress_reason != reason::kIdle;
  if (!step_error.ok()) {
    set_condition(condition::kReady, false, reason::kReconcileError,
                  std::string(step_error.message()));
  } else if (!p.config_refusal.empty()) {
    // Healthy, but the spec is not what runs: not Ready for this generation.
    set_condition(condition::kReady, false, reason::kUnknownConfigKeys, p.config_refusal);
  } else if (all_up && replicas_match && p.auth_ready && !disruptive_operation && !pods_updated) {
    set_condition(condition::kReady, false, reason::kPodsNotUpdated,
                  "a new pod template (config, version, JVM, restart request) is not rolled out "
                  "to every pod yet");
  } else if (is_ready) {
    set_condition(condition::kReady, true, reason::kAllMembersUp,
                  absl::StrCat(ready, " of ", desired, " members are UN as every node sees them"));
  } else {
    set_condition(condition::kReady, false, progressing ? progress_reason : reason::kMembersNotUp,
                  absl::StrCat(ready, " of ", desired, " members are UN as every node sees them",
                               p.waiting_in.empty() ? "" : "; waiting in step " + p.waiting_in));
  }
  set_condition(condition::kProgressing, progressing, progress_reason, progress_message);
  // Down outside an operation, or (operation or not) a pod that cannot start: a roll stuck on
  // a bad image or setting says so here, and fixing the spec rolls that pod first.
  std::vector<std::string> down, stuck;
  bool node_lost = false;
  for (const Member& m : p.members) {
    if (!m.node_lost.empty()) {
      stuck.push_back(absl::StrCat(m.pod, ": ", m.node_lost));
      node_lost = true;
    } else if (!m.trouble.empty()) {
      stuck.push_back(absl::StrCat(m.pod, ": ", m.trouble));
    } else if (m.bootstrapped && !m.up_everywhere &&
               kube::StringField(p.operation, "pod") != m.pod) {
      down.push_back(absl::StrCat(m.pod, " (", m.state.empty() ? "?" : m.state, ")"));
    }
  }
  if (!stuck.empty()) {
    down.insert(down.begin(), stuck.begin(), stuck.end());
    set_condition(condition::kDegraded, true,
                  node_lost ? reason::kNodeLost : reason::kPodNotStarting,
                  absl::StrJoin(down, "; "));
  } else {
    set_condition(condition::kDegraded, !down.empty(),
                  down.empty() ? reason::kAllMembersUp : reason::kMembersDown,
                  down.empty() ? "every joined member is up" : absl::StrJoin(down, ", "));
  }
  if (p.scale_down_refusal.empty()) {
    set_condition(condition::kScaleDownRefused, false, reason::kNotRefused,
                  "no scale-down is refused");
  } else {
    set_condition(condition::kScaleDownRefused, true, p.scale_down_refusal_reason,
                  p.scale_down_refusal);
  }
  const VolumesVerdict volumes = JudgeVolumes(p.volumes, p.volumes_blocked);
  set_condition(condition::kVolumesResized, volumes.resized, volumes.reason, volumes.message);
  if (p.config_refusal.empty()) {
    set_condition(condition::kConfigRefused, false, reason::kConfigAccepted,
                  "every configured key is known to this Cassandra version");
  } else {
    set_condition(condition::kConfigRefused, true, reason::kUnknownConfigKeys, p.config_refusal);
  }
  set_condition(condition::kPaused, p.spec.paused,
                p.spec.paused ? reason::kPaused : reason::kNotPaused,
                p.spec.paused ? "spec.paused: observing and reporting only" : "reconciling");
  status["observedGeneration"] = generation;

  if (options_.metrics) options_.metrics->Set(p.cluster.key(), by_state, is_ready);
  if (status == p.old_status) return absl::OkStatus();
  spdlog::debug("cluster {}: status changes: {}", p.cluster.key().ToString(),
                Json::diff(p.old_status, status).dump());
  return base::Annotate(WriteStatus(p, status), "status");
}

// ---- helpers ------------------------------------------------------------------------------

std::string PodTrouble(const kube::Object& pod, absl::Time now, absl::Duration start_timeout) {
  static const std::set<std::string> kStuck = {
      "CrashLoopBackOff",  "ImagePullBackOff",           "ErrImagePull",
      "InvalidImageName",  "CreateContainerConfigError", "CreateContainerError",
      "RunContainerError", "ErrImageNeverPull"};
  const Json& status = pod.json()["status"];
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.is_object() || !status.contains(list) || !status[list].is_array()) continue;
    for (const auto& c : status[list]) {
      const Json& waiting = c["state"]["waiting"];
      const std::string why = kube::StringField(waiting, "reason");
      if (kStuck.count(why)) {
        return absl::StrCat(why, " (container ", kube::StringField(c, "name"), ")",
                            kube::StringField(waiting, "message").empty() ? "" : ": ",
                            kube::StringField(waiting, "message"));
      }
    }
  }
  if (status.is_object() && status.contains("conditions") && status["conditions"].is_array()) {
    for (const auto& c : status["conditions"]) {
      if (kube::StringField(c, "type") == "PodScheduled" &&
          kube::StringField(c, "status") == "False") {
        return absl::StrCat(kube::StringField(c, "reason"), ": ", kube::StringField(c, "message"));
      }
    }
  }
  absl::Time created;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, pod.String("/metadata/creationTimestamp"), &created,
                      &err) &&
      now - created > start_timeout) {
    return absl::StrCat("not Ready ", absl::FormatDuration(now - created), " after its creation");
  }
  return "";
}

std::string ClusterReconciler::CurrentRevision(const Pass& p, const std::string& dc,
                                               const std::string& rack) {
  const std::string name = StatefulSetName(p.spec, dc, rack);
  auto it = p.statefulsets.find(name);
  if (it == p.statefulsets.end() || p.applied.count("StatefulSet/" + name)) return "";
  const Json& status = it->second->json()["status"];
  if (kube::IntField(status, "observedGeneration") < it->second->generation()) return "";
  return kube::StringField(status, "updateRevision");
}

bool ClusterReconciler::PodsAtCurrentRevision(const Pass& p) {
  for (const auto& [name, sts] : p.statefulsets) {
    // Applied in this pass: its template may have changed, the controller has not seen it yet.
    if (p.applied.count("StatefulSet/" + name)) return false;
    const kube::Json& status = sts->json()["status"];
    if (kube::IntField(status, "observedGeneration") < sts->generation()) return false;
    const std::string update = kube::StringField(status, "updateRevision");
    for (const Member& m : p.members) {
      if (!m.pod_object || StatefulSetName(p.spec, m.dc, m.rack) != name) continue;
      if (!m.revision.empty() && m.revision != update) return false;
    }
  }
  return true;
}

std::shared_ptr<NodeAgent> ClusterReconciler::Agent(Pass& p, const std::string& address) {
  return seams_.agents->For(address, p.agent_token);
}

void ClusterReconciler::Event(Pass& p, bool warning, const char* reason,
                              const std::string& message) {
  spdlog::info("cluster {}: {}: {}", p.cluster.key().ToString(), reason, message);
  seams_.events->Event(p.cluster, warning, reason, message);
}

}  // namespace ringkeeper
