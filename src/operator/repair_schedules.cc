#include "operator/repair_schedules.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "api/v1alpha1/naming.h"
#include "api/v1alpha1/repair.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "operator/pass.h"
#include "operator/scheduled_runs.h"
#include "operator/storage_access.h"
#include "operator/system_keyspaces.h"

namespace ringkeeper {
namespace {

using kube::FieldAt;
using kube::Json;
using kube::StringField;

constexpr char kAnnotationScheduledAt[] = "cassandra.rook.io/scheduled-at";
// An automatic Repair created but not yet in the cache holds the next one back this long.
constexpr absl::Duration kCacheLag = absl::Seconds(30);

bool Unfinished(const kube::Object& repair) {
  return !ParseRepairStatus(FieldAt(repair.json(), {"status"})).Finished();
}

}  // namespace

struct RepairScheduler::Pass {
  kube::ObjectPtr cluster;
  ClusterSpec spec;
  absl::Time now;
  std::vector<kube::ObjectPtr> repairs;  // every Repair of the Cluster
  std::vector<repair::TableCoverage> coverage;
  bool coverage_known = false;  // read and recorded this pass
  absl::Time wake = absl::InfiniteFuture();

  std::vector<kube::ObjectPtr> Of(const std::string& schedule) const {
    std::vector<kube::ObjectPtr> out;
    for (const auto& r : repairs) {
      if (r->label(kLabelRepairSchedule).value_or("") == schedule) out.push_back(r);
    }
    return out;
  }
  bool AnyRunning() const {
    return std::any_of(repairs.begin(), repairs.end(),
                       [](const kube::ObjectPtr& r) { return Unfinished(*r); });
  }
};

RepairScheduler::RepairScheduler(Seams seams, RepairScheduleCaches caches,
                                 RepairSchedulerOptions options)
    : seams_(seams), caches_(caches), options_(options) {}

absl::StatusOr<kube::Result> RepairScheduler::Reconcile(const kube::ObjectKey& key) {
  kube::ObjectPtr cluster = caches_.clusters->Get(key.ToString());
  if (!cluster || cluster->being_deleted()) return kube::Result{};
  auto spec = ParseCluster(*cluster, Defaults{});
  if (!spec.ok()) return kube::Result{};  // the Cluster reconciler reports it
  Pass p;
  p.cluster = cluster;
  p.spec = *std::move(spec);
  p.now = seams_.clock->Now();
  p.repairs = ObjectsOfCluster(*caches_.repairs, p.spec);

  absl::Status first_error;
  if (std::string why; ReportedReady(*cluster, &why)) {
    absl::Status recorded = RecordCoverage(p);
    if (kube::IsConflict(recorded)) return kube::Result{absl::Seconds(1)};  // stale: again
    first_error = recorded;
  }
  auto note = [&first_error](const absl::Status& s, const std::string& where) {
    if (!s.ok() && first_error.ok()) first_error = base::Annotate(s, where);
  };
  for (const RepairScheduleSpec& s : p.spec.repair_schedules) {
    note(Prune(p, s.name, s.successful_history, s.failed_history), s.name);
  }
  note(Prune(p, kAutoRepairSchedule, p.spec.auto_repair.successful_history,
             p.spec.auto_repair.failed_history),
       "autoRepair");
  for (const RepairScheduleSpec& s : p.spec.repair_schedules) note(Schedule(p, s), s.name);
  if (p.spec.auto_repair.enabled && p.coverage_known) note(Auto(p), "autoRepair");
  if (!first_error.ok()) return first_error;

  absl::Duration wait = std::min(p.wake - p.now, options_.max_wait);
  if (p.AnyRunning()) wait = std::min(wait, options_.busy_poll);
  return kube::Result{std::max(absl::Seconds(1), wait)};
}

// ---- Coverage -----------------------------------------------------------------------------

absl::StatusOr<std::vector<repair::TableCoverage>> RepairScheduler::Schema(Pass& p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = schema_.find(p.spec.uid);
    if (it != schema_.end() && p.now - it->second.at < options_.schema_every) {
      return it->second.tables;
    }
  }
  ASSIGN_OR_RETURN(CqlCredentials login, ReadSuperuser(*seams_.reader, p.spec, p.cluster.get()));
  absl::Status last = absl::UnavailableError("the Cluster reports no member with an address");
  for (const auto& [pod, host] : MemberAddresses(*p.cluster, *caches_.services)) {
    auto session = seams_.cql->Connect(host, login);
    if (!session.ok()) {
      last = session.status();
      continue;
    }
    auto replication = ReadReplication(**session);
    auto all = replication.ok() ? ReadTables(**session) : replication.status();
    if (!all.ok()) {
      last = all.status();
      continue;
    }
    std::vector<repair::TableCoverage> tables;
    for (repair::TableCoverage& t : *all) {
      auto r = replication->find(t.keyspace);
      if (IsLocalKeyspace(t.keyspace) || r == replication->end() ||
          ReplicaCount(r->second, {}) < 2) {
        continue;  // one copy: nothing to repair
      }
      tables.push_back(std::move(t));
    }
    std::sort(tables.begin(), tables.end(),
              [](const auto& a, const auto& b) { return a.Key() < b.Key(); });
    std::lock_guard<std::mutex> lock(mu_);
    schema_[p.spec.uid] = {p.now, tables};
    return tables;
  }
  return base::Annotate(last, "read the tables over CQL");
}

