#include "operator/repairs.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "operator/pass.h"
#include "operator/system_keyspaces.h"
#include "repair/plan.h"

namespace ringkeeper {

using kube::FieldAt;
using kube::Json;
using kube::StringField;
namespace api = agent::api;
namespace res = kube::resources;

namespace {

absl::Time ParsedTime(const std::string& rfc3339) {
  return kube::ParseRfc3339(rfc3339).value_or(absl::InfinitePast());
}

constexpr size_t kMaxPlanBytes = size_t{900} * 1024;  // a ConfigMap holds 1 MiB

// Why no segment may start ("" when they may), with the time it became so.
void SetWaiting(RepairStatus& status, const std::string& why, absl::Time now) {
  if (status.waiting == why) return;
  status.waiting = why;
  status.waiting_since = kube::FormatRfc3339(now);
}

}  // namespace

std::string RepairPlanName(const std::string& repair) { return repair + "-plan"; }

struct RepairReconciler::Pass {
  kube::ObjectPtr object;
  RepairSpec spec;
  RepairStatus status, old_status;
  kube::ObjectPtr cluster;
  ClusterSpec cluster_spec;
  absl::Time now;
  // The members: pod <-> address (its Service's ClusterIP, the node's broadcast address), and
  // each address's state and data center in the ring as one member sees it.
  std::map<std::string, std::string> pod_of, address_of;
  std::map<std::string, std::string> state_of, dc_of;
  std::map<std::string, api::NodeInfo> info;  // asked once a pass, by pod
  std::set<std::string> busy;                 // pods in a running segment
  std::set<std::string> postponed_now;        // reasons already counted this pass
};

RepairReconciler::RepairReconciler(Seams seams, RepairCaches caches,
                                   RepairReconcilerOptions options)
    : seams_(seams), caches_(caches), options_(options), access_(seams) {}

absl::StatusOr<kube::Result> RepairReconciler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr object = caches_.repairs->Get(key.ToString());
  if (!object || object->being_deleted()) {
    written_.Forget(key.ToString());
    if (object) {
      std::lock_guard<std::mutex> lock(mu_);
      plans_.erase(object->uid());
    }
    return kube::Result{};
  }
  object = written_.Newest(key.ToString(), object);  // never act on an older record
  auto spec = ParseRepair(*object);
  if (!spec.ok()) return kube::TerminalError(spec.status());
  Pass p;
  p.object = object;
  p.spec = *std::move(spec);
  p.old_status = ParseRepairStatus(FieldAt(object->json(), {"status"}));
  p.status = p.old_status;
  p.now = seams_.clock->Now();
  if (p.status.Finished()) return kube::Result{};

  p.cluster = caches_.clusters->Get(kube::ObjectKey{p.spec.ns, p.spec.cluster}.ToString());
  absl::Status step;
  if (!p.cluster) {
    Fail(p, reason::kClusterNotFound,
         absl::StrCat("Cluster ", p.spec.cluster, " not found in namespace ", p.spec.ns));
  } else if (auto parsed = ParseCluster(*p.cluster, Defaults{}); !parsed.ok()) {
    step = parsed.status();
  } else {
    p.cluster_spec = *std::move(parsed);
    step =
        p.status.phase.empty() || p.status.phase == backup_phase::kPending ? Start(p) : Continue(p);
  }
  RETURN_IF_ERROR(WriteStatus(p));
  RETURN_IF_ERROR(step);
  kube::Result result;
  if (!p.status.Finished()) result.requeue_after = NextLook(p);
  return result;
}

void RepairReconciler::Fail(Pass& p, const char* why, const std::string& message) {
  p.status.Fail(why, message, kube::FormatRfc3339(p.now));
  SetWaiting(p.status, "", p.now);
  spdlog::warn("repair {}: {}: {}", p.object->key().ToString(), why, message);
  seams_.events->Event(*p.object, true, reason::kRepairFailed, absl::StrCat(why, ": ", message));
}

