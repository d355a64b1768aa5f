#include "operator/tokens.h"

#include <algorithm>

#include "absl/numeric/int128.h"
#include "absl/strings/str_join.h"

namespace ringkeeper {

std::vector<MemberSlot> InterleaveRacks(const std::vector<std::string>& racks,
                                        const std::vector<int>& members_per_rack) {
  std::vector<MemberSlot> out;
  const int most = members_per_rack.empty()
                       ? 0
                       : *std::max_element(members_per_rack.begin(), members_per_rack.end());
  for (int ordinal = 0; ordinal < most; ++ordinal) {
    for (size_t r = 0; r < racks.size() && r < members_per_rack.size(); ++r) {
      if (ordinal < members_per_rack[r]) out.push_back({racks[r], ordinal});
    }
  }
  return out;
}

std::vector<std::vector<int64_t>> EvenlyInterleavedTokens(int members, int tokens_per_member) {
  std::vector<std::vector<int64_t>> out(std::max(members, 0));
  if (members <= 0 || tokens_per_member <= 0) return out;
  // The ring has 2^64 positions; 128-bit arithmetic keeps k * 2^64 / total exact.
  const absl::int128 total = absl::int128(members) * tokens_per_member;
  const absl::int128 ring = absl::int128(1) << 64;
  const absl::int128 min_token = -(absl::int128(1) << 63);
  for (absl::int128 k = 0; k < total; ++k) {
    const auto token = static_cast<int64_t>(min_token + k * ring / total);
    out[static_cast<size_t>(k % members)].push_back(token);
  }
  return out;  // each member's tokens were appended in ascending order
}

std::string JoinTokens(const std::vector<int64_t>& tokens) { return absl::StrJoin(tokens, ","); }

}  // namespace ringkeeper
