#include "base/cron.h"

#include "gtest/gtest.h"

namespace base {
namespace {

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

std::string Fmt(std::optional<absl::Time> t, absl::TimeZone zone = absl::UTCTimeZone()) {
  return t ? absl::FormatTime("%Y-%m-%d %H:%M %a", *t, zone) : "never";
}

CronSchedule Must(const char* spec) {
  auto s = CronSchedule::Parse(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << s.status();
  return s.ok() ? *s : *CronSchedule::Parse("* * * * *");
}

TEST(CronTest, NextFiresOfCommonSchedules) {
  const absl::Time t = At("2026-12-04T19:24:41Z");  // a Friday
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(Fmt(Must("* * * * *").Next(t, utc)), "2026-12-04 19:25 Fri");
  EXPECT_EQ(Fmt(Must("*/15 * * * *").Next(t, utc)), "2026-12-04 19:30 Fri");
  EXPECT_EQ(Fmt(Must("0 2 * * *").Next(t, utc)), "2026-12-05 02:00 Sat");
  EXPECT_EQ(Fmt(Must("@daily").Next(t, utc)), "2026-12-05 00:00 Sat");
  EXPECT_EQ(Fmt(Must("@hourly").Next(t, utc)), "2026-12-04 20:00 Fri");
  EXPECT_EQ(Fmt(Must("30 1 * * sun").Next(t, utc)), "2026-12-06 01:30 Sun");
  EXPECT_EQ(Fmt(Must("30 1 * * 7").Next(t, utc)), "2026-12-06 01:30 Sun");
  EXPECT_EQ(Fmt(Must("0 0 1 jan *").Next(t, utc)), "2027-01-01 00:00 Fri");
  EXPECT_EQ(Fmt(Must("0 12 1-7 * MON-FRI").Next(t, utc)), "2026-12-05 12:00 Sat");  // either
  EXPECT_EQ(Fmt(Must("0 0 29 2 *").Next(t, utc)), "2028-02-29 00:00 Tue");
  EXPECT_EQ(Fmt(Must("5/20 3 * * *").Next(t, utc)), "2026-12-05 03:05 Sat");
  EXPECT_EQ(Fmt(Must("0 0 30 2 *").Next(t, utc)), "never");
  // Strictly after: at 19:30 exactly, the next */15 is 19:45.
  EXPECT_EQ(Fmt(Must("*/15 * * * *").Next(At("2026-12-04T19:30:00Z"), utc)),
            "2026-12-04 19:45 Fri");
}

TEST(CronTest, InATimeZoneAcrossDaylightSaving) {
  absl::TimeZone paris;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Paris", &paris));
  // 02:30 does not exist on 2027-03-28 in Paris: it fires once, when the clocks change.
  auto next = Must("30 2 * * *").Next(At("2027-03-27T12:00:00Z"), paris);
  EXPECT_EQ(Fmt(next, paris), "2027-03-28 03:00 Sun");
  EXPECT_EQ(Fmt(Must("0 9 * * *").Next(At("2026-12-04T07:00:00Z"), paris), paris),
            "2026-12-04 09:00 Fri");
  EXPECT_EQ(*Must("0 9 * * *").Next(At("2026-12-04T07:00:00Z"), paris), At("2026-12-04T08:00:00Z"));
}

TEST(CronTest, LastFireWithinAWindow) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const auto every5 = Must("*/5 * * * *");
  EXPECT_EQ(Fmt(every5.Last(At("2026-12-04T19:24:41Z"), At("2026-12-04T19:00:00Z"), utc)),
            "2026-12-04 19:20 Fri");
  EXPECT_EQ(Fmt(every5.Last(At("2026-12-04T19:20:00Z"), At("2026-12-04T19:00:00Z"), utc)),
            "2026-12-04 19:20 Fri");  // at counts
  EXPECT_EQ(Fmt(every5.Last(At("2026-12-04T19:24:41Z"), At("2026-12-04T19:21:00Z"), utc)), "never");
}

TEST(CronTest, BadSchedulesNameTheField) {
  struct Case {
    const char* spec;
    const char* says;
  };
  for (const Case& c : {Case{"* * * *", "has 4 fields"}, Case{"60 * * * *", "cron minute"},
                        Case{"* 24 * * *", "cron hour"}, Case{"* * 0 * *", "day of month"},
                        Case{"* * * 13 *", "cron month"}, Case{"* * * * 8", "day of week"},
                        Case{"*/0 * * * *", "bad step"}, Case{"5-1 * * * *", "runs backwards"},
                        Case{"* * * foo *", "\"foo\""}, Case{"1,,2 * * * *", "empty item"},
                        Case{"@sometimes", "want 5"}}) {
    auto s = CronSchedule::Parse(c.spec);
    ASSERT_FALSE(s.ok()) << c.spec;
    EXPECT_TRUE(absl::IsInvalidArgument(s.status()));
    EXPECT_NE(s.status().message().find(c.says), absl::string_view::npos)
        << c.spec << ": " << s.status();
  }
}

}  // namespace
}  // namespace base
