#include "repair/coverage.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace repair {

absl::Time TableCoverage::Deadline() const {
  return Repaired() ? last_repaired + absl::Seconds(gc_grace_seconds) : absl::InfinitePast();
}

std::vector<TableCoverage> Cover(const std::vector<TableCoverage>& schema,
                                 const std::vector<TableCoverage>& recorded,
                                 const std::vector<FinishedRepair>& finished, absl::Time now) {
  std::map<std::string, const TableCoverage*> before;
  for (const TableCoverage& t : recorded) before[t.Key()] = &t;
  const bool first_coverage = recorded.empty();
  std::vector<TableCoverage> out;
  for (const TableCoverage& s : schema) {
    TableCoverage t = s;
    t.last_repaired = absl::InfinitePast();
    t.repair.clear();
    t.first_seen = now;
    // Repairs that started before this count: all in the first coverage, or for a table
    // recorded without a first sight (an older record).
    absl::Time counts_from = first_coverage ? absl::InfinitePast() : now;
    auto it = before.find(t.Key());
    if (it != before.end() && (it->second->id.empty() || it->second->id == t.id)) {
      t.last_repaired = it->second->last_repaired;
      t.repair = it->second->repair;
      counts_from = it->second->first_seen;
      if (it->second->first_seen != absl::InfinitePast()) t.first_seen = it->second->first_seen;
    }
    for (const FinishedRepair& r : finished) {
      auto k = r.tables.find(t.keyspace);
      if (k == r.tables.end()) continue;
      if (!k->second.empty() && !k->second.contains(t.table)) continue;
      if (r.started < counts_from) continue;
      if (r.started > t.last_repaired) {
        t.last_repaired = r.started;
        t.repair = r.name;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

double PhaseOf(const std::string& seed) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a, 64 bits
  for (unsigned char c : seed) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // FNV's high bits barely move when only the last characters differ ("ks1", "ks2"): mixed
  // (splitmix64's finalizer) so that such keyspaces get phases spread over [0, 1).
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) / static_cast<double>(uint64_t{1} << 53);
}

absl::Time NextDue(const TableCoverage& t, double fraction, double phase) {
  if (t.gc_grace_seconds <= 0 || fraction <= 0) return absl::InfiniteFuture();
  if (!t.Repaired() && t.first_seen == absl::InfinitePast()) return absl::InfinitePast();
  const double interval = fraction * static_cast<double>(t.gc_grace_seconds);
  const absl::Time since = t.Repaired() ? t.last_repaired : t.first_seen;
  const double last = absl::ToDoubleSeconds(since - absl::UnixEpoch());
  double slot = (std::floor(last / interval - phase) + 1 + phase) * interval;
  if (t.Repaired() && slot - last < interval / 2) slot += interval;
  return absl::UnixEpoch() + absl::Seconds(std::ceil(slot));
}

AutoChoice ChooseAuto(const std::vector<TableCoverage>& coverage, double fraction,
                      const std::string& phase_seed, absl::Time now) {
  struct Due {
    absl::Time deadline = absl::InfiniteFuture();
    const TableCoverage* urgent = nullptr;
    std::vector<std::string> due;
    size_t tables = 0;
  };
  std::map<std::string, Due> by_keyspace;
  AutoChoice choice;
  for (const TableCoverage& t : coverage) {
    Due& d = by_keyspace[t.keyspace];
    ++d.tables;
    const absl::Time due = NextDue(t, fraction, PhaseOf(absl::StrCat(phase_seed, "/", t.keyspace)));
    if (due > now) {
      choice.wake = std::min(choice.wake, due);
      continue;
    }
    d.due.push_back(t.table);
    if (!d.urgent || t.Deadline() < d.deadline) {
      d.deadline = t.Deadline();
      d.urgent = &t;
    }
  }
  const Due* best = nullptr;
  for (const auto& [keyspace, d] : by_keyspace) {
    if (d.due.empty()) continue;
    if (!best || d.deadline < best->deadline) {
      best = &d;
      choice.keyspace = keyspace;
    }
  }
  if (!best) return choice;
  if (best->due.size() < best->tables) choice.tables = best->due;
  const TableCoverage& u = *best->urgent;
  choice.why =
      u.Repaired()
          ? absl::StrCat(u.Key(), " was last repaired ",
                         absl::FormatTime(absl::RFC3339_sec, u.last_repaired, absl::UTCTimeZone()),
                         "; gc_grace_seconds ", u.gc_grace_seconds)
          : absl::StrCat(u.Key(), " has no repair on record");
  return choice;
}

}  // namespace repair