bool RepairReconciler::WaitForRepairAhead(Pass& p) {
  auto created = [](const kube::Object& r) {
    return std::make_pair(StringField(r.json()["metadata"], "creationTimestamp"), r.name());
  };
  const auto mine = created(*p.object);
  for (const kube::ObjectPtr& r : ObjectsOfCluster(*caches_.repairs, p.cluster_spec)) {
    if (r->uid() == p.spec.uid || created(*r) >= mine ||
        ParseRepairStatus(FieldAt(r->json(), {"status"})).Finished()) {
      continue;
    }
    if (p.status.waiting != reason::kRepairAhead) {
      spdlog::info("repair {}: waits for Repair {} of the same Cluster", p.object->key().ToString(),
                   r->name());
    }
    SetWaiting(p.status, reason::kRepairAhead, p.now);
    return true;
  }
  return false;
}

absl::Duration RepairReconciler::NextLook(const Pass& p) const {
  absl::Duration next = options_.poll;
  for (const RunningSegment& r : p.status.running) {
    next = std::min(next, std::max(options_.quick_poll, (p.now - ParsedTime(r.started)) / 4));
  }
  return next;
}

absl::Status RepairReconciler::ObserveMembers(Pass& p) {
  p.address_of = MemberAddresses(*p.cluster, *caches_.services);
  for (const auto& [pod, address] : p.address_of) p.pod_of[address] = pod;
  absl::Status last = absl::UnavailableError("the Cluster reports no member");
  for (const auto& [pod, address] : p.address_of) {
    auto agent = access_.AgentOf(p.cluster_spec, *caches_.pods, pod);
    if (!agent.ok()) {
      last = agent.status();
      continue;
    }
    auto ring = (*agent)->Ring();
    if (!ring.ok()) {
      last = ring.status();
      continue;
    }
    for (const api::RingEndpoint& e : ring->endpoints) {
      p.state_of[e.address] = e.status + e.state;
      p.dc_of[e.address] = e.dc;
    }
    return absl::OkStatus();
  }
  return base::Annotate(last, "read the ring from a member's agent");
}

// ---- Pending: the checks and the plan -----------------------------------------------------

