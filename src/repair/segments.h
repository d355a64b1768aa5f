// A repair's plan: the ring's token ranges of one keyspace cut into segments, each a small unit
// of work repaired by one repair session on its replicas (Reaper's idea: a node takes part in one
// segment at a time, a failed segment is retried alone, progress is counted in segments).
//
// Tokens are Murmur3's: signed 64-bit, the ring (-2^63, 2^63 - 1], a range (start, end] running
// clockwise and wrapping past the top when end <= start (the one range of a single-token ring is
// the whole ring, start == end). Sizes are in tokens, as unsigned 128-bit.
//
// Planning, from Cassandra's own view of the keyspace (StorageService.getRangeToEndpointMap: each
// range with its replicas, so no replication strategy is re-implemented here):
//   - the target size of a segment is the ring / (segments_per_node x nodes);
//   - ranges are grouped by replica set; a range larger than the target is cut into equal pieces
//     no larger than it; consecutive pieces of one replica set are coalesced into one segment while
//     the segment stays within the target (with many vnodes, several small ranges share a
//     session: one repair command takes several ranges);
//   - segments come out in a stable order (replica set, then first token), so the same ring and
//     parameters give the same plan and a segment's index identifies it across restarts.
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace repair {

using Token = int64_t;
using TokenCount = unsigned __int128;

struct Range {
  Token start = 0;  // exclusive
  Token end = 0;    // inclusive
};

// The tokens in (start, end]: 2^64 for the whole ring (start == end).
TokenCount Size(const Range& r);

struct ReplicatedRange {
  Range range;
  std::vector<std::string> replicas;  // addresses, any order
};

struct Segment {
  std::vector<Range> ranges;          // sorted by start token
  std::vector<std::string> replicas;  // sorted
  TokenCount size() const;
};

// InvalidArgument when `ranges` is empty, a range has no replica, segments_per_node < 1, or the
// ranges do not cover the ring exactly once (Cassandra's map always does: anything else is a
// ring in flux, planned again later).
absl::StatusOr<std::vector<Segment>> PlanSegments(const std::vector<ReplicatedRange>& ranges,
                                                  int segments_per_node);

// Cassandra's repair option "ranges": "start:end,start:end".
std::string RangesOption(const Segment& s);

}  // namespace repair
