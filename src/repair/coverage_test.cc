#include "repair/coverage.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace repair {
namespace {

constexpr int64_t kTenDays = 864000;

absl::Time At(int64_t seconds) { return absl::UnixEpoch() + absl::Seconds(seconds); }

TableCoverage Table(const std::string& ks, const std::string& t, int64_t gc = kTenDays) {
  TableCoverage c;
  c.keyspace = ks;
  c.table = t;
  c.gc_grace_seconds = gc;
  return c;
}

TEST(Cover, ANewerCompleteRepairOfTheTableOrItsWholeKeyspaceMovesItsTimeForward) {
  std::vector<TableCoverage> schema = {Table("ks", "a"), Table("ks", "b"), Table("other", "c")};
  TableCoverage recorded_a = Table("ks", "a");
  recorded_a.last_repaired = At(1000);
  recorded_a.repair = "old";
  TableCoverage recorded_gone = Table("ks", "dropped");
  recorded_gone.last_repaired = At(5000);
  std::vector<FinishedRepair> finished = {
      {"whole-ks", At(2000), {{"ks", {}}}},
      {"only-b", At(3000), {{"ks", {"b"}}}},
      {"older", At(500), {{"ks", {}}, {"other", {}}}},
  };
  // Recorded before, first sight unknown (older records): every finished repair counts.
  const std::vector<TableCoverage> got =
      Cover(schema, {recorded_a, recorded_gone, Table("ks", "b"), Table("other", "c")}, finished,
            At(9999));
  ASSERT_EQ(got.size(), 3u);  // the dropped table is gone; the schema's order
  EXPECT_EQ(got[0].Key(), "ks.a");
  EXPECT_EQ(got[0].last_repaired, At(2000));
  EXPECT_EQ(got[0].repair, "whole-ks");
  EXPECT_EQ(got[1].last_repaired, At(3000));
  EXPECT_EQ(got[1].repair, "only-b");
  EXPECT_EQ(got[2].last_repaired, At(500));
  EXPECT_EQ(got[2].Deadline(), At(500 + kTenDays));
  EXPECT_EQ(got[0].first_seen, At(9999));  // not known: now
}

TEST(Cover, ATableCreatedAgainUnderItsNameIsNotCoveredByTheOldOnesRepairs) {
  TableCoverage old = Table("ks", "a");
  old.id = "id-1";
  old.last_repaired = At(1000);
  old.first_seen = At(10);
  TableCoverage other = Table("ks", "b");
  other.first_seen = At(10);
  TableCoverage again = Table("ks", "a");
  again.id = "id-2";
  const std::vector<FinishedRepair> finished = {{"before", At(1000), {{"ks", {}}}}};
  // Dropped and created again between two reads: another id.
  auto got = Cover({again, other}, {old, other}, finished, At(2000));
  EXPECT_FALSE(got[0].Repaired());
  EXPECT_EQ(got[0].first_seen, At(2000));
  // Dropped, seen absent, created again: not recorded, first seen now, older repairs ignored.
  got = Cover({again, other}, {other}, finished, At(2000));
  EXPECT_FALSE(got[0].Repaired());
  // The first coverage of all counts every finished repair.
  got = Cover({again}, {}, finished, At(2000));
  EXPECT_EQ(got[0].last_repaired, At(1000));
}

TEST(Cover, WhatWasRecordedIsNeverMovedBack) {
  TableCoverage recorded = Table("ks", "a");
  recorded.last_repaired = At(9000);
  recorded.repair = "newest";
  recorded.first_seen = At(7);
  const auto got =
      Cover({Table("ks", "a")}, {recorded}, {{"older", At(100), {{"ks", {}}}}}, At(99999));
  EXPECT_EQ(got[0].last_repaired, At(9000));
  EXPECT_EQ(got[0].repair, "newest");
  EXPECT_EQ(got[0].first_seen, At(7));
  EXPECT_FALSE(Cover({Table("ks", "a")}, {}, {}, At(1))[0].Repaired());
}

TEST(NextDue, ASlotAtLeastHalfAnIntervalAfterTheLastRepairAtTheKeyspacesPhase) {
  const double fraction = 0.5;  // interval: 432,000 s (5 days)
  const double interval = 432000;
  for (double phase : {0.0, 0.1, 0.5, 0.93}) {
    for (int64_t last :
         {int64_t{0}, int64_t{1}, int64_t{100000}, int64_t{431999}, int64_t{1'700'000'000}}) {
      TableCoverage t = Table("ks", "a");
      t.last_repaired = At(last);
      const absl::Time due = NextDue(t, fraction, phase);
      const double gap = absl::ToDoubleSeconds(due - t.last_repaired);
      EXPECT_GE(gap, interval / 2) << phase << " " << last;
      EXPECT_LE(gap, 1.5 * interval + 1) << phase << " " << last;
      // On the keyspace's slots: (n + phase) x interval, in whole seconds.
      const double slots = absl::ToDoubleSeconds(due - absl::UnixEpoch()) / interval - phase;
      EXPECT_NEAR(slots, std::round(slots), 1.01 / interval) << phase << " " << last;
    }
  }
  // Never repaired, first sight unknown: at once. Seen at t: its first slot after t, within one
  // interval.
  TableCoverage never = Table("ks", "a");
  EXPECT_EQ(NextDue(never, fraction, 0.3), absl::InfinitePast());
  for (int64_t seen : {int64_t{0}, int64_t{5}, int64_t{1'700'000'000}}) {
    never.first_seen = At(seen);
    const absl::Time due = NextDue(never, fraction, 0.3);
    EXPECT_GT(due, never.first_seen);
    EXPECT_LE(due, never.first_seen + absl::Seconds(interval + 1));
  }
  TableCoverage no_tombstones = Table("ks", "a", 0);
  no_tombstones.last_repaired = At(10);
  EXPECT_EQ(NextDue(no_tombstones, fraction, 0.3), absl::InfiniteFuture());
}

TEST(NextDue, KeyspacesRepairedTogetherFallDueSpreadOverTheInterval) {
  // 20 keyspaces all repaired at the same moment: their next repairs spread over the period.
  std::vector<double> offsets;
  for (int i = 0; i < 20; ++i) {
    TableCoverage t = Table("ks" + std::to_string(i), "a");
    t.last_repaired = At(1'700'000'000);
    const absl::Time due = NextDue(t, 0.5, PhaseOf("uid/" + t.keyspace));
    offsets.push_back(absl::ToDoubleSeconds(due - t.last_repaired));
  }
  std::sort(offsets.begin(), offsets.end());
  // Not one burst: the spread is most of an interval (432,000 s).
  EXPECT_GT(offsets.back() - offsets.front(), 0.5 * 432000);
  for (double p : {PhaseOf("a"), PhaseOf("b"), PhaseOf("uid/ks")}) {
    EXPECT_GE(p, 0.0);
    EXPECT_LT(p, 1.0);
  }
}

TEST(ChooseAuto, TheDueKeyspaceNearestItsDeadlineNeverRepairedFirst) {
  std::vector<TableCoverage> coverage;
  TableCoverage a = Table("ks", "a"), b = Table("ks", "b"), c = Table("late", "c");
  TableCoverage fresh = Table("fresh", "f");
  const absl::Time now = At(1'700'000'000);
  a.last_repaired = now - absl::Seconds(kTenDays) * 0.9;  // overdue for the 0.5 schedule
  b.last_repaired = now - absl::Seconds(10);              // just repaired
  c.last_repaired = now - absl::Seconds(kTenDays) * 0.95;
  fresh.last_repaired = now - absl::Seconds(10);
  AutoChoice got = ChooseAuto({a, b, c, fresh}, 0.5, "uid", now);
  EXPECT_EQ(got.keyspace, "late");  // nearer its deadline than ks.a
  EXPECT_TRUE(got.tables.empty());  // every table of "late"
  EXPECT_NE(got.why.find("late.c was last repaired"), std::string::npos) << got.why;
  EXPECT_GT(got.wake, now);  // ks.b and fresh.f fall due later

  got = ChooseAuto({a, b, fresh}, 0.5, "uid", now);
  EXPECT_EQ(got.keyspace, "ks");
  EXPECT_EQ(got.tables, std::vector<std::string>{"a"});  // b is not due

  TableCoverage never = Table("zzz", "n");  // first sight unknown: due at once
  got = ChooseAuto({a, b, never}, 0.5, "uid", now);
  EXPECT_EQ(got.keyspace, "zzz");
  EXPECT_NE(got.why.find("no repair on record"), std::string::npos);

  got = ChooseAuto({b, fresh}, 0.5, "uid", now);
  EXPECT_EQ(got.keyspace, "");
  EXPECT_LE(got.wake, now + absl::Seconds(kTenDays) * 0.75 + absl::Seconds(1));
}

}  // namespace
}  // namespace repair
