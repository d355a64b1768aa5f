// spec.autoscaling in the pass (autoscaling.h says when a data center grows): its maximum
// checked early (CheckAutoscaling: a refusal stands whatever the rest of the pass does), and
// the judgement last (Autoscale), which runs only when every other step let the pass go on.
// A growth is one write of the rack's members in the Cluster's spec, conditional on the
// version read; the normal scale-up does the rest.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "kube/errors.h"
#include "operator/autoscaling.h"
#include "operator/pass.h"
#include "operator/reconciler.h"

namespace ringkeeper {
namespace {

using kube::Json;
using Flow = ClusterReconciler::Flow;
using Pass = ClusterReconciler::Pass;

// The data center's entry in status.autoscaling, null when none.
Json PreviousEntry(const Json& autoscaling, const std::string& dc) {
  const Json& dcs = kube::FieldAt(autoscaling, {"dataCenters"});
  if (!dcs.is_array()) return nullptr;
  for (const Json& entry : dcs) {
    if (kube::StringField(entry, "name") == dc) return entry;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<Flow> ClusterReconciler::CheckAutoscaling(Pass& p) {
  if (!p.spec.autoscaling.enabled) return Flow::kContinue;
  if (std::string refusal = MaximumRefusal(p.spec.autoscaling, p.spec.dcs); !refusal.empty()) {
    return Refuse(p, condition::kAutoscalingRefused, reason::kMaximumBelowSize, refusal);
  }
  return Flow::kContinue;
}

// Nothing else runs or is owed: the cluster is created, at its spec's size, every member UN and
// answering, at its template, with no operation, cleanup, upgrade, data center change or restore
// under way. Only then is a usage measured (and a growth measured on what it changes).
bool ClusterReconciler::Settled(const Pass& p) {
  if (!p.bootstrapped || p.Upgrading() || !p.operation.is_null() || !p.cleanup.is_null() ||
      !p.dc_join.is_null() || !p.new_dcs.empty() || !p.leaving_dcs.empty() || !p.replays.empty()) {
    return false;
  }
  if (p.restore_from.is_object() &&
      kube::StringField(p.restore_from, "phase") != restore_from_phase::kComplete) {
    return false;
  }
  for (const Member& m : p.members) {
    if (!m.info) return false;
  }
  return p.RacksAtSize() && AllUp(p) && PodsAtCurrentRevision(p);
}

absl::StatusOr<Flow> ClusterReconciler::Autoscale(Pass& p) {
  if (!p.spec.autoscaling.enabled || p.refusals.count(condition::kAutoscalingRefused)) {
    return Flow::kContinue;
  }
  if (!Settled(p)) return Flow::kContinue;  // the timers stay stopped (Pass)
  const absl::Time now = seams_.clock->Now();
  const Json previous = p.old_status.value("autoscaling", Json::object());
  Json entries = Json::array();
  bool grew = false;
  const bool cpu = p.spec.autoscaling.cpu_used_percent > 0;  // judged on CPU too
  for (const DataCenterSpec& dc : p.spec.dcs) {
    DataCenterUsage usage{
        .dc = dc.name, .members = dc.members(), .requested_bytes = RequestedBytes(dc)};
    if (cpu) {
      usage.cpu_known = true;
      usage.cpu_cores_requested = RequestedCores(dc);
    }
    for (const Member& m : p.members) {
      if (m.dc != dc.name || !m.info) continue;
      usage.load_bytes += m.info->load_bytes;
      if (!cpu) continue;
      const std::optional<double> cores =
          m.info->process_cpu_nanos > 0
              ? cpu_rates_.Observe(m.pod_uid, m.info->process_cpu_nanos, now)
              : std::nullopt;
      if (cores) {
        usage.cpu_cores_used += *cores;
      } else {
        usage.cpu_known = false;  // its first reading (or an agent that cannot tell)
      }
    }
    AutoscaleVerdict verdict =
        JudgeDataCenter(p.spec.autoscaling, usage, PreviousEntry(previous, dc.name), now);
    if (verdict.action == AutoscaleVerdict::Action::kGrow && !grew) {
      // One growth per pass: the next data center's is judged again once this one settled.
      const RackSpec* rack = RackToGrow(dc);
      ASSIGN_OR_RETURN(Json::json_pointer at,
                       RackMembersPointer(p.cluster.json(), dc.name, rack->name));
      kube::Object next = p.cluster;
      next.json()[at] = rack->members + 1;
      auto written = seams_.writer->Update(kClusters, next.json());
      if (kube::IsConflict(written.status())) {  // changed since read: judged again on it
        p.requeue = options_.short_wait;
        return Flow::kWait;
      }
      if (!written.ok()) return base::Annotate(written.status(), "autoscaling: grow " + dc.name);
      KeepWritten(p, *std::move(written));
      grew = true;
      const std::string message =
          absl::StrCat("data center ", dc.name, " grows from ", usage.members, " to ",
                       usage.members + 1, " members (rack ", rack->name, ": ", rack->members,
                       " to ", rack->members + 1, "): ", verdict.figures);
      verdict.record["lastScaleUp"] = {{"from", usage.members},
                                       {"to", usage.members + 1},
                                       {"rack", rack->name},
                                       {"time", kube::FormatRfc3339(now)},
                                       {"message", verdict.figures}};
      Event(p, false, reason::kAutoscaledUp, message);
    } else if (verdict.action == AutoscaleVerdict::Action::kAtMaximum) {
      Event(p, true, reason::kAutoscalingAtMaximum,
            absl::StrCat("data center ", dc.name, " stays at spec.autoscaling.maxMembers (",
                         p.spec.autoscaling.max_members, "): ", verdict.figures));
    }
    entries.push_back(std::move(verdict.record));
  }
  p.autoscaling = {{"dataCenters", entries}};
  if (!grew) return Flow::kContinue;
  // The decision's record (the timer restarted, lastScaleUp) now: the next pass reads the
  // grown spec, and the scale-up it starts stops the timers until it is done.
  RETURN_IF_ERROR(WriteStatusField(p, "autoscaling", p.autoscaling));
  p.progress_reason = reason::kAutoscaledUp;
  p.progress_message = "a data center's members were raised by spec.autoscaling";
  p.requeue = options_.short_wait;
  return Flow::kWait;
}

}  // namespace ringkeeper
