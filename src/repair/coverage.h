// Coverage: when each table's ranges were last all repaired, and which keyspace the automatic
// schedule repairs next so that every table is repaired well within its gc_grace_seconds (past
// it, a tombstone a replica missed may be purged on the others and the deleted data come back).
//
// A table counts as repaired at the start of the newest Complete repair that covered all of its
// ranges in every data center: a repair makes the replicas agree on what they held when it
// began. A repair that failed counts for nothing here, even its finished segments.
//
// The automatic schedule repairs a table again every `fraction` x gc_grace_seconds (its
// interval). Each keyspace has a fixed phase in [0, 1) (a hash of the cluster and keyspace), and
// its tables fall due at the slots (n + phase) x interval after the epoch, the first slot at
// least half an interval after their last repair: keyspaces with the same gc_grace fall due
// spread evenly over the period instead of all at once, and the gap between two repairs of a
// table stays between 1/2 and 3/2 of the interval (plus the wait for its turn). A table never
// repaired is due at its keyspace's first slot after the operator first saw it (within one
// interval: a new cluster's tables do not all fall due at once); one whose first sight is not
// known, at once; one with gc_grace_seconds 0 never (it keeps no tombstone to lose).
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace repair {

struct TableCoverage {
  std::string keyspace, table;
  std::string id;  // the table's id (system_schema.tables): a table re-created is another
  int64_t gc_grace_seconds = 0;
  absl::Time last_repaired = absl::InfinitePast();  // InfinitePast: never, as far as known
  std::string repair;                               // the Repair that did it
  absl::Time first_seen = absl::InfinitePast();     // when the operator first saw the table

  std::string Key() const { return keyspace + "." + table; }
  bool Repaired() const { return last_repaired != absl::InfinitePast(); }
  // last_repaired + gc_grace: InfinitePast when never repaired.
  absl::Time Deadline() const;
};

// A Complete repair of every data center.
struct FinishedRepair {
  std::string name;
  absl::Time started;
  // keyspace -> the tables it repaired there; an empty set: every table of the keyspace.
  std::map<std::string, std::set<std::string>> tables;
};

// The coverage of `schema` (its tables, with id and gc_grace and nothing else set): for each
// table the later of what `recorded` says (for the same id) and the newest of `finished` that
// covered it; first seen as recorded, else `now`. A table first seen now counts only repairs
// started since (a table dropped and created again under its name was not covered by the old
// one's repairs) — except in the first coverage of all (`recorded` empty), which counts every
// finished repair. Tables not in the schema are left out (dropped); the order is the schema's.
std::vector<TableCoverage> Cover(const std::vector<TableCoverage>& schema,
                                 const std::vector<TableCoverage>& recorded,
                                 const std::vector<FinishedRepair>& finished, absl::Time now);

// A keyspace's phase in [0, 1): FNV-1a of `seed` (the cluster's uid and the keyspace).
double PhaseOf(const std::string& seed);

// When the automatic schedule repairs `t` next (see above); InfinitePast when at once,
// InfiniteFuture when never.
absl::Time NextDue(const TableCoverage& t, double fraction, double phase);

struct AutoChoice {
  std::string keyspace;             // "" when nothing is due
  std::vector<std::string> tables;  // its due tables; empty when every one of them is due
  std::string why;                  // for the event: the most urgent table and its deadline
  absl::Time wake = absl::InfiniteFuture();  // when the next table falls due
};

// What to repair at `now`: of the keyspaces with a due table, the one whose due table is nearest
// its deadline (never repaired first), with its due tables. `phase_seed` + keyspace seeds the
// phases.
AutoChoice ChooseAuto(const std::vector<TableCoverage>& coverage, double fraction,
                      const std::string& phase_seed, absl::Time now);

}  // namespace repair
