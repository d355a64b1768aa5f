#include "api/v1alpha1/catalogue.h"

namespace ringkeeper {

// Each enum's values are 0..its last (no gaps): a new value only needs its ToString case.
std::optional<OperationKind> ParseOperationKind(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(OperationKind::kRecreateStatefulSet); ++i) {
    if (ToString(static_cast<OperationKind>(i)) == s) return static_cast<OperationKind>(i);
  }
  return std::nullopt;
}

std::optional<Phase> ParsePhase(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(Phase::kOrphaningPods); ++i) {
    if (ToString(static_cast<Phase>(i)) == s) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

}  // namespace ringkeeper