absl::Status RepairReconciler::Start(Pass& p) {
  for (const std::string& dc : p.spec.datacenters) {
    const bool known = std::any_of(p.cluster_spec.dcs.begin(), p.cluster_spec.dcs.end(),
                                   [&](const DataCenterSpec& d) { return d.name == dc; });
    if (!known) {
      Fail(p, reason::kDataCenterNotFound,
           absl::StrCat("data center ", dc, " is not one of Cluster ", p.spec.cluster, "'s"));
      return absl::OkStatus();
    }
  }
  if (std::string why; !ReportedReady(*p.cluster, &why)) {
    p.status.phase = backup_phase::kPending;
    SetWaiting(p.status, reason::kClusterNotReady, p.now);  // a repair needs every replica
    return absl::OkStatus();
  }
  if (WaitForRepairAhead(p)) {
    p.status.phase = backup_phase::kPending;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ObserveMembers(p));
  ASSIGN_OR_RETURN(std::vector<std::string> keyspaces, KeyspacesToRepair(p));
  if (p.status.Finished()) return absl::OkStatus();  // one is missing

  Json data = Json::object();
  size_t bytes = 0;
  std::vector<RepairKeyspaceStatus> planned;
  for (const std::string& k : keyspaces) {
    ASSIGN_OR_RETURN(std::vector<repair::Segment> segments, PlanKeyspace(p, k));
    if (segments.empty()) continue;  // one replica everywhere: nothing to compare
    const std::string text = repair::EncodePlan(segments);
    bytes += text.size();
    data[k] = text;
    RepairKeyspaceStatus ks;
    ks.name = k;
    ks.total = int(segments.size());
    ks.done_bits = repair::Progress(ks.total).Encode();
    planned.push_back(std::move(ks));
  }
  if (bytes > kMaxPlanBytes) {
    Fail(p, reason::kPlanTooLarge,
         absl::StrCat("the plan takes ", bytes, " bytes, more than a ConfigMap holds: lower ",
                      "spec.segmentsPerNode or name fewer keyspaces"));
    return absl::OkStatus();
  }
  Json owner = {{"apiVersion", kRepairs.api_version()},
                {"kind", kRepairs.kind},
                {"name", p.spec.name},
                {"uid", p.spec.uid},
                {"controller", true},
                {"blockOwnerDeletion", true}};
  Json plan = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata",
                {{"name", RepairPlanName(p.spec.name)},
                 {"namespace", p.spec.ns},
                 {"labels", {{kLabelCluster, p.spec.cluster}}},
                 {"ownerReferences", Json::array({owner})}}},
               {"data", data}};
  auto written = seams_.writer->Apply(res::kConfigMaps, plan);
  if (!written.ok()) return base::Annotate(written.status(), "write the repair's plan");
  p.status.plan = RepairPlanName(p.spec.name);
  p.status.keyspaces = std::move(planned);
  p.status.phase = backup_phase::kRunning;
  p.status.start_time = kube::FormatRfc3339(p.now);
  SetWaiting(p.status, "", p.now);
  std::vector<std::string> names;
  for (const auto& k : p.status.keyspaces) names.push_back(k.name);
  seams_.events->Event(
      *p.object, false, reason::kRepairStarted,
      absl::StrCat(p.spec.type, " repair of ", p.status.Total(), " segments (",
                   names.empty() ? "nothing to repair" : absl::StrJoin(names, ", "), ")"));
  if (p.status.Total() == 0) {  // every keyspace has one replica: done at once
    p.status.phase = backup_phase::kComplete;
    p.status.completion_time = p.status.start_time;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RepairReconciler::KeyspacesToRepair(Pass& p) {
  const std::string host = p.address_of.begin()->second;
  ASSIGN_OR_RETURN(CqlCredentials login,
                   ReadSuperuser(*seams_.reader, p.cluster_spec, p.cluster.get()));
  auto session = seams_.cql->Connect(host, login);
  if (!session.ok()) return base::Annotate(session.status(), "CQL session to read the schema");
  ASSIGN_OR_RETURN(auto replication, ReadReplication(**session));
  ASSIGN_OR_RETURN(const std::vector<repair::TableCoverage> tables, ReadTables(**session));
  std::set<std::string> known_tables;
  for (const repair::TableCoverage& t : tables) known_tables.insert(t.Key());
  for (const std::string& t : p.spec.tables) {
    if (!known_tables.count(t)) {
      Fail(p, reason::kTableNotFound, absl::StrCat("table ", t, " does not exist"));
      return std::vector<std::string>{};
    }
  }
  std::vector<std::string> out;
  if (!p.spec.keyspaces.empty()) {
    for (const std::string& k : p.spec.keyspaces) {
      if (!replication.count(k)) {
        Fail(p, reason::kKeyspaceNotFound, absl::StrCat("keyspace ", k, " does not exist"));
        return std::vector<std::string>{};
      }
      out.push_back(k);
    }
  } else {
    for (const auto& [k, r] : replication) {
      if (IsLocalKeyspace(k) || ReplicaCount(r, p.spec.datacenters) < 2) continue;
      out.push_back(k);
    }
  }
  if (!p.spec.tables.empty()) {  // only the keyspaces of the tables named
    std::vector<std::string> with_tables;
    for (const std::string& k : out) {
      if (!p.spec.TablesOf(k).empty()) with_tables.push_back(k);
    }
    if (p.spec.keyspaces.empty()) {
      for (const std::string& t : p.spec.tables) {
        const std::string k = t.substr(0, t.find('.'));
        if (std::find(with_tables.begin(), with_tables.end(), k) == with_tables.end()) {
          with_tables.push_back(k);
        }
      }
    }
    out = std::move(with_tables);
  }
  return out;
}

absl::StatusOr<std::vector<repair::Segment>> RepairReconciler::PlanKeyspace(
    Pass& p, const std::string& keyspace) {
  absl::Status last = absl::UnavailableError("no member's agent answers");
  for (const auto& [pod, address] : p.address_of) {
    if (p.state_of[address] != "UN") continue;
    auto agent = access_.AgentOf(p.cluster_spec, *caches_.pods, pod);
    if (!agent.ok()) {
      last = agent.status();
      continue;
    }
    auto map = (*agent)->Ranges(keyspace);
    if (!map.ok()) {
      last = map.status();
      continue;
    }
    std::vector<repair::ReplicatedRange> ranges;
    for (const api::TokenRange& r : map->ranges) {
      repair::ReplicatedRange rr;
      if (!absl::SimpleAtoi(r.start, &rr.range.start) || !absl::SimpleAtoi(r.end, &rr.range.end)) {
        return absl::InternalError(
            absl::StrCat("range (", r.start, ", ", r.end, "] of ", keyspace, " is not tokens"));
      }
      rr.replicas = r.endpoints;
      ranges.push_back(std::move(rr));
    }
    ASSIGN_OR_RETURN(std::vector<repair::Segment> segments,
                     repair::PlanSegments(ranges, p.spec.segments_per_node));
    std::vector<repair::Segment> out;
    for (repair::Segment& s : segments) {
      if (!p.spec.datacenters.empty()) {  // only the replicas in those data centers take part
        std::vector<std::string> kept;
        for (const std::string& a : s.replicas) {
          const std::string& dc = p.dc_of[a];
          if (std::find(p.spec.datacenters.begin(), p.spec.datacenters.end(), dc) !=
              p.spec.datacenters.end()) {
            kept.push_back(a);
          }
        }
        s.replicas = std::move(kept);
      }
      if (s.replicas.size() >= 2) out.push_back(std::move(s));
    }
    return out;
  }
  return base::Annotate(last, absl::StrCat("plan the segments of ", keyspace));
}

// ---- Running ------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const RepairReconciler::Plan>> RepairReconciler::LoadPlan(Pass& p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = plans_.find(p.spec.uid); it != plans_.end()) return it->second;
  }
  auto cm = seams_.reader->Get(res::kConfigMaps, p.spec.ns, p.status.plan);
  if (absl::IsNotFound(cm.status())) {
    Fail(p, reason::kPlanNotFound,
         absl::StrCat("ConfigMap ", p.status.plan,
                      " (the segments) is gone; create a new Repair to repair again"));
    return nullptr;
  }
  if (!cm.ok()) return base::Annotate(cm.status(), "read the repair's plan");
  auto plan = std::make_shared<Plan>();
  const Json& data = FieldAt(cm->json(), {"data"});
  for (const RepairKeyspaceStatus& k : p.status.keyspaces) {
    auto segments = repair::DecodePlan(StringField(data, k.name.c_str()));
    if (!segments.ok() || int(segments->size()) != k.total) {
      Fail(p, reason::kPlanNotFound,
           absl::StrCat("ConfigMap ", p.status.plan, " does not hold the ", k.total,
                        " segments of ", k.name, " this repair planned"));
      return nullptr;
    }
    (*plan)[k.name] = *std::move(segments);
  }
  std::lock_guard<std::mutex> lock(mu_);
  plans_[p.spec.uid] = plan;
  return std::shared_ptr<const Plan>(plan);
}

