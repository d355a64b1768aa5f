#include "api/v1alpha1/repair.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/v1alpha1/fields.h"

namespace ringkeeper {
namespace {

using kube::FieldAt;
using kube::IntField;
using kube::Json;
using kube::StringField;

}  // namespace

std::vector<std::string> RepairSpec::TablesOf(const std::string& keyspace) const {
  std::vector<std::string> out;
  const std::string prefix = keyspace + ".";
  for (const std::string& t : tables) {
    if (absl::StartsWith(t, prefix)) out.push_back(t.substr(prefix.size()));
  }
  return out;
}

std::string RepairSpec::AgentParallelism() const {
  return parallelism == "dc-parallel" ? "dc_parallel" : parallelism;
}

absl::StatusOr<RepairSpec> ParseRepair(const kube::Object& repair) {
  const Json& spec = FieldAt(repair.json(), {"spec"});
  RepairSpec r;
  r.name = repair.name();
  r.ns = repair.ns();
  r.uid = repair.uid();
  r.cluster = StringField(spec, "cluster");
  if (r.cluster.empty()) return absl::InvalidArgumentError("spec.cluster is required");
  r.keyspaces = fields::Strings(spec, "keyspaces");
  r.tables = fields::Strings(spec, "tables");
  r.datacenters = fields::Strings(spec, "datacenters");
  if (std::string t = StringField(spec, "type"); !t.empty()) r.type = t;
  if (std::string p = StringField(spec, "parallelism"); !p.empty()) r.parallelism = p;
  if (const Json& i = FieldAt(spec, {"intensity"}); i.is_number()) r.intensity = i.get<double>();
  if (!(r.intensity > 0 && r.intensity <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.intensity must be in (0, 1], not ", r.intensity));
  }
  if (int64_t n = IntField(spec, "segmentsPerNode"); n > 0) r.segments_per_node = int(n);
  if (int64_t t = IntField(spec, "segmentTimeoutSeconds"); t > 0) r.segment_timeout_seconds = t;
  r.paused = fields::Bool(spec, "paused");
  return r;
}

std::string RunningSegment::Run(const std::string& repair_uid) const {
  return absl::StrCat(repair_uid, "/", keyspace, "/", segment, "/", attempt);
}

int RepairStatus::Total() const {
  int n = 0;
  for (const auto& k : keyspaces) n += k.total;
  return n;
}

int RepairStatus::Done() const {
  int n = 0;
  for (const auto& k : keyspaces) n += k.done;
  return n;
}

RepairStatus ParseRepairStatus(const Json& status) {
  RepairStatus s;
  ParseRunStatus(status, s);
  s.plan = StringField(status, "plan");
  s.waiting = StringField(status, "waiting");
  s.waiting_since = StringField(status, "waitingSince");
  s.segment_seconds = IntField(status, "segmentSeconds");
  s.failed_attempts = IntField(status, "failedAttempts");
  if (const Json& ks = FieldAt(status, {"keyspaces"}); ks.is_array()) {
    for (const Json& k : ks) {
      RepairKeyspaceStatus out;
      out.name = StringField(k, "name");
      out.total = int(IntField(k, "total"));
      out.done = int(IntField(k, "done"));
      out.done_bits = StringField(k, "doneBits");
      out.mismatching_ranges = IntField(k, "mismatchingRanges");
      out.mismatching_bytes = IntField(k, "mismatchingBytes");
      out.mismatching_tables = fields::Strings(k, "mismatchingTables");
      s.keyspaces.push_back(std::move(out));
    }
  }
  if (const Json& running = FieldAt(status, {"running"}); running.is_array()) {
    for (const Json& r : running) {
      RunningSegment out;
      out.keyspace = StringField(r, "keyspace");
      out.segment = int(IntField(r, "segment"));
      out.attempt = std::max(1, int(IntField(r, "attempt")));
      out.coordinator = StringField(r, "coordinator");
      out.replicas = fields::Strings(r, "replicas");
      out.operation = StringField(r, "operation");
      out.started = StringField(r, "started");
      s.running.push_back(std::move(out));
    }
  }
  if (const Json& retrying = FieldAt(status, {"retrying"}); retrying.is_array()) {
    for (const Json& r : retrying) {
      s.retrying.push_back({StringField(r, "keyspace"), int(IntField(r, "segment")),
                            int(IntField(r, "attempts")), StringField(r, "message")});
    }
  }
  if (const Json& resting = FieldAt(status, {"resting"}); resting.is_array()) {
    for (const Json& r : resting) s.resting[StringField(r, "pod")] = StringField(r, "until");
  }
  if (const Json& postponed = FieldAt(status, {"postponed"}); postponed.is_object()) {
    for (const auto& [reason, n] : postponed.items()) {
      if (n.is_number_integer()) s.postponed[reason] = n.get<int64_t>();
    }
  }
  return s;
}

Json ToJson(const RepairStatus& s, const RepairSpec& spec) {
  Json out = Json::object();
  AddRunStatus(s,
               spec.type == repair_type::kPreview ? "AllSegmentsPreviewed" : "AllSegmentsRepaired",
               absl::StrCat(s.Done(), " segments of ", s.keyspaces.size(), " keyspaces"), out);
  if (!s.plan.empty()) out["plan"] = s.plan;
  if (!s.waiting.empty()) out["waiting"] = s.waiting;
  if (!s.waiting_since.empty()) out["waitingSince"] = s.waiting_since;
  out["segments"] = {{"total", s.Total()}, {"done", s.Done()}, {"running", s.running.size()}};
  out["segmentSeconds"] = s.segment_seconds;
  out["failedAttempts"] = s.failed_attempts;
  Json keyspaces = Json::array();
  int64_t ranges = 0, bytes = 0;
  for (const RepairKeyspaceStatus& k : s.keyspaces) {
    Json j = {{"name", k.name}, {"total", k.total}, {"done", k.done}, {"doneBits", k.done_bits}};
    if (spec.type == repair_type::kPreview) {
      j["mismatchingRanges"] = k.mismatching_ranges;
      j["mismatchingBytes"] = k.mismatching_bytes;
      j["mismatchingTables"] = k.mismatching_tables;
      ranges += k.mismatching_ranges;
      bytes += k.mismatching_bytes;
    }
    keyspaces.push_back(std::move(j));
  }
  out["keyspaces"] = std::move(keyspaces);
  if (spec.type == repair_type::kPreview) {
    out["preview"] = {{"mismatchingRanges", ranges}, {"mismatchingBytes", bytes}};
  }
  Json running = Json::array();
  for (const RunningSegment& r : s.running) {
    Json j = {{"keyspace", r.keyspace},       {"segment", r.segment},   {"attempt", r.attempt},
              {"coordinator", r.coordinator}, {"replicas", r.replicas}, {"started", r.started}};
    if (!r.operation.empty()) j["operation"] = r.operation;
    running.push_back(std::move(j));
  }
  out["running"] = std::move(running);
  Json retrying = Json::array();
  for (const FailedSegment& f : s.retrying) {
    retrying.push_back({{"keyspace", f.keyspace},
                        {"segment", f.segment},
                        {"attempts", f.attempts},
                        {"message", f.message}});
  }
  out["retrying"] = std::move(retrying);
  Json resting = Json::array();
  for (const auto& [pod, until] : s.resting) resting.push_back({{"pod", pod}, {"until", until}});
  out["resting"] = std::move(resting);
  out["postponed"] = Json::object();
  for (const auto& [reason, n] : s.postponed) out["postponed"][reason] = n;
  if (out["conditions"].is_array()) {
    // Paused / waiting: True while no segment may start and why.
    const bool waiting = !s.waiting.empty() && !s.Finished();
    out["conditions"].push_back(
        {{"type", "Waiting"},
         {"status", waiting ? "True" : "False"},
         {"reason", waiting ? s.waiting : "NotWaiting"},
         {"message", ""},
         {"lastTransitionTime", s.waiting_since.empty() ? s.start_time : s.waiting_since}});
  }
  return out;
}

std::vector<repair::TableCoverage> ParseRepairCoverage(const Json& cluster_status) {
  std::vector<repair::TableCoverage> out;
  const Json& tables = FieldAt(cluster_status, {"repairCoverage", "tables"});
  if (!tables.is_array()) return out;
  for (const Json& t : tables) {
    repair::TableCoverage c;
    c.keyspace = StringField(t, "keyspace");
    c.table = StringField(t, "table");
    c.id = StringField(t, "id");
    c.gc_grace_seconds = kube::IntField(t, "gcGraceSeconds");
    c.repair = StringField(t, "repair");
    if (!absl::ParseTime(absl::RFC3339_full, StringField(t, "lastRepaired"), &c.last_repaired,
                         nullptr)) {
      c.last_repaired = absl::InfinitePast();
    }
    if (!absl::ParseTime(absl::RFC3339_full, StringField(t, "firstSeen"), &c.first_seen, nullptr)) {
      c.first_seen = absl::InfinitePast();
    }
    out.push_back(std::move(c));
  }
  return out;
}

Json RepairCoverageJson(const std::vector<repair::TableCoverage>& tables) {
  Json out = Json::array();
  for (const repair::TableCoverage& t : tables) {
    Json j = {{"keyspace", t.keyspace}, {"table", t.table}, {"gcGraceSeconds", t.gc_grace_seconds}};
    if (!t.id.empty()) j["id"] = t.id;
    if (t.first_seen != absl::InfinitePast()) j["firstSeen"] = kube::FormatRfc3339(t.first_seen);
    if (t.Repaired()) {
      j["lastRepaired"] = kube::FormatRfc3339(t.last_repaired);
      j["repairBy"] = kube::FormatRfc3339(t.Deadline());
      if (!t.repair.empty()) j["repair"] = t.repair;
    }
    out.push_back(std::move(j));
  }
  return {{"tables", out}};
}

}  // namespace ringkeeper
