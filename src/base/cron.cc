#include "base/cron.h"

#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace base {
namespace {

struct Field {
  const char* name;
  int min, max;
  std::map<std::string, int> names;
};

const Field kFields[] = {
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month",
     1,
     12,
     {{"jan", 1},
      {"feb", 2},
      {"mar", 3},
      {"apr", 4},
      {"may", 5},
      {"jun", 6},
      {"jul", 7},
      {"aug", 8},
      {"sep", 9},
      {"oct", 10},
      {"nov", 11},
      {"dec", 12}}},
    {"day of week",
     0,
     7,
     {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4}, {"fri", 5}, {"sat", 6}}},
};

absl::StatusOr<int> Value(const Field& f, absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (auto it = f.names.find(lower); it != f.names.end()) return it->second;
  int v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < f.min || v > f.max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron ", f.name, ": \"", text, "\" is not a value from ", f.min, " to ", f.max));
  }
  return v;
}

// The values one field allows, as a bit per value (bit v for value v).
absl::StatusOr<std::vector<bool>> ParseField(const Field& f, absl::string_view text) {
  std::vector<bool> set(f.max + 1, false);
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    int step = 1;
    absl::string_view range = item;
    if (size_t slash = item.find('/'); slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      if (!absl::SimpleAtoi(item.substr(slash + 1), &step) || step < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("cron ", f.name, ": bad step in \"", item, "\""));
      }
    }
    int lo = f.min, hi = f.max;
    if (range != "*") {
      if (range.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("cron ", f.name, ": empty item"));
      }
      size_t dash = range.find('-');
      auto a = Value(f, range.substr(0, dash));
      if (!a.ok()) return a.status();
      lo = hi = *a;
      if (dash != absl::string_view::npos) {
        auto b = Value(f, range.substr(dash + 1));
        if (!b.ok()) return b.status();
        hi = *b;
        if (hi < lo) {
          return absl::InvalidArgumentError(
              absl::StrCat("cron ", f.name, ": range \"", range, "\" runs backwards"));
        }
      } else if (step > 1) {
        hi = f.max;  // "5/15": from 5, every 15
      }
    }
    for (int v = lo; v <= hi; v += step) set[v] = true;
  }
  return set;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(const std::string& spec) {
  static const std::map<std::string, std::string> kMacros = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  std::string text(absl::StripAsciiWhitespace(spec));
  if (auto it = kMacros.find(absl::AsciiStrToLower(text)); it != kMacros.end()) text = it->second;
  std::vector<std::string> fields = absl::StrSplit(text, ' ', absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron: \"", spec, "\" has ", fields.size(),
        " fields; want 5 (minute hour day-of-month month day-of-week) or a macro such as @daily"));
  }
  CronSchedule s;
  std::vector<bool> sets[5];
  for (int i = 0; i < 5; ++i) {
    auto set = ParseField(kFields[i], fields[i]);
    if (!set.ok()) return set.status();
    sets[i] = *std::move(set);
  }
  for (int v = 0; v < 60; ++v) s.minutes_[v] = sets[0][v];
  for (int v = 0; v < 24; ++v) s.hours_[v] = sets[1][v];
  for (int v = 1; v <= 31; ++v) s.days_[v] = sets[2][v];
  for (int v = 1; v <= 12; ++v) s.months_[v] = sets[3][v];
  for (int v = 0; v <= 7; ++v) {
    if (sets[4][v]) s.weekdays_[v % 7] = true;  // 7 is Sunday too
  }
  s.days_restricted_ = fields[2][0] != '*';
  s.weekdays_restricted_ = fields[4][0] != '*';
  return s;
}

bool CronSchedule::Matches(const absl::CivilMinute& t) const {
  if (!minutes_[t.minute()] || !hours_[t.hour()] || !months_[t.month()]) return false;
  const bool day = days_[t.day()];
  const int weekday = (static_cast<int>(absl::GetWeekday(absl::CivilDay(t))) + 1) % 7;
  const bool wday = weekdays_[weekday];  // absl: Monday is 0; cron: Sunday is 0
  if (days_restricted_ && weekdays_restricted_) return day || wday;
  return day && wday;
}

std::optional<absl::Time> CronSchedule::Next(absl::Time after, absl::TimeZone zone) const {
  absl::CivilMinute t = absl::ToCivilMinute(after, zone) + 1;
  const absl::CivilMinute end = t + int64_t{5} * 366 * 24 * 60;
  while (t < end) {
    // Whole days and hours that cannot match are skipped at once.
    if (!months_[t.month()]) {
      t = absl::CivilMinute(absl::CivilMonth(t) + 1);
      continue;
    }
    const absl::CivilDay day(t);
    const bool day_ok = [&] {
      const int weekday = (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;
      if (days_restricted_ && weekdays_restricted_) return days_[t.day()] || weekdays_[weekday];
      return days_[t.day()] && weekdays_[weekday];
    }();
    if (!day_ok) {
      t = absl::CivilMinute(day + 1);
      continue;
    }
    if (!hours_[t.hour()]) {
      t = absl::CivilMinute(absl::CivilHour(t) + 1);
      continue;
    }
    if (minutes_[t.minute()]) {
      // A local time skipped by a DST change fires once, when the clocks change.
      const absl::Time at = absl::FromCivil(t, zone);
      if (at > after) return at;
    }
    t += 1;
  }
  return std::nullopt;
}

std::optional<absl::Time> CronSchedule::Last(absl::Time at, absl::Time not_before,
                                             absl::TimeZone zone) const {
  std::optional<absl::Time> last;
  for (auto t = Next(not_before - absl::Seconds(1), zone); t && *t <= at; t = Next(*t, zone)) {
    last = t;
  }
  return last;
}

absl::StatusOr<DueRun> RunDueAt(const std::string& schedule, const std::string& time_zone,
                                absl::Time now, absl::Duration starting_deadline) {
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(schedule);
  if (!cron.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("schedule: ", cron.status().message()));
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(time_zone, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeZone: unknown time zone \"", time_zone, "\""));
  }
  return DueRun{cron->Last(now, now - starting_deadline, zone), cron->Next(now, zone)};
}

}  // namespace base
