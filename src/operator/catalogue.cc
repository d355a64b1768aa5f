#include "operator/catalogue.h"

namespace ringkeeper {

std::optional<OperationKind> ParseOperationKind(std::string_view s) {
  for (OperationKind k : {OperationKind::kDecommission, OperationKind::kReplace,
                          OperationKind::kRestart, OperationKind::kReplicateSystemKeyspaces}) {
    if (ToString(k) == s) return k;
  }
  return std::nullopt;
}

std::optional<Phase> ParsePhase(std::string_view s) {
  for (Phase p :
       {Phase::kDecommissioning, Phase::kRemoving, Phase::kDeletingVolume, Phase::kReplacing,
        Phase::kDraining, Phase::kRestarting, Phase::kAltering, Phase::kRepairing}) {
    if (ToString(p) == s) return p;
  }
  return std::nullopt;
}

}  // namespace ringkeeper
