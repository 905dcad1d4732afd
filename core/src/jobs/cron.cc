// SPDX-License-Identifier: Apache-2.0
#include "jobs/cron.h"

#include <array>
#include <cctype>
#include <chrono>
#include <vector>

namespace aimass::core::jobs {
namespace {

using namespace std::chrono;

struct FieldSpec {
  const char* name;
  unsigned low;
  unsigned high;
  const char* const* names;  ///< names for low, low+1, ... (null: none)
  unsigned name_count;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<FieldSpec, 5> kFields{{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kDayNames, 7},  // 7 is Sunday too
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kShorthands{{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

// A field's text and where it starts in the expression (1-based).
struct Token {
  std::string_view text;
  std::size_t column = 0;
};

Status fieldError(const FieldSpec& field, std::size_t column, const std::string& what) {
  return invalidArgument("cron field '" + std::string(field.name) + "' (column " +
                         std::to_string(column) + "): " + what);
}

// A number or (month, day-of-week) a three-letter name, within the field's range.
Expected<unsigned> parseValue(const FieldSpec& field, std::string_view text, std::size_t column) {
  if (text.empty()) return fieldError(field, column, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    unsigned value = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || value > 1000) {
        return fieldError(field, column, "'" + std::string(text) + "' is not a number");
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value < field.low || value > field.high) {
      return fieldError(field, column, std::to_string(value) + " is out of range " +
                                           std::to_string(field.low) + "-" +
                                           std::to_string(field.high));
    }
    return value;
  }
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (unsigned i = 0; i < field.name_count; ++i) {
    if (lower == field.names[i]) return field.low + i;
  }
  std::string known = field.name_count ? std::string(" (names: ") + field.names[0] + ".." +
                                             field.names[field.name_count - 1] + ")"
                                       : std::string(" (numbers only)");
  return fieldError(field, column, "'" + std::string(text) + "' is not a value" + known);
}

// One list item: `*`, `N`, `N-M`, each optionally `/STEP` (`N/STEP` means N to the end).
Status parseItem(const FieldSpec& field, std::string_view item, std::size_t column,
                 std::vector<bool>& set) {
  std::string_view base = item;
  unsigned step = 1;
  bool stepped = false;
  if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    const std::string_view step_text = item.substr(slash + 1);
    const std::size_t step_column = column + slash + 1;
    if (step_text.empty()) return fieldError(field, step_column, "a step is missing after '/'");
    for (char c : step_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || step > 1000) {
        return fieldError(field, step_column, "the step '" + std::string(step_text) +
                                                  "' is not a whole number");
      }
    }
    step = static_cast<unsigned>(std::stoul(std::string(step_text)));
    if (step == 0) return fieldError(field, step_column, "a step must be at least 1");
    stepped = true;
  }
  unsigned first = field.low;
  unsigned last = field.high;
  if (base != "*") {
    const std::size_t dash = base.find('-');
    AIMASS_ASSIGN_OR_RETURN(first, parseValue(field, base.substr(0, dash), column));
    if (dash != std::string_view::npos) {
      AIMASS_ASSIGN_OR_RETURN(last, parseValue(field, base.substr(dash + 1), column + dash + 1));
      if (last < first) {
        return fieldError(field, column, "the range '" + std::string(base) +
                                             "' ends before it starts");
      }
    } else if (!stepped) {
      last = first;
    }
  }
  for (unsigned v = first; v <= last; v += step) set[v] = true;
  return okStatus();
}

Expected<std::vector<bool>> parseField(const FieldSpec& field, const Token& token) {
  std::vector<bool> set(field.high + 1, false);
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = token.text.find(',', start);
    const std::string_view item = token.text.substr(start, comma - start);
    if (item.empty()) return fieldError(field, token.column + start, "an empty list item");
    AIMASS_RETURN_IF_ERROR(parseItem(field, item, token.column + start, set));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

template <std::size_t N>
void copyInto(const std::vector<bool>& values, std::bitset<N>& bits) {
  for (std::size_t i = 0; i < values.size() && i < N; ++i) bits[i] = values[i];
}

std::vector<Token> splitFields(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) tokens.push_back({text.substr(start, i - start), start + 1});
  }
  return tokens;
}

// 2000-01-01T00:00Z: the reference from which parse() checks that an expression ever fires.
constexpr std::int64_t kReferenceMs = 946684800000;
// The calendar repeats its weekdays and leap days within 28 years.
constexpr int kSearchYears = 28;

}  // namespace

Expected<CronExpression> CronExpression::parse(std::string_view text) {
  CronExpression cron;
  const std::vector<Token> whole = splitFields(text);
  std::string expanded;
  std::vector<Token> tokens = whole;
  if (whole.size() == 1 && whole[0].text.starts_with('@')) {
    for (const auto& [name, meaning] : kShorthands) {
      if (whole[0].text == name) expanded = meaning;
    }
    if (expanded.empty()) {
      return invalidArgument("cron expression (column " + std::to_string(whole[0].column) +
                             "): unknown shorthand '" + std::string(whole[0].text) +
                             "' (@hourly, @daily, @midnight, @weekly, @monthly, @yearly, "
                             "@annually)");
    }
    tokens = splitFields(expanded);
  }
  if (tokens.size() != kFields.size()) {
    return invalidArgument("cron expression '" + std::string(text) + "' has " +
                           std::to_string(tokens.size()) +
                           " fields; it needs 5 (minute hour day-of-month month day-of-week) "
                           "or a shorthand such as @daily");
  }
  std::array<std::vector<bool>, 5> sets;
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    AIMASS_ASSIGN_OR_RETURN(sets[i], parseField(kFields[i], tokens[i]));
  }
  if (sets[4][7]) sets[4][0] = true;  // 7 is Sunday, as 0
  copyInto(sets[0], cron.minutes_);
  copyInto(sets[1], cron.hours_);
  copyInto(sets[2], cron.days_of_month_);
  copyInto(sets[3], cron.months_);
  copyInto(sets[4], cron.days_of_week_);
  cron.day_of_month_star_ = tokens[2].text.starts_with('*');
  cron.day_of_week_star_ = tokens[4].text.starts_with('*');
  for (const Token& t : whole) cron.text_ += (cron.text_.empty() ? "" : " ") + std::string(t.text);
  if (!cron.nextAfter(kReferenceMs)) {
    return invalidArgument("cron expression '" + cron.text_ +
                           "' never fires (no such day in the months it names)");
  }
  return cron;
}

