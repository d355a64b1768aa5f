// Observe: the Cluster's objects from the caches and every agent's view of its node and of the
// ring, into the Pass (members, their states, sticky facts from status); TrackBootstrap; what
// keeps a pod from starting; whether every pod runs its StatefulSet's current template.
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/resource.h"
#include "operator/cache_transforms.h"
#include "operator/desired.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/volumes.h"

namespace ringkeeper {
namespace {

using kube::Json;
namespace res = kube::resources;

bool PodReady(const kube::Object& pod) {
  const Json& conditions = kube::FieldAt(pod.json(), {"status", "conditions"});
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions) {
    if (kube::StringField(c, "type") == "Ready") return kube::StringField(c, "status") == "True";
  }
  return false;
}

// Members: every desired one and every pod that still exists beyond (a leaving member).
void ListMembers(ClusterReconciler::Pass& p) {
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
  // Data centers no longer in the spec: their members are listed (they leave one by one by
  // decommission), none wanted.
  std::map<std::pair<std::string, std::string>, int> leaving;  // (dc, rack) -> members
  for (const auto& [name, sts] : p.statefulsets) {
    const std::string dc = sts->label(kLabelDataCenter).value_or("");
    const std::string rack = sts->label(kLabelRack).value_or("");
    if (dc.empty() || rack.empty() || p.spec.FindDc(dc)) continue;
    int& count = leaving[{dc, rack}];
    count = std::max(count, static_cast<int>(kube::IntField(sts->json()["spec"], "replicas")));
  }
  for (const auto& [name, pod] : p.pods) {
    auto it = leaving.find(
        {pod->label(kLabelDataCenter).value_or(""), pod->label(kLabelRack).value_or("")});
    if (it != leaving.end()) it->second = std::max(it->second, OrdinalOf(name) + 1);
  }
  for (const auto& [where, count] : leaving) {
    p.leaving_dcs.insert(where.first);
    for (int i = 0; i < count; ++i) {
      Member m;
      m.pod = PodName(p.spec, where.first, where.second, i);
      m.dc = where.first;
      m.rack = where.second;
      m.ordinal = i;
      m.wanted = false;
      p.members.push_back(std::move(m));
    }
  }
}

// What the objects say of each member: its sticky facts from the last status, its Service's
// address, its pod (not one being deleted) and what keeps that pod from starting.
void ReadMemberObjects(ClusterReconciler::Pass& p, absl::Time now, absl::Duration start_timeout) {
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
        m.trouble = PodTrouble(*it->second, now, start_timeout);
      }
    }
  }
}

// Each member's state as the others see it; up everywhere = UN in every view.
void JudgeStates(ClusterReconciler::Pass& p) {
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
}

}  // namespace

// ---- observe ------------------------------------------------------------------------------

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::Observe(Pass& p) {
  const std::string cluster = absl::StrCat(p.spec.ns, "/", p.spec.name);
  auto collect = [&](const kube::Store* store, std::map<std::string, kube::ObjectPtr>& out) {
    for (auto& o : store->ByIndex(kIndexCluster, cluster)) out[o->name()] = o;
  };
  collect(caches_.statefulsets, p.statefulsets);
  collect(caches_.services, p.services);
  collect(caches_.pods, p.pods);
  collect(caches_.configmaps, p.configmaps);
  collect(caches_.pvcs, p.pvcs);
  collect(caches_.pdbs, p.pdbs);
  if (caches_.networkpolicies) collect(caches_.networkpolicies, p.networkpolicies);
  p.volumes = ObserveVolumes(p.spec, p.statefulsets, p.pvcs);

  ListMembers(p);
  ReadMemberObjects(p, seams_.clock->Now(), options_.start_timeout);
  // Never bootstrapped and no member ever joined: every rack starts all its members at once,
  // also when an earlier pass created only some of the StatefulSets (a crash, a rack whose
  // placement failed) -- a rack left at 0 would keep bootstrap from ever completing.
  p.brand_new = !p.old_status.value("bootstrapped", false) &&
                std::none_of(p.members.begin(), p.members.end(),
                             [](const Member& m) { return m.bootstrapped; });

  // The agents: each running member's own view of itself and of the ring.
  auto credentials = agent_credentials_.Get(p.spec);
  if (credentials.ok()) {
    p.agent_credentials = *std::move(credentials);
    p.agent_secret_found = true;
  } else if (!absl::IsNotFound(credentials.status())) {
    return credentials.status();
  }
  if (!p.agent_credentials.token.empty()) {
    for (Member& m : p.members) {
      if (m.pod_ip.empty()) continue;
      // A leaving data center's member that left the ring (its Service removed): its node no
      // longer gossips, and its stale view of the ring would call the others down.
      if (p.leaving_dcs.count(m.dc) && m.address.empty()) continue;
      std::shared_ptr<NodeAgent> agent = Agent(p, m);
      auto info = agent->NodeInfo();
      if (info.ok()) m.info = *std::move(info);
      auto ring = agent->Ring();
      if (ring.ok()) p.ring_views.push_back({m.pod, *std::move(ring)});
    }
  }
  JudgeStates(p);
  return Flow::kContinue;
}

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

std::string PodTrouble(const kube::Object& pod, absl::Time now, absl::Duration start_timeout) {
  static const std::set<std::string> kStuck = {
      "CrashLoopBackOff",  "ImagePullBackOff",           "ErrImagePull",
      "InvalidImageName",  "CreateContainerConfigError", "CreateContainerError",
      "RunContainerError", "ErrImageNeverPull"};
  const Json& status = kube::FieldAt(pod.json(), {"status"});
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.is_object() || !status.contains(list) || !status[list].is_array()) continue;
    for (const auto& c : status[list]) {
      const Json& waiting = kube::FieldAt(c, {"state", "waiting"});
      const std::string why = kube::StringField(waiting, "reason");
      if (kStuck.count(why)) {
        return absl::StrCat(why, " (container ", kube::StringField(c, "name"), ")",
                            kube::StringField(waiting, "message").empty() ? "" : ": ",
                            kube::StringField(waiting, "message"));
      }
    }
  }
  // Between two back-offs a crash-looping container runs for a while (Cassandra reads its
  // config a few seconds after the JVM starts): no waiting reason then, but the crash it is
  // recovering from is still there, so the pod stays in trouble until it is Ready.
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.is_object() || !status.contains(list) || !status[list].is_array()) continue;
    for (const auto& c : status[list]) {
      const Json& crashed = kube::FieldAt(c, {"lastState", "terminated"});
      if (!crashed.is_object() || kube::IntField(crashed, "exitCode") == 0) continue;
      return absl::StrCat("restarting after a crash (container ", kube::StringField(c, "name"),
                          " exited with code ", kube::IntField(crashed, "exitCode"), ": ",
                          kube::StringField(crashed, "reason"), "; ",
                          kube::IntField(c, "restartCount"), " restarts)");
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

}  // namespace ringkeeper
