// A change of spec.version. Cassandra supports some version changes and not others
// (version_path.h); an unsupported one must change nothing: no template, no pod. Each pass judges
// spec.version against the version accepted last (status.version: what the templates run) and
// against every version a member reports running (a roll half done runs both): refused, the
// pass goes on at the accepted version — its objects stay as they are — with the
// VersionChangeRefused condition and one Warning event; accepted, status.version is written
// before any template changes (so a crash in between applies it next pass), and the pods roll
// to it one at a time (RollPods).
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/v1alpha1/catalogue.h"
#include "base/status_macros.h"
#include "operator/pass.h"
#include "operator/reconciler.h"
#include "operator/version_path.h"

namespace ringkeeper {

absl::StatusOr<ClusterReconciler::Flow> ClusterReconciler::PlanVersion(Pass& p) {
  const std::string wanted = p.spec.version;
  std::set<std::string> running;  // the release versions members report
  for (const Member& m : p.members) {
    if (m.info && !m.info->release_version.empty()) running.insert(m.info->release_version);
  }
  if (p.version.empty()) {
    // A new cluster, or one from before status.version: what its members all run, else the spec.
    p.version = running.size() == 1 ? *running.begin() : wanted;
  }
  // Judged from the accepted version and from each one a member runs: the worst verdict wins.
  std::set<std::string> from = running;
  from.insert(p.version);
  for (const std::string& f : from) {
    const VersionChange change = JudgeVersionChange(f, wanted);
    if (!Refused(change)) continue;
    // The pass goes on at the accepted version: every object as it is.
    p.spec.version = p.version;
    p.spec.image = absl::StrCat(p.spec.repository, ":", p.version);
    return Refuse(p, condition::kVersionChangeRefused, RefusalReason(change),
                  RefusalMessage(change, f, wanted));
  }
  if (p.version == wanted) return Flow::kContinue;
  const std::string before = p.version;
  p.version = wanted;
  RETURN_IF_ERROR(WriteStatusField(p, "version", wanted));
  const VersionChange change = JudgeVersionChange(before, wanted);
  Event(p, false, reason::kVersionAccepted,
        absl::StrCat("Cassandra ", before, " → ", wanted,
                     change == VersionChange::kMajorUpgrade ? " (a major upgrade)" : "",
                     ": the pods restart on it one at a time, each drained first"));
  return Flow::kContinue;
}

}  // namespace ringkeeper
