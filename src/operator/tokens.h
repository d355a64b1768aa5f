// Initial tokens for a brand-new cluster whose members all start at once (DESIGN: creation
// takes one node's start time, not N). With no data yet, nothing streams, so each member is
// given its tokens up front (initial_token) instead of bootstrapping one at a time.
//
// Tokens are evenly spaced on the Murmur3 ring (-2^63 .. 2^63-1) and interleaved: the ring's
// consecutive token ranges go to members in turn, and members are ordered rack by rack
// (r0-0, r1-0, r2-0, r0-1, ...), so neighbouring ranges sit in different racks, as
// NetworkTopologyStrategy wants for its replicas.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringkeeper {

// Tokens per member (num_tokens), for every member the operator gives tokens to.
inline constexpr int kNumTokens = 16;

struct MemberSlot {
  std::string rack;
  int ordinal = 0;
};

// Orders the members of racks with `members_per_rack[i]` members each (in rack order), rack
// by rack per ordinal, skipping racks that ran out.
std::vector<MemberSlot> InterleaveRacks(const std::vector<std::string>& racks,
                                        const std::vector<int>& members_per_rack);

// `tokens_per_member` tokens for each of `members` members: member m gets tokens
// m, m + members, m + 2*members, ... of members*tokens_per_member evenly spaced tokens.
// Result[m] is sorted ascending.
std::vector<std::vector<int64_t>> EvenlyInterleavedTokens(int members, int tokens_per_member);

// "t1,t2,..." as cassandra.yaml's initial_token wants.
std::string JoinTokens(const std::vector<int64_t>& tokens);

}  // namespace ringkeeper