std::vector<repair::FinishedRepair> RepairScheduler::Finished(const Pass& p) const {
  std::vector<repair::FinishedRepair> out;
  for (const kube::ObjectPtr& r : p.repairs) {
    auto spec = ParseRepair(*r);
    const RepairStatus status = ParseRepairStatus(FieldAt(r->json(), {"status"}));
    // A repair of some data centers leaves the others' replicas apart: it covers nothing.
    if (!spec.ok() || status.phase != backup_phase::kComplete ||
        spec->type == repair_type::kPreview || !spec->datacenters.empty()) {
      continue;
    }
    repair::FinishedRepair f;
    f.name = r->name();
    if (!absl::ParseTime(absl::RFC3339_full, status.start_time, &f.started, nullptr)) continue;
    for (const RepairKeyspaceStatus& k : status.keyspaces) {
      const std::vector<std::string> tables = spec->TablesOf(k.name);
      f.tables[k.name] = std::set<std::string>(tables.begin(), tables.end());
    }
    out.push_back(std::move(f));
  }
  return out;
}

absl::Status RepairScheduler::RecordCoverage(Pass& p) {
  auto schema = Schema(p);
  if (!schema.ok()) {
    warnings_.Warn(
        *seams_.events, *p.cluster, absl::StrCat("coverage/", schema.status().message()),
        reason::kCoverageUnknown,
        absl::StrCat("the tables' repair coverage is not known: ", schema.status().message()));
    return schema.status();
  }
  const Json& status = FieldAt(p.cluster->json(), {"status"});
  p.coverage = repair::Cover(*schema, ParseRepairCoverage(status), Finished(p), p.now);
  const Json wanted = RepairCoverageJson(p.coverage);
  if (FieldAt(status, {"repairCoverage"}) != wanted) {
    kube::Object next = *p.cluster;
    next.json()["status"]["repairCoverage"] = wanted;
    auto written = seams_.status->UpdateStatus(kClusters, next);
    if (!written.ok()) return base::Annotate(written.status(), "write status.repairCoverage");
    p.cluster = std::make_shared<const kube::Object>(*std::move(written));
  }
  p.coverage_known = true;
  return absl::OkStatus();
}

// ---- History ------------------------------------------------------------------------------

absl::Status RepairScheduler::Prune(Pass& p, const std::string& schedule, int successful,
                                    int failed) {
  std::vector<kube::ObjectPtr> complete, failures;
  for (const kube::ObjectPtr& r : p.Of(schedule)) {
    const std::string phase = StringField(FieldAt(r->json(), {"status"}), "phase");
    if (phase == backup_phase::kComplete) complete.push_back(r);
    if (phase == backup_phase::kFailed) failures.push_back(r);
  }
  // A Complete Repair is kept until the coverage records what it repaired.
  if (!p.coverage_known) complete.clear();
  auto newest_first = [](const kube::ObjectPtr& a, const kube::ObjectPtr& b) {
    return StringField(a->json()["metadata"], "creationTimestamp") >
           StringField(b->json()["metadata"], "creationTimestamp");
  };
  std::vector<kube::ObjectPtr> drop;
  for (auto* list : {&complete, &failures}) {
    std::sort(list->begin(), list->end(), newest_first);
    const size_t keep = static_cast<size_t>(list == &complete ? successful : failed);
    for (size_t i = keep; i < list->size(); ++i) drop.push_back((*list)[i]);
  }
  for (const kube::ObjectPtr& r : drop) {
    absl::Status deleted =
        seams_.writer->Delete(kRepairs, r->ns(), r->name(), r->uid(), Deletion::kGraceful);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) {
      return base::Annotate(deleted, absl::StrCat("delete Repair ", r->name()));
    }
    spdlog::info("cluster {}: Repair {} deleted (history limit of {})", p.cluster->key().ToString(),
                 r->name(), schedule);
  }
  return absl::OkStatus();
}

// ---- Schedules ----------------------------------------------------------------------------

