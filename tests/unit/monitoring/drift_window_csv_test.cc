// SPDX-License-Identifier: Apache-2.0
// The batch drift report's fast paths give what the plain ones gave: the CSV read in parallel
// chunks (one-pass cells) is the window CsvRecordReader reads row by row, every cell the float
// parseCsvFloat() makes of it, and the first error (a bad cell, a short row) names the same
// file, line and column; the radix sort orders as std::sort; the linear KS walk finds the D the
// binary searches found; and the window's result does not depend on the thread count, nor on
// its values being kept as floats or doubles.
#include "monitoring/drift_window_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "aimass/util/csv_text.h"
#include "monitoring/drift_statistics.h"
#include "monitoring/drift_tests.h"
#include "monitoring/sort_numbers.h"
#include "profile_from_draws.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using testing::profileOf;

constexpr std::size_t kFeatures = 6;

std::vector<std::string> featureNames() {
  std::vector<std::string> names;
  for (std::size_t f = 0; f < kFeatures; ++f) names.push_back("x" + std::to_string(f));
  return names;
}

DataProfile numberProfile() {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> values(500 * kFeatures);
  for (auto& v : values) v = normal(gen);
  return profileOf(featureNames(), values);
}

/// Cells of every kind a number column may hold that parse: plain decimals (the one-pass
/// kind) and what only parseCsvFloat() reads (exponents, a '+', spaces around, many digits).
std::string numberCellText(std::mt19937& gen) {
  std::uniform_int_distribution<int> kind(0, 19);
  std::normal_distribution<double> normal(0, 3);
  char buffer[64];
  switch (kind(gen)) {
    case 0:
      return "";
    case 1:
      std::snprintf(buffer, sizeof buffer, "%.6e", normal(gen));
      return buffer;
    case 2:
      std::snprintf(buffer, sizeof buffer, " +%.3f\t", std::fabs(normal(gen)));
      return buffer;
    case 3:
      std::snprintf(buffer, sizeof buffer, "%.21f", normal(gen));  // past 18 digits
      return buffer;
    case 4:
      return std::to_string(gen());  // an integer
    case 5:
      return "-0.0";
    default:
      std::snprintf(buffer, sizeof buffer, "%.*f", static_cast<int>(gen() % 8), normal(gen));
      return buffer;
  }
}

struct Text {
  std::string csv;
  std::vector<std::vector<float>> expected;  ///< per feature: what parseCsvFloat() reads
};

/// A CSV whose columns are the features shuffled among two others ("id", "note"), with CRLF
/// and LF line ends and blank lines here and there: rows * ~60 bytes.
Text csvText(std::size_t rows, unsigned seed) {
  std::mt19937 gen(seed);
  const std::vector<std::string> header = {"x3", "id", "x0", "x5", "x1", "note", "x4", "x2"};
  Text t;
  t.expected.resize(kFeatures);
  for (std::size_t c = 0; c < header.size(); ++c) t.csv += (c ? "," : "") + header[c];
  t.csv += "\n";
  for (std::size_t r = 0; r < rows; ++r) {
    if (gen() % 50 == 0) t.csv += gen() % 2 ? "\n" : "\r\n";  // blank lines are skipped
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (c) t.csv += ",";
      if (header[c][0] != 'x') {
        t.csv += header[c] == "id" ? std::to_string(r) : "n a";
        continue;
      }
      const std::string cell = numberCellText(gen);
      float value = 0;
      float expected = std::numeric_limits<float>::quiet_NaN();
      if (!csvTrim(cell).empty()) {
        EXPECT_FALSE(parseCsvFloat(cell, value).has_value()) << cell;
        expected = value;
      }
      t.expected[static_cast<std::size_t>(header[c][1] - '0')].push_back(expected);
      t.csv += cell;
    }
    t.csv += gen() % 3 == 0 ? "\r\n" : "\n";
  }
  return t;
}

/// Same values bit for bit (NaN as NaN).
void expectSameColumns(const std::vector<std::vector<float>>& a,
                       const std::vector<std::vector<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t f = 0; f < a.size(); ++f) {
    ASSERT_EQ(a[f].size(), b[f].size()) << "feature " << f;
    for (std::size_t r = 0; r < a[f].size(); ++r) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(a[f][r]), std::bit_cast<std::uint32_t>(b[f][r]))
          << "feature " << f << " row " << r << ": " << a[f][r] << " vs " << b[f][r];
    }
  }
}

