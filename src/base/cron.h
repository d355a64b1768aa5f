// A cron schedule (the five fields of crontab(5), as a Kubernetes CronJob takes them) and the
// times it fires, in a time zone.
//
//   minute hour day-of-month month day-of-week
//   each: *  n  a-b  a-b/s  */s  lists of those (a,b-c); months JAN-DEC and days SUN-SAT by name
//   (case-insensitive), day 7 is Sunday as 0; "@yearly" ("@annually"), "@monthly", "@weekly",
//   "@daily" ("@midnight"), "@hourly".
// When both day fields are restricted (neither starts with '*'), a day matches either, as cron's.
//
// Pure; thread-safe.
#pragma once

#include <bitset>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace base {

class CronSchedule {
 public:
  // InvalidArgument naming the field and what is wrong with it.
  static absl::StatusOr<CronSchedule> Parse(const std::string& spec);

  // The first time strictly after `after` that the schedule fires in `zone` (whole minutes);
  // nullopt when it never does within 5 years (February 30th).
  std::optional<absl::Time> Next(absl::Time after, absl::TimeZone zone) const;
  // The last time at or before `at` that it fired, no earlier than `not_before`; nullopt if none.
  std::optional<absl::Time> Last(absl::Time at, absl::Time not_before, absl::TimeZone zone) const;

  bool Matches(const absl::CivilMinute& t) const;

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false, weekdays_restricted_ = false;
};

// What a schedule (cron text and IANA time zone, as a CronJob holds them) asks at `now`: the run
// that is due (the last time it fired, if no longer ago than `starting_deadline`) and when it
// fires next. InvalidArgument "schedule: ..." or "timeZone: ..." naming the fault.
struct DueRun {
  std::optional<absl::Time> due;
  std::optional<absl::Time> next;
};
absl::StatusOr<DueRun> RunDueAt(const std::string& schedule, const std::string& time_zone,
                                absl::Time now, absl::Duration starting_deadline);

}  // namespace base
