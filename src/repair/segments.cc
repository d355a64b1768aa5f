#include "repair/segments.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace repair {
namespace {

constexpr TokenCount kRing = static_cast<TokenCount>(1) << 64;

// start + offset, around the ring (offset < 2^64).
Token Advance(Token start, TokenCount offset) {
  return static_cast<Token>(static_cast<uint64_t>(start) + static_cast<uint64_t>(offset));
}

// `r` cut into `pieces` contiguous ranges of sizes differing by at most one token. No cut lands
// on the minimum token: Murmur3 never gives it to a key, and Cassandra reads a range ending there
// as "to the end of the ring".
std::vector<Range> Cut(const Range& r, TokenCount pieces) {
  const TokenCount size = Size(r);
  std::vector<Range> out;
  Token start = r.start;
  TokenCount done = 0;
  for (TokenCount i = 0; i < pieces; ++i) {
    done += size / pieces + (i < size % pieces ? 1 : 0);
    Token end = i + 1 == pieces ? r.end : Advance(r.start, done);
    if (end == std::numeric_limits<Token>::min() && i + 1 < pieces) ++end;
    out.push_back({start, end});
    start = end;
  }
  return out;
}

}  // namespace

TokenCount Size(const Range& r) {
  const uint64_t d = static_cast<uint64_t>(r.end) - static_cast<uint64_t>(r.start);
  return d == 0 ? kRing : static_cast<TokenCount>(d);
}

TokenCount Segment::size() const {
  TokenCount total = 0;
  for (const Range& r : ranges) total += Size(r);
  return total;
}

absl::StatusOr<std::vector<Segment>> PlanSegments(const std::vector<ReplicatedRange>& ranges,
                                                  int segments_per_node) {
  if (ranges.empty()) return absl::InvalidArgumentError("no token ranges");
  if (segments_per_node < 1) return absl::InvalidArgumentError("segments per node must be >= 1");
  std::vector<ReplicatedRange> sorted = ranges;
  for (ReplicatedRange& r : sorted) {
    if (r.replicas.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("range (", r.range.start, ", ", r.range.end, "] has no replica"));
    }
    std::sort(r.replicas.begin(), r.replicas.end());
  }
  std::sort(sorted.begin(), sorted.end(), [](const ReplicatedRange& a, const ReplicatedRange& b) {
    return a.range.start < b.range.start;
  });
  // A partition of the ring: each range ends where the next begins, once around.
  TokenCount covered = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Range& r = sorted[i].range;
    if (r.end != sorted[(i + 1) % sorted.size()].range.start) {
      return absl::InvalidArgumentError(absl::StrCat("the ranges do not tile the ring: (", r.start,
                                                     ", ", r.end,
                                                     "] is not followed by a range "
                                                     "starting at ",
                                                     r.end));
    }
    covered += Size(r);
  }
  if (covered != kRing) {
    return absl::InvalidArgumentError("the ranges go around the ring more than once");
  }

  std::map<std::vector<std::string>, std::vector<Range>> by_replicas;
  for (const ReplicatedRange& r : sorted) by_replicas[r.replicas].push_back(r.range);
  std::map<std::string, bool> nodes;
  for (const ReplicatedRange& r : sorted) {
    for (const std::string& n : r.replicas) nodes[n] = true;
  }
  const TokenCount wanted = static_cast<TokenCount>(segments_per_node) * nodes.size();
  const TokenCount target = std::max<TokenCount>(1, kRing / wanted);

  std::vector<Segment> out;
  for (const auto& [replicas, group] : by_replicas) {
    Segment current;
    current.replicas = replicas;
    TokenCount current_size = 0;
    auto flush = [&] {
      if (current.ranges.empty()) return;
      out.push_back(current);
      current.ranges.clear();
      current_size = 0;
    };
    for (const Range& r : group) {
      const TokenCount size = Size(r);
      if (size > target) {
        flush();
        for (const Range& piece : Cut(r, (size + target - 1) / target)) {
          out.push_back(Segment{{piece}, replicas});
        }
        continue;
      }
      if (current_size + size > target) flush();
      current.ranges.push_back(r);
      current_size += size;
    }
    flush();
  }
  return out;
}

std::string RangesOption(const Segment& s) {
  return absl::StrJoin(s.ranges, ",", [](std::string* out, const Range& r) {
    absl::StrAppend(out, r.start, ":", r.end);
  });
}

}  // namespace repair