TEST(DriftWindowCsvTest, ChunksReadInParallelGiveTheSequentialWindowAndParseCsvFloatsValues) {
  const DataProfile profile = numberProfile();
  // About 6 MB: several 1 MiB chunks for each thread count.
  const Text t = csvText(100000, 7);
  auto sequential = readCsvWindowSequentially(t.csv, "w.csv", profile);
  ASSERT_TRUE(sequential.ok()) << sequential.status().toString();
  EXPECT_EQ(sequential->rows, 100000u);
  expectSameColumns(sequential->window.numbers, t.expected);
  for (std::size_t threads : {1, 2, 3, 8}) {
    auto parallel = readCsvWindow(t.csv, "w.csv", profile, threads);
    ASSERT_TRUE(parallel.ok()) << parallel.status().toString();
    EXPECT_EQ(parallel->rows, sequential->rows) << threads << " threads";
    expectSameColumns(parallel->window.numbers, sequential->window.numbers);
  }
}

TEST(DriftWindowCsvTest, TheFirstBadRowIsNamedByFileLineAndColumnWhicheverWayItIsRead) {
  const DataProfile profile = numberProfile();
  Text t = csvText(60000, 9);
  // Lines are counted from the header's (1); a blank line or two may come before a row, so
  // the bad cells go on lines found by counting the text's line ends.
  auto lineStart = [&](std::size_t line) {
    std::size_t at = 0;
    for (std::size_t l = 1; l < line; ++l) at = t.csv.find('\n', at) + 1;
    return at;
  };
  // x3 is the first column: a bad cell there on line 40001 and a short row on line 50001.
  std::string with_errors = t.csv;
  with_errors.insert(lineStart(50001), "1,2\n");
  with_errors.insert(lineStart(40001), "oops");
  for (std::size_t threads : {0, 1, 2, 5}) {
    auto read = readCsvWindow(with_errors, "w.csv", profile, threads);
    ASSERT_FALSE(read.ok());
    EXPECT_THAT(read.status().message(), HasSubstr("w.csv:40001: column 'x3' 'oops"))
        << read.status().toString();
  }
  auto sequential = readCsvWindowSequentially(with_errors, "w.csv", profile);
  ASSERT_FALSE(sequential.ok());
  EXPECT_EQ(sequential.status().message(),
            readCsvWindow(with_errors, "w.csv", profile, 2).status().message());

  std::string short_row = t.csv;
  short_row.insert(lineStart(50001), "1,2\n");
  auto read = readCsvWindow(short_row, "w.csv", profile, 3);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), "w.csv:50001: 2 fields, the header has 8");
  EXPECT_EQ(read.status().message(),
            readCsvWindowSequentially(short_row, "w.csv", profile).status().message());
}

TEST(DriftWindowCsvTest, QuotedTextEmptyTextAndAMissingColumnAreReadOrRefusedAsBefore) {
  const DataProfile profile = numberProfile();
  const std::string quoted = "x0,x1,x2,x3,x4,\"x5\"\r\n1,2,3,\"4\",5,6\n\n7,8,9,10,11,\n";
  auto read = readCsvWindow(quoted, "q.csv", profile, 4);
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(read->rows, 2u);
  EXPECT_EQ(read->window.numbers[3], (std::vector<float>{4, 10}));
  EXPECT_TRUE(std::isnan(read->window.numbers[5][1]));
  // No quotes, same text: the parallel path gives the same window.
  std::string plain = quoted;
  std::erase(plain, '"');
  auto fast = readCsvWindow(plain, "q.csv", profile, 4);
  ASSERT_TRUE(fast.ok()) << fast.status().toString();
  expectSameColumns(fast->window.numbers, read->window.numbers);

  EXPECT_THAT(readCsvWindow("\n\r\n", "e.csv", profile, 2).status().message(),
              HasSubstr("'e.csv' is empty"));
  auto missing = readCsvWindow("x0,x1,x2,x3,x4\n1,2,3,4,5\n", "m.csv", profile, 2);
  EXPECT_THAT(missing.status().message(), HasSubstr("feature column 'x5' is not in 'm.csv'"));
  auto bad_quoted = readCsvWindow("x0,x1,x2,x3,x4,x5\n1,2,3,\"x\",5,6\n", "b.csv", profile, 2);
  EXPECT_THAT(bad_quoted.status().message(), HasSubstr("b.csv:2: column 'x3' 'x' is not a number"));
}