absl::Status RepairReconciler::Continue(Pass& p) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, LoadPlan(p));
  if (!plan) return absl::OkStatus();  // failed
  absl::Status observed = ObserveMembers(p);
  for (auto it = p.status.resting.begin(); it != p.status.resting.end();) {
    it = ParsedTime(it->second) <= p.now ? p.status.resting.erase(it) : std::next(it);
  }

  // The running segments first: what they did decides who is free.
  std::vector<RunningSegment> still;
  absl::Status first_error;
  for (RunningSegment& r : p.status.running) {
    auto left = Follow(p, *plan, r);
    if (p.status.Finished()) return absl::OkStatus();
    if (!left.ok()) {
      if (first_error.ok()) first_error = left.status();
      still.push_back(r);
    } else if (!*left) {
      still.push_back(r);
    }
  }
  p.status.running = std::move(still);
  for (const RunningSegment& r : p.status.running)
    p.busy.insert(r.replicas.begin(), r.replicas.end());

  if (p.status.Done() == p.status.Total() && p.status.running.empty()) {
    p.status.phase = backup_phase::kComplete;
    p.status.completion_time = kube::FormatRfc3339(p.now);
    SetWaiting(p.status, "", p.now);
    std::string found;
    if (p.spec.type == repair_type::kPreview) {
      int64_t ranges = 0, bytes = 0;
      for (const auto& k : p.status.keyspaces) {
        ranges += k.mismatching_ranges;
        bytes += k.mismatching_bytes;
      }
      found = ranges == 0 ? ": in sync"
                          : absl::StrCat(": ", ranges, " ranges out of sync, about ", bytes,
                                         " bytes to stream");
    }
    seams_.events->Event(
        *p.object, false, reason::kRepairComplete,
        absl::StrCat(p.status.Total(), " segments ",
                     p.spec.type == repair_type::kPreview ? "previewed" : "repaired", " in ",
                     p.status.segment_seconds, "s of sessions", found));
    return first_error;
  }

  // A disruptive operation of the Cluster (a roll, a scale, a replacement) goes first, and an
  // upgrade: Cassandra does not repair across versions.
  if (FieldAt(p.cluster->json(), {"status", "operation"}).is_object() ||
      FieldAt(p.cluster->json(), {"status", "upgrade"}).is_object()) {
    for (const RunningSegment& r : p.status.running) StopEverywhere(p, r);
    if (!p.status.running.empty()) {
      spdlog::info("repair {}: {} segments stopped for the Cluster's operation",
                   p.object->key().ToString(), p.status.running.size());
    }
    p.status.running.clear();  // tried again afterwards, the attempt not counted
    SetWaiting(p.status, reason::kClusterOperation, p.now);
    return first_error;
  }
  if (p.spec.paused) {
    SetWaiting(p.status, reason::kPaused, p.now);
    return first_error;
  }
  if (WaitForRepairAhead(p)) return first_error;
  SetWaiting(p.status, "", p.now);
  if (!observed.ok()) return observed;  // no ring view: nothing new starts
  StartSegments(p, *plan);
  return first_error;
}

