// SPDX-License-Identifier: Apache-2.0
// Cron expressions of the job service's schedules (core/src/jobs/cron.h): fields, names, steps,
// month ends, leap years, the day-of-month/day-of-week OR rule, shorthands and bad input named
// by field and column. Times are UTC.
#include "jobs/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace aimass::core::jobs {
namespace {

using ::testing::HasSubstr;

// Unix ms of a UTC date and time.
std::int64_t at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date{year{y} / month{mo} / std::chrono::day{d}};
  return duration_cast<milliseconds>((date + hours(h) + minutes(mi)).time_since_epoch()).count();
}

CronExpression cron(const char* text) {
  auto parsed = CronExpression::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().message();
  return *parsed;
}

std::int64_t next(const char* text, std::int64_t after) {
  const auto fire = cron(text).nextAfter(after);
  EXPECT_TRUE(fire.has_value()) << text;
  return fire.value_or(0);
}

std::string parseError(const char* text) {
  auto parsed = CronExpression::parse(text);
  EXPECT_FALSE(parsed.ok()) << text << " parsed";
  if (parsed.ok()) return {};
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST(Cron, EveryMinuteFiresOnTheNextWholeMinuteStrictlyAfter) {
  EXPECT_EQ(next("* * * * *", at(2026, 3, 4, 10, 7)), at(2026, 3, 4, 10, 8));
  EXPECT_EQ(next("* * * * *", at(2026, 3, 4, 10, 7) + 59'999), at(2026, 3, 4, 10, 8));
  EXPECT_EQ(next("* * * * *", at(2026, 12, 31, 23, 59)), at(2027, 1, 1, 0, 0));
}

TEST(Cron, FixedTimesListsRangesAndSteps) {
  EXPECT_EQ(next("30 2 * * *", at(2026, 3, 4, 2, 30)), at(2026, 3, 5, 2, 30));
  EXPECT_EQ(next("30 2 * * *", at(2026, 3, 4, 2, 29)), at(2026, 3, 4, 2, 30));
  EXPECT_EQ(next("0,15,45 * * * *", at(2026, 3, 4, 9, 16)), at(2026, 3, 4, 9, 45));
  EXPECT_EQ(next("*/15 * * * *", at(2026, 3, 4, 9, 46)), at(2026, 3, 4, 10, 0));
  EXPECT_EQ(next("10-20/5 * * * *", at(2026, 3, 4, 9, 16)), at(2026, 3, 4, 9, 20));
  EXPECT_EQ(next("10-20/5 * * * *", at(2026, 3, 4, 9, 20)), at(2026, 3, 4, 10, 10));
  // N/STEP runs from N to the end of the field.
  EXPECT_EQ(next("50/5 * * * *", at(2026, 3, 4, 9, 56)), at(2026, 3, 4, 10, 50));
  EXPECT_EQ(next("0 9-17/4 * * *", at(2026, 3, 4, 13, 0)), at(2026, 3, 4, 17, 0));
  EXPECT_EQ(next("0 9-17/4 * * *", at(2026, 3, 4, 17, 0)), at(2026, 3, 5, 9, 0));
}

TEST(Cron, NamesOfMonthsAndDaysInAnyCase) {
  // 2026-03-04 is a Wednesday.
  EXPECT_EQ(next("0 8 * * mon-fri", at(2026, 3, 6, 9, 0)), at(2026, 3, 9, 8, 0));
  EXPECT_EQ(next("0 8 * * SAT,sun", at(2026, 3, 4)), at(2026, 3, 7, 8, 0));
  EXPECT_EQ(next("0 0 1 Jun *", at(2026, 3, 4)), at(2026, 6, 1));
  EXPECT_EQ(next("0 0 1 jan-mar/2 *", at(2026, 1, 1)), at(2026, 3, 1));
}

TEST(Cron, SundayIsZeroOrSeven) {
  EXPECT_EQ(next("0 0 * * 7", at(2026, 3, 4)), at(2026, 3, 8));
  EXPECT_EQ(next("0 0 * * 0", at(2026, 3, 4)), at(2026, 3, 8));
  EXPECT_EQ(next("0 0 * * 5-7", at(2026, 3, 7, 1)), at(2026, 3, 8));
}

TEST(Cron, MonthEndsSkipMonthsWithoutTheDay) {
  EXPECT_EQ(next("0 0 31 * *", at(2026, 1, 31)), at(2026, 3, 31));
  EXPECT_EQ(next("0 0 31 * *", at(2026, 3, 31)), at(2026, 5, 31));
  EXPECT_EQ(next("0 0 30 * *", at(2026, 1, 30)), at(2026, 3, 30));
  EXPECT_EQ(next("59 23 30 4 *", at(2026, 4, 30, 23, 59)), at(2027, 4, 30, 23, 59));
}

TEST(Cron, LeapDaysOnlyInLeapYears) {
  EXPECT_EQ(next("0 12 29 2 *", at(2026, 3, 1)), at(2028, 2, 29, 12, 0));
  // 2100 is not a leap year: from 2096 the next 29 February is in 2104.
  EXPECT_EQ(next("0 0 29 feb *", at(2096, 2, 29, 0, 1)), at(2104, 2, 29));
  EXPECT_EQ(next("0 0 28 2 *", at(2028, 2, 28)), at(2029, 2, 28));
}

TEST(Cron, BothDayFieldsRestrictedMeansEither) {
  // The 13th, or any Friday: from Wednesday 2026-03-04 the Friday the 6th comes first, then
  // Friday the 13th, then the 20th.
  EXPECT_EQ(next("0 0 13 * fri", at(2026, 3, 4)), at(2026, 3, 6));
  EXPECT_EQ(next("0 0 13 * fri", at(2026, 3, 6)), at(2026, 3, 13));
  EXPECT_EQ(next("0 0 13 * fri", at(2026, 3, 13)), at(2026, 3, 20));
  EXPECT_EQ(next("0 0 1 * mon", at(2026, 3, 31)), at(2026, 4, 1));
  // With one of them '*'-led, both must match (the step form counts as '*').
  EXPECT_EQ(next("0 0 * * fri", at(2026, 3, 6)), at(2026, 3, 13));
  // Odd days that are Mondays: the 9th (the 2nd is even).
  EXPECT_EQ(next("0 0 */2 * mon", at(2026, 3, 1)), at(2026, 3, 9));
  EXPECT_EQ(next("0 0 13 * *", at(2026, 3, 4)), at(2026, 3, 13));
}

TEST(Cron, Shorthands) {
  EXPECT_EQ(next("@hourly", at(2026, 3, 4, 10, 0)), at(2026, 3, 4, 11, 0));
  EXPECT_EQ(next("@daily", at(2026, 3, 4, 10, 0)), at(2026, 3, 5));
  EXPECT_EQ(next("@midnight", at(2026, 3, 4, 10, 0)), at(2026, 3, 5));
  EXPECT_EQ(next("@weekly", at(2026, 3, 4)), at(2026, 3, 8));
  EXPECT_EQ(next("@monthly", at(2026, 3, 4)), at(2026, 4, 1));
  EXPECT_EQ(next("  @yearly ", at(2026, 3, 4)), at(2027, 1, 1));
  EXPECT_EQ(cron("  @daily ").text(), "@daily");
  EXPECT_EQ(cron(" 0  2 * *   *").text(), "0 2 * * *");
}

TEST(Cron, ErrorsNameTheFieldAndColumn) {
  EXPECT_THAT(parseError("0 24 * * *"),
              HasSubstr("cron field 'hour' (column 3): 24 is out of range 0-23"));
  EXPECT_THAT(parseError("60 * * * *"), HasSubstr("field 'minute' (column 1): 60 is out of"));
  EXPECT_THAT(parseError("0 0 0 * *"), HasSubstr("field 'day-of-month' (column 5): 0 is out"));
  EXPECT_THAT(parseError("0 0 1 13 *"), HasSubstr("field 'month' (column 7): 13 is out"));
  EXPECT_THAT(parseError("0 0 * * 8"), HasSubstr("field 'day-of-week' (column 9): 8 is out"));
  EXPECT_THAT(parseError("0 0 * * 1,mun"),
              HasSubstr("field 'day-of-week' (column 11): 'mun' is not a value (names: "
                        "sun..sat)"));
  EXPECT_THAT(parseError("0 0 * foo *"), HasSubstr("field 'month' (column 7): 'foo'"));
  EXPECT_THAT(parseError("0 x * * *"),
              HasSubstr("field 'hour' (column 3): 'x' is not a value (numbers only)"));
  EXPECT_THAT(parseError("*/0 * * * *"),
              HasSubstr("field 'minute' (column 3): a step must be at least 1"));
  EXPECT_THAT(parseError("*/ * * * *"), HasSubstr("(column 3): a step is missing"));
  EXPECT_THAT(parseError("0 */a * * *"), HasSubstr("field 'hour' (column 5): the step 'a'"));
  EXPECT_THAT(parseError("30-10 * * * *"),
              HasSubstr("field 'minute' (column 1): the range '30-10' ends before it starts"));
  EXPECT_THAT(parseError("0 1,,2 * * *"), HasSubstr("field 'hour' (column 5): an empty list"));
  EXPECT_THAT(parseError("0 0 1-"), HasSubstr("has 3 fields; it needs 5"));
  EXPECT_THAT(parseError("0 0 * * * *"), HasSubstr("has 6 fields"));
  EXPECT_THAT(parseError(""), HasSubstr("has 0 fields"));
  EXPECT_THAT(parseError("0 0 1- * *"), HasSubstr("field 'day-of-month' (column 7): a value is"));
  EXPECT_THAT(parseError("  @often"),
              HasSubstr("cron expression (column 3): unknown shorthand '@often'"));
  EXPECT_THAT(parseError("0 0 -5 * *"), HasSubstr("field 'day-of-month' (column 5): a value is"));
}

TEST(Cron, AnExpressionThatNeverFiresIsRefused) {
  EXPECT_THAT(parseError("0 0 30 feb *"), HasSubstr("'0 0 30 feb *' never fires"));
  EXPECT_THAT(parseError("0 0 31 4,6,9,11 *"), HasSubstr("never fires"));
  // With the day of the week restricted as well, the OR rule makes it fire on Mondays.
  EXPECT_TRUE(CronExpression::parse("0 0 30 feb mon").ok());
}

}  // namespace
}  // namespace aimass::core::jobs