TEST(DriftWindowCsvTest, RadixSortOrdersAsStdSort) {
  std::mt19937 gen(3);
  std::normal_distribution<double> normal(0, 1e3);
  SortScratch scratch;
  for (std::size_t n : {0, 5, 255, 256, 1000, 1023, 1024, 5000, 100000}) {
    for (bool floats : {true, false}) {
      std::vector<double> values(n);
      for (auto& v : values) {
        v = normal(gen);
        if (floats) v = static_cast<float>(v);
        if (gen() % 17 == 0) v = 0.0;  // ties
      }
      if (n > 10) {
        values[0] = std::numeric_limits<double>::infinity();
        values[1] = -std::numeric_limits<double>::infinity();
        values[2] = floats ? std::numeric_limits<float>::denorm_min()
                           : std::numeric_limits<double>::denorm_min();
        values[3] = floats ? static_cast<double>(-1e30f) : -1e300;
      }
      std::vector<double> expected = values;
      std::sort(expected.begin(), expected.end());
      // A column with gaps (NaN) sorts to its present values, from floats or doubles.
      std::vector<double> with_gaps = values, sorted;
      std::vector<float> as_floats(values.begin(), values.end());
      for (std::size_t i = 5; i < n; i += 7) {
        with_gaps[i] = std::numeric_limits<double>::quiet_NaN();
        as_floats[i] = std::numeric_limits<float>::quiet_NaN();
      }
      std::vector<double> present;
      std::copy_if(with_gaps.begin(), with_gaps.end(), std::back_inserter(present),
                   [](double v) { return !std::isnan(v); });
      std::sort(present.begin(), present.end());
      EXPECT_EQ(sortPresent(with_gaps, sorted, scratch), n - present.size());
      EXPECT_EQ(sorted, present) << n << (floats ? " floats" : " doubles") << " with gaps";
      if (floats) {
        EXPECT_EQ(sortPresent(as_floats, sorted, scratch), n - present.size());
        EXPECT_EQ(sorted, present) << n << " a float column with gaps";
      }
      sortNumbers(values, scratch);
      EXPECT_EQ(values, expected) << n << (floats ? " floats" : " doubles");
    }
  }
}

/// D as kolmogorovSmirnov() computed it with binary searches at every distinct value.
double binarySearchKsStatistic(const std::vector<double>& sorted, const std::vector<double>& p) {
  const auto n = static_cast<double>(sorted.size());
  auto gap = [&](double x) {
    const auto below = std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin();
    const auto upto = std::upper_bound(sorted.begin(), sorted.end(), x) - sorted.begin();
    return std::max(std::fabs(static_cast<double>(below) / n - referenceCdfBelow(p, x)),
                    std::fabs(static_cast<double>(upto) / n - referenceCdf(p, x)));
  };
  double d = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i == 0 || sorted[i] != sorted[i - 1]) d = std::max(d, gap(sorted[i]));
  }
  for (double x : p) d = std::max(d, gap(x));
  return d;
}

TEST(DriftWindowCsvTest, TheLinearKsWalkFindsTheSameStatisticAsBinarySearches) {
  std::mt19937 gen(11);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> percentiles(101);
    double at = -5;
    for (auto& p : percentiles) {
      at += gen() % 4 == 0 ? 0.0 : 0.1;  // tied percentiles too
      p = at;
    }
    std::vector<double> window(1 + gen() % 3000);
    std::uniform_real_distribution<double> uniform(-7 + trial * 0.1, 7);
    for (auto& v : window)
      v = gen() % 5 == 0 ? percentiles[gen() % 101] : std::round(uniform(gen) * 20) / 20;
    std::sort(window.begin(), window.end());
    EXPECT_EQ(kolmogorovSmirnov(window, percentiles, 2048).statistic,
              binarySearchKsStatistic(window, percentiles))
        << "trial " << trial;
  }
}

TEST(DriftWindowCsvTest, AWindowsResultDoesNotDependOnTheThreadCountOrOnFloatColumns) {
  const DataProfile profile = numberProfile();
  const Text t = csvText(5000, 13);
  auto read = readCsvWindow(t.csv, "w.csv", profile, 2);
  ASSERT_TRUE(read.ok());
  for (auto& v : read->window.numbers[2]) v += 0.5;  // one shifted feature
  DriftOptions options;
  std::vector<WindowDrift> results;
  for (std::size_t threads : {1, 2, 3, 16}) {
    options.threads = threads;
    auto drift = compareWindow(profile, read->window, options);
    ASSERT_TRUE(drift.ok()) << drift.status().toString();
    results.push_back(*drift);
  }
  // The float window is tested as the double window of the same values would be.
  DriftWindow doubles;
  for (const auto& column : read->window.numbers)
    doubles.numbers.emplace_back(column.begin(), column.end());
  options.threads = 1;
  auto as_doubles = compareWindow(profile, doubles, options);
  ASSERT_TRUE(as_doubles.ok());
  results.push_back(*as_doubles);
  EXPECT_TRUE(results[0].features[2].drifted);
  for (const WindowDrift& r : results) {
    EXPECT_EQ(r.drifted_features, results[0].drifted_features);
    ASSERT_EQ(r.features.size(), kFeatures);
    for (std::size_t f = 0; f < kFeatures; ++f) {
      EXPECT_EQ(r.features[f].feature, results[0].features[f].feature);
      EXPECT_EQ(r.features[f].statistic, results[0].features[f].statistic);
      EXPECT_EQ(r.features[f].adjusted_p_value, results[0].features[f].adjusted_p_value);
      EXPECT_EQ(r.features[f].psi, results[0].features[f].psi);
      EXPECT_EQ(r.features[f].values, results[0].features[f].values);
      EXPECT_EQ(r.features[f].missing, results[0].features[f].missing);
    }
  }
}

}  // namespace
}  // namespace aimass::core
