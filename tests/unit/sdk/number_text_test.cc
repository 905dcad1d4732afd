// SPDX-License-Identifier: Apache-2.0
#include "aimass/util/number_text.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>

namespace aimass {
namespace {

TEST(FormatNumber, WritesWholeNumbersWithoutAnExponent) {
  EXPECT_EQ(formatNumber(1.0), "1");
  EXPECT_EQ(formatNumber(-3.0), "-3");
  EXPECT_EQ(formatNumber(100000.0), "100000");
  EXPECT_EQ(formatNumber(1e14), "100000000000000");
  EXPECT_EQ(formatNumber(65535.0f), "65535");
}

TEST(FormatNumber, WritesOtherNumbersShortest) {
  EXPECT_EQ(formatNumber(0.5), "0.5");
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(1e-8), "1e-08");
  EXPECT_EQ(formatNumber(2.5e20), "2.5e+20");
  EXPECT_EQ(formatNumber(0.1f), "0.1");
  EXPECT_EQ(formatNumber(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(formatNumber(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(FormatNumber, ReadsBackExactly) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> unit(-1, 1);
  for (int i = 0; i < 10000; ++i) {
    const double value = unit(random) * std::pow(10.0, static_cast<int>(random() % 40) - 20);
    const std::string text = formatNumber(value);
    double back = 0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    EXPECT_EQ(back, value) << text;
  }
}

TEST(AppendNumber, AppendsInPlace) {
  std::string text = "metric ";
  appendNumber(text, 0.25);
  EXPECT_EQ(text, "metric 0.25");
}

}  // namespace
}  // namespace aimass