bool CronExpression::dayMatches(unsigned day_of_month, unsigned weekday) const {
  const bool dom = days_of_month_[day_of_month];
  const bool dow = days_of_week_[weekday];
  if (day_of_month_star_ || day_of_week_star_) return dom && dow;
  return dom || dow;
}

std::optional<std::int64_t> CronExpression::nextAfter(std::int64_t after_unix_ms) const {
  const sys_time<milliseconds> after{milliseconds(after_unix_ms)};
  sys_time<minutes> t = floor<minutes>(after) + minutes(1);
  const sys_days limit = floor<days>(after) + days(366 * kSearchYears);
  while (t < limit) {
    const sys_days day = floor<days>(t);
    const year_month_day date{day};
    const unsigned month = static_cast<unsigned>(date.month());
    if (!months_[month]) {
      const year_month next = year_month{date.year(), date.month()} + std::chrono::months(1);
      t = sys_days{next / 1};
      continue;
    }
    const unsigned day_of_week = std::chrono::weekday{day}.c_encoding();
    if (!dayMatches(static_cast<unsigned>(date.day()), day_of_week)) {
      t = day + days(1);
      continue;
    }
    const hh_mm_ss<minutes> time{t - day};
    if (!hours_[static_cast<std::size_t>(time.hours().count())]) {
      t = day + time.hours() + hours(1);
      continue;
    }
    if (!minutes_[static_cast<std::size_t>(time.minutes().count())]) {
      t += minutes(1);
      continue;
    }
    return duration_cast<milliseconds>(t.time_since_epoch()).count();
  }
  return std::nullopt;
}

}  // namespace aimass::core::jobs
