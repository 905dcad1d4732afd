// SPDX-License-Identifier: Apache-2.0
// Cron expressions for the job service's schedules (docs/jobs.md#schedules): the standard five
// fields (minute hour day-of-month month day-of-week) with `*`, lists, ranges, steps and the
// names jan..dec and sun..sat, the day-of-month/day-of-week OR rule of Vixie cron, and the
// shorthands @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually). Every time is
// UTC. Pure computation: reads no clock.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aimass/status.h"

namespace aimass::core::jobs {

/// A parsed cron expression.
///
/// Threading: immutable after parse(); safe to share.
class CronExpression {
 public:
  /// Parses `text`. kInvalidArgument naming the field and its 1-based column for a bad one
  /// ("cron field 'hour' (column 3): 24 is out of range 0-23"), and for an expression that can
  /// never fire ("0 0 30 feb *").
  static Expected<CronExpression> parse(std::string_view text);

  /// The first time strictly after `after_unix_ms`, in Unix milliseconds (whole minutes, UTC).
  /// nullopt only when none comes within 28 years (parse() refuses such expressions).
  std::optional<std::int64_t> nextAfter(std::int64_t after_unix_ms) const;

  /// The text it was parsed from, trimmed.
  const std::string& text() const { return text_; }

 private:
  CronExpression() = default;
  bool dayMatches(unsigned day_of_month, unsigned weekday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  ///< 1..31
  std::bitset<13> months_;         ///< 1..12
  std::bitset<7> days_of_week_;    ///< 0 (Sunday)..6
  // Vixie cron's rule: when both day fields are restricted (do not start with '*'), a day
  // matches when either matches; otherwise both must.
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = false;
};

}  // namespace aimass::core::jobs