absl::StatusOr<bool> RepairReconciler::Follow(Pass& p, const Plan& plan, RunningSegment& r) {
  const absl::Duration timeout = absl::Seconds(p.spec.segment_timeout_seconds);
  const bool timed_out = p.now - ParsedTime(r.started) > timeout;
  auto agent = access_.AgentOf(p.cluster_spec, *caches_.pods, r.coordinator);
  if (!agent.ok()) {
    if (!timed_out) return false;  // no address yet: later
    SegmentFailed(p, r, absl::StrCat(r.coordinator, " unreachable: ", agent.status().message()));
    return true;
  }
  if (r.operation.empty()) {  // recorded, not asked yet (or its agent forgot it)
    if (timed_out) {
      SegmentFailed(p, r, absl::StrCat(r.coordinator, " did not take the segment in time"));
      return true;
    }
    if (absl::Status s = Ask(p, plan, r); !s.ok()) {  // asked again next pass
      spdlog::info("repair {}: ask {} for segment {} of {}: {}", p.object->key().ToString(),
                   r.coordinator, r.segment, r.keyspace, s.message());
    }
    return false;
  }
  auto op = (*agent)->Operation(r.operation);
  if (absl::IsNotFound(op.status())) {
    // The agent restarted and forgot it: asked again (the same run key).
    spdlog::info("repair {}: {} lost operation {}: asking again", p.object->key().ToString(),
                 r.coordinator, r.operation);
    r.operation.clear();
    return false;
  }
  if (!op.ok()) {
    if (!timed_out) return false;  // unreachable for now
    SegmentFailed(p, r, absl::StrCat(r.coordinator, ": ", op.status().message()));
    return true;
  }
  if (op->state == api::kStateSucceeded) {
    SegmentDone(p, r, *op);
    return true;
  }
  if (op->state != api::kStateRunning) {
    SegmentFailed(p, r, op->message.empty() ? op->state : op->message);
    return true;
  }
  if (timed_out) {
    SegmentFailed(p, r,
                  absl::StrCat("still running after ", p.spec.segment_timeout_seconds,
                               "s (spec.segmentTimeoutSeconds)"));
    return true;
  }
  return false;
}