absl::Status RepairScheduler::Create(Pass& p, const std::string& name, const std::string& schedule,
                                     Json spec, absl::Time at) {
  spec["cluster"] = p.spec.name;
  Json repair = {{"apiVersion", kApiVersion},
                 {"kind", kRepairs.kind},
                 {"metadata",
                  {{"name", name},
                   {"namespace", p.spec.ns},
                   {"labels", {{kLabelCluster, p.spec.name}, {kLabelRepairSchedule, schedule}}},
                   {"annotations", {{kAnnotationScheduledAt, kube::FormatRfc3339(at)}}},
                   {"ownerReferences", Json::array({OwnerReference(p.spec)})}}},
                 {"spec", spec}};
  auto created = seams_.writer->Create(kRepairs, repair);
  if (absl::IsAlreadyExists(created.status())) return absl::OkStatus();
  return base::Annotate(created.status(), absl::StrCat("create Repair ", name));
}

absl::Status RepairScheduler::Schedule(Pass& p, const RepairScheduleSpec& s) {
  if (s.suspend) return absl::OkStatus();
  auto run = RunToCreate(p.spec, s.name, s.schedule, s.time_zone, s.starting_deadline, p.now,
                         p.Of(s.name), Unfinished, &p.wake);
  if (!run.ok()) {
    warnings_.Warn(*seams_.events, *p.cluster,
                   absl::StrCat(s.name, "/", s.schedule, "/", s.time_zone),
                   reason::kInvalidSchedule,
                   absl::StrCat("spec.repairs[", s.name, "].", run.status().message(),
                                "; no repair is scheduled until it is fixed"));
    return absl::OkStatus();
  }
  if (run->running) {
    warnings_.Warn(*seams_.events, *p.cluster, ScheduledName(p.spec, s.name, run->at),
                   reason::kRepairSkipped,
                   absl::StrCat("the ", kube::FormatRfc3339(run->at), " run of schedule ", s.name,
                                " waits: Repair ", run->running->name(),
                                " still runs (skipped if it runs past startingDeadlineSeconds)"));
    return absl::OkStatus();
  }
  if (run->name.empty()) return absl::OkStatus();
  const std::string& name = run->name;
  RETURN_IF_ERROR(Create(p, name, s.name, s.repair, run->at));
  spdlog::info("cluster {}: schedule {}: Repair {} created", p.cluster->key().ToString(), s.name,
               name);
  seams_.events->Event(
      *p.cluster, false, reason::kRepairScheduled,
      absl::StrCat("Repair ", name, " for the ", kube::FormatRfc3339(run->at), " run of ", s.name));
  return absl::OkStatus();
}

absl::Status RepairScheduler::Auto(Pass& p) {
  if (p.AnyRunning()) return absl::OkStatus();  // one repair at a time on the nodes
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = auto_created_.find(p.spec.uid);
    if (it != auto_created_.end() && p.now - it->second.second < kCacheLag &&
        std::none_of(p.repairs.begin(), p.repairs.end(),
                     [&](const kube::ObjectPtr& r) { return r->name() == it->second.first; })) {
      p.wake = std::min(p.wake, it->second.second + kCacheLag);
      return absl::OkStatus();
    }
  }
  const repair::AutoChoice choice =
      repair::ChooseAuto(p.coverage, p.spec.auto_repair.gc_grace_fraction, p.spec.uid, p.now);
  p.wake = std::min(p.wake, choice.wake);
  if (choice.keyspace.empty()) return absl::OkStatus();
  const std::string name = ScheduledName(p.spec, kAutoRepairSchedule, p.now);
  if (std::any_of(p.repairs.begin(), p.repairs.end(),
                  [&](const kube::ObjectPtr& r) { return r->name() == name; })) {
    p.wake = std::min(p.wake, absl::FromUnixSeconds(absl::ToUnixSeconds(p.now) / 60 * 60 + 60));
    return absl::OkStatus();  // this minute's ran already: the next minute's name
  }
  Json spec = {{"keyspaces", {choice.keyspace}},
               {"type", repair_type::kFull},
               {"intensity", p.spec.auto_repair.intensity},
               {"segmentsPerNode", p.spec.auto_repair.segments_per_node}};
  if (!choice.tables.empty()) {
    Json tables = Json::array();
    for (const std::string& t : choice.tables) tables.push_back(choice.keyspace + "." + t);
    spec["tables"] = tables;
  }
  RETURN_IF_ERROR(Create(p, name, kAutoRepairSchedule, spec, p.now));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto_created_[p.spec.uid] = {name, p.now};
  }
  const std::string what =
      choice.tables.empty()
          ? absl::StrCat("keyspace ", choice.keyspace)
          : absl::StrCat("tables ",
                         absl::StrJoin(spec["tables"].get<std::vector<std::string>>(), ", "));
  spdlog::info("cluster {}: automatic Repair {} of {}: {}", p.cluster->key().ToString(), name, what,
               choice.why);
  seams_.events->Event(*p.cluster, false, reason::kAutoRepairScheduled,
                       absl::StrCat("Repair ", name, " of ", what, ": ", choice.why));
  return absl::OkStatus();
}

}  // namespace ringkeeper