void RepairReconciler::SegmentDone(Pass& p, const RunningSegment& r, const api::Operation& op) {
  for (RepairKeyspaceStatus& k : p.status.keyspaces) {
    if (k.name != r.keyspace) continue;
    auto progress = repair::Progress::Decode(k.done_bits, k.total);
    repair::Progress bits = progress.ok() ? *progress : repair::Progress(k.total);
    bits.MarkDone(r.segment);
    k.done_bits = bits.Encode();
    k.done = bits.Count();
    if (op.preview.done) {
      k.mismatching_ranges += op.preview.ranges;
      k.mismatching_bytes += op.preview.bytes;
      for (const std::string& t : op.preview.tables) {
        if (std::find(k.mismatching_tables.begin(), k.mismatching_tables.end(), t) ==
            k.mismatching_tables.end()) {
          k.mismatching_tables.push_back(t);
        }
      }
    }
  }
  std::erase_if(p.status.retrying, [&](const FailedSegment& f) {
    return f.keyspace == r.keyspace && f.segment == r.segment;
  });
  // The segment's time, from the agent's clock when it reports both ends.
  absl::Duration took = p.now - ParsedTime(r.started);
  if (op.finished_unix > 0 && op.started_unix > 0) {
    took = absl::Seconds(op.finished_unix - op.started_unix);
  }
  took = std::max(took, absl::ZeroDuration());
  p.status.segment_seconds += absl::ToInt64Seconds(took);
  const absl::Duration rest = took * ((1 - p.spec.intensity) / p.spec.intensity);
  if (rest > absl::ZeroDuration()) {
    const std::string until = kube::FormatRfc3339(p.now + rest);
    for (const std::string& pod : r.replicas) p.status.resting[pod] = until;
  }
}

void RepairReconciler::SegmentFailed(Pass& p, const RunningSegment& r, const std::string& message) {
  StopEverywhere(p, r);
  ++p.status.failed_attempts;
  int attempts = r.attempt;
  auto it = std::find_if(
      p.status.retrying.begin(), p.status.retrying.end(),
      [&](const FailedSegment& f) { return f.keyspace == r.keyspace && f.segment == r.segment; });
  if (it == p.status.retrying.end()) {
    p.status.retrying.push_back({r.keyspace, r.segment, attempts, message});
  } else {
    it->attempts = attempts;
    it->message = message;
  }
  spdlog::warn("repair {}: segment {} of {} failed (attempt {} of {}): {}",
               p.object->key().ToString(), r.segment, r.keyspace, attempts, kMaxSegmentAttempts,
               message);
  if (attempts < kMaxSegmentAttempts) return;
  for (const RunningSegment& other : p.status.running) {
    if (other.keyspace != r.keyspace || other.segment != r.segment) StopEverywhere(p, other);
  }
  p.status.running.clear();
  Fail(p, reason::kSegmentFailed,
       absl::StrCat("segment ", r.segment, " of ", r.keyspace, " failed ", attempts,
                    " times; the last: ", message));
}

void RepairReconciler::StopEverywhere(Pass& p, const RunningSegment& r) {
  api::OperationRequest stop;
  stop.kind = api::kOpStopRepairs;
  for (const std::string& pod : r.replicas) {
    auto agent = access_.AgentOf(p.cluster_spec, *caches_.pods, pod);
    absl::Status s = agent.ok() ? (*agent)->Start(stop).status() : agent.status();
    // A replica down holds no session; a stop already running does this one's work.
    if (!s.ok() && !absl::IsAlreadyExists(s)) {
      spdlog::info("repair {}: stop_repairs on {}: {}", p.object->key().ToString(), pod,
                   s.message());
    }
  }
}

std::string RepairReconciler::Blocked(Pass& p, const std::vector<std::string>& pods) {
  for (const std::string& pod : pods) {
    if (p.busy.count(pod)) return reason::kReplicaBusy;
  }
  for (const std::string& pod : pods) {
    if (p.status.resting.count(pod)) return reason::kReplicaResting;
  }
  for (const std::string& pod : pods) {
    auto a = p.address_of.find(pod);
    if (a == p.address_of.end() || p.state_of[a->second] != "UN") return reason::kReplicaNotUp;
  }
  for (const std::string& pod : pods) {
    auto it = p.info.find(pod);
    if (it == p.info.end()) {
      auto agent = access_.AgentOf(p.cluster_spec, *caches_.pods, pod);
      auto info = agent.ok() ? (*agent)->NodeInfo() : agent.status();
      if (!info.ok()) return reason::kReplicaNotUp;
      it = p.info.emplace(pod, *info).first;
    }
    if (it->second.pending_compactions > options_.max_pending_compactions) {
      return reason::kPendingCompactions;
    }
  }
  return "";
}

void RepairReconciler::StartSegments(Pass& p, const Plan& plan) {
  std::vector<RunningSegment> started;
  for (const RepairKeyspaceStatus& k : p.status.keyspaces) {
    auto segments = plan.find(k.name);
    if (segments == plan.end()) continue;
    auto progress = repair::Progress::Decode(k.done_bits, k.total);
    if (!progress.ok()) continue;
    for (int i = 0; i < k.total; ++i) {
      if (progress->done(i)) continue;
      const bool running = std::any_of(
          p.status.running.begin(), p.status.running.end(),
          [&](const RunningSegment& r) { return r.keyspace == k.name && r.segment == i; });
      if (running) continue;
      std::vector<std::string> pods;
      for (const std::string& address : segments->second[i].replicas) {
        auto it = p.pod_of.find(address);
        pods.push_back(it == p.pod_of.end() ? address : it->second);
      }
      const std::string blocked = Blocked(p, pods);
      if (blocked == reason::kReplicaBusy) continue;  // the normal wait for a free node
      if (!blocked.empty()) {
        if (p.postponed_now.insert(blocked).second) ++p.status.postponed[blocked];
        continue;
      }
      RunningSegment r;
      r.keyspace = k.name;
      r.segment = i;
      for (const FailedSegment& f : p.status.retrying) {
        if (f.keyspace == k.name && f.segment == i) r.attempt = f.attempts + 1;
      }
      r.coordinator = pods.front();
      r.replicas = pods;
      r.started = kube::FormatRfc3339(p.now);
      p.busy.insert(pods.begin(), pods.end());
      started.push_back(std::move(r));
    }
  }
  if (started.empty()) return;
  // Recorded before any agent is asked: a successor asks the same coordinators for the same
  // runs instead of starting these segments a second time.
  p.status.running.insert(p.status.running.end(), started.begin(), started.end());
  if (absl::Status s = WriteStatus(p); !s.ok()) {
    spdlog::warn("repair {}: record the segments to start: {}", p.object->key().ToString(),
                 s.message());
    p.status.running.resize(p.status.running.size() - started.size());
    return;
  }
  for (RunningSegment& r : p.status.running) {
    if (!r.operation.empty()) continue;
    if (absl::Status s = Ask(p, plan, r); !s.ok()) {
      spdlog::info("repair {}: ask {} for segment {} of {}: {}", p.object->key().ToString(),
                   r.coordinator, r.segment, r.keyspace, s.message());
    }
  }
}

absl::Status RepairReconciler::Ask(Pass& p, const Plan& plan, RunningSegment& r) {
  ASSIGN_OR_RETURN(std::shared_ptr<NodeAgent> agent,
                   access_.AgentOf(p.cluster_spec, *caches_.pods, r.coordinator));
  const repair::Segment& segment = plan.at(r.keyspace).at(r.segment);
  api::OperationRequest request;
  request.kind = api::kOpRepair;
  request.keyspace = r.keyspace;
  request.tables = p.spec.TablesOf(r.keyspace);
  for (const repair::Range& range : segment.ranges) {
    request.ranges.push_back(absl::StrCat(range.start, ":", range.end));
  }
  request.parallelism = p.spec.AgentParallelism();
  request.repair_type = p.spec.type;
  request.datacenters = p.spec.datacenters;
  request.run = r.Run(p.spec.uid);
  ASSIGN_OR_RETURN(api::Operation op, agent->Start(request));
  r.operation = op.id;
  return absl::OkStatus();
}

absl::Status RepairReconciler::WriteStatus(Pass& p) {
  const Json next = ToJson(p.status, p.spec);
  if (next == ToJson(p.old_status, p.spec) && FieldAt(p.object->json(), {"status"}).is_object()) {
    return absl::OkStatus();
  }
  Json object = p.object->json();
  object["status"] = next;
  auto written = seams_.status->UpdateStatus(kRepairs, kube::Object(std::move(object)));
  if (!written.ok()) return base::Annotate(written.status(), "write the Repair's status");
  p.object = std::make_shared<const kube::Object>(*std::move(written));
  written_.Remember(p.object->key().ToString(), p.object);
  p.old_status = p.status;
  return absl::OkStatus();
}

}  // namespace ringkeeper
