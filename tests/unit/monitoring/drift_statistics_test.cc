// SPDX-License-Identifier: Apache-2.0
// The statistics of the drift tests checked against values that can be justified: table values
// and closed forms of the chi-squared and Kolmogorov distributions, a textbook contingency
// table, hand-computed PSI and Jensen-Shannon distances, the reference CDF at its knots and
// jumps, exact Wasserstein distances, and the two multiple-testing adjustments.
#include "monitoring/drift_statistics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

namespace aimass::core {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;

/// Percentiles 0, 1, ..., 100 of the uniform distribution on [0, 100].
std::vector<double> uniformPercentiles() {
  std::vector<double> p(101);
  std::iota(p.begin(), p.end(), 0.0);
  return p;
}

TEST(DriftStatisticsTest, LogGammaAndTheIncompleteGammaMatchClosedForms) {
  EXPECT_NEAR(logGamma(1), 0, 1e-13);
  EXPECT_NEAR(logGamma(0.5), 0.5 * std::log(std::numbers::pi), 1e-13);
  EXPECT_NEAR(logGamma(10), std::log(362880.0), 1e-12);
  EXPECT_NEAR(logGamma(0.25), std::lgamma(0.25), 1e-12);  // the reflection branch
  EXPECT_NEAR(logGamma(500.5), std::lgamma(500.5), 1e-9);
  for (double x : {0.1, 0.9, 1.5, 4.0, 30.0}) {
    // Q(1, x) = e^-x and Q(1/2, x) = erfc(sqrt(x)); x < a + 1 takes the series, beyond the
    // continued fraction.
    EXPECT_NEAR(regularizedUpperGamma(1, x), std::exp(-x), 1e-13) << x;
    EXPECT_NEAR(regularizedUpperGamma(0.5, x), std::erfc(std::sqrt(x)), 1e-13) << x;
  }
  EXPECT_EQ(regularizedUpperGamma(3, 0), 1.0);
  EXPECT_TRUE(std::isnan(regularizedUpperGamma(0, 1)));
  EXPECT_TRUE(std::isnan(regularizedUpperGamma(1, -1)));
}

TEST(DriftStatisticsTest, ChiSquaredSurvivalMatchesTheTables) {
  // Upper critical values of the chi-squared distribution (NIST/SEMATECH e-Handbook 1.3.6.7.4).
  EXPECT_NEAR(chiSquaredSurvival(3.841, 1), 0.05, 1e-4);
  EXPECT_NEAR(chiSquaredSurvival(6.635, 1), 0.01, 1e-4);
  EXPECT_NEAR(chiSquaredSurvival(18.307, 10), 0.05, 1e-4);
  EXPECT_NEAR(chiSquaredSurvival(37.566, 20), 0.01, 1e-4);
  EXPECT_NEAR(chiSquaredSurvival(124.342, 100), 0.05, 1e-4);
  // Two degrees of freedom: exactly e^(-x/2).
  for (double x : {0.5, 2.0, 9.0, 40.0}) {
    EXPECT_NEAR(chiSquaredSurvival(x, 2), std::exp(-x / 2), 1e-14) << x;
  }
  EXPECT_NEAR(chiSquaredSurvival(999, 999), 0.4941, 1e-3);  // about 1/2 at the mean
}

TEST(DriftStatisticsTest, KolmogorovSurvivalMatchesTheTableAndIsContinuous) {
  // Asymptotic critical values of sqrt(n) D: 1.224 (10%), 1.358 (5%), 1.628 (1%).
  EXPECT_NEAR(kolmogorovSurvival(1.224), 0.10, 5e-4);
  EXPECT_NEAR(kolmogorovSurvival(1.358), 0.05, 5e-4);
  EXPECT_NEAR(kolmogorovSurvival(1.628), 0.01, 5e-4);
  EXPECT_NEAR(kolmogorovSurvival(0.5), 1 - 0.036055, 1e-5);
  // The two series agree where one hands over to the other.
  EXPECT_NEAR(kolmogorovSurvival(1.18 - 1e-9), kolmogorovSurvival(1.18), 1e-8);
  EXPECT_EQ(kolmogorovSurvival(0), 1.0);
  EXPECT_LT(kolmogorovSurvival(4), 1e-12);
}

TEST(DriftStatisticsTest, TheReferenceCdfInterpolatesAndJumpsAtTiedPercentiles) {
  const auto uniform = uniformPercentiles();
  EXPECT_EQ(referenceCdf(uniform, -1), 0.0);
  EXPECT_NEAR(referenceCdf(uniform, 37.5), 0.375, 1e-15);
  EXPECT_EQ(referenceCdf(uniform, 100), 1.0);
  // 40% of the rows hold 0, the others are spread on (0, 60]: percentiles 0..40 are 0.
  std::vector<double> atom(101);
  for (std::size_t i = 0; i < atom.size(); ++i) atom[i] = i <= 40 ? 0.0 : double(i) - 40;
  EXPECT_EQ(referenceCdfBelow(atom, 0), 0.0);
  EXPECT_NEAR(referenceCdf(atom, 0), 0.40, 1e-15);
  EXPECT_NEAR(referenceCdf(atom, 30), 0.70, 1e-15);
}

TEST(DriftStatisticsTest, KolmogorovSmirnovOfTheReferenceItselfIsNearOne) {
  const auto uniform = uniformPercentiles();
  std::vector<double> window(1000);
  for (std::size_t i = 0; i < window.size(); ++i) window[i] = (double(i) + 0.5) / 10;
  const KsResult same = kolmogorovSmirnov(window, uniform, 2048);
  EXPECT_LE(same.statistic, 0.0005 + 1e-12);
  EXPECT_NEAR(same.effective_n, 1000.0 * 2048 / 3048, 1e-9);
  EXPECT_GT(same.p_value, 0.999);
  // Every value above the reference's maximum: D = 1, p about 0.
  const std::vector<double> beyond(50, 200.0);
  const KsResult far = kolmogorovSmirnov(beyond, uniform, 2048);
  EXPECT_EQ(far.statistic, 1.0);
  EXPECT_LT(far.p_value, 1e-12);
  // Half the window at 0, half at 100: at 0 the window's CDF is 1/2, the reference's 0.
  std::vector<double> ends(100, 0.0);
  std::fill(ends.begin() + 50, ends.end(), 100.0);
  EXPECT_NEAR(kolmogorovSmirnov(ends, uniform, 2048).statistic, 0.5, 1e-12);
}

TEST(DriftStatisticsTest, WassersteinIsTheAreaBetweenQuantileFunctions) {
  const auto uniform = uniformPercentiles();
  // A window of the point 50: integral of |100 u - 50| du = 25.
  const std::vector<double> middle(7, 50.0);
  EXPECT_NEAR(wasserstein1(middle, uniform), 25.0, 1e-9);
  // Steps at the midpoints of 100 u, shifted by 10: the steps' errors cancel, W = 10.
  std::vector<double> shifted(1000);
  for (std::size_t i = 0; i < shifted.size(); ++i) shifted[i] = (double(i) + 0.5) / 10 + 10;
  EXPECT_NEAR(wasserstein1(shifted, uniform), 10.0, 1e-9);
  // Unshifted, only the steps differ: 1000 steps, each two triangles of base 0.0005 and
  // height 0.05, 1000 * 2 * (0.0005 * 0.05 / 2) = 0.025.
  for (double& v : shifted) v -= 10;
  EXPECT_NEAR(wasserstein1(shifted, uniform), 0.025, 1e-9);
}

TEST(DriftStatisticsTest, PsiAndJensenShannonOfHandComputedCases) {
  const std::vector<double> half = {50, 50}, tilted = {60, 40}, only_first = {10, 0};
  EXPECT_NEAR(psi(half, tilted), 0.1 * std::log(1.2) - 0.1 * std::log(0.8), 1e-14);
  EXPECT_NEAR(psi(half, half), 0.0, 1e-15);
  // An empty bin counts as kPsiEpsilon: (1 - 0.5) ln(1 / 0.5) + (1e-4 - 0.5) ln(1e-4 / 0.5).
  EXPECT_NEAR(psi(half, only_first),
              0.5 * std::log(2.0) + (kPsiEpsilon - 0.5) * std::log(kPsiEpsilon / 0.5), 1e-12);
  // JS(p, q) for p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4).
  const double divergence =
      0.5 * (0.5 * std::log2(0.5 / 0.75) + 0.5 * std::log2(0.5 / 0.25)) + 0.5 * std::log2(1 / 0.75);
  EXPECT_NEAR(jensenShannonDistance(half, only_first), std::sqrt(divergence), 1e-14);
  EXPECT_NEAR(jensenShannonDistance(half, half), 0.0, 1e-15);
  EXPECT_NEAR(jensenShannonDistance(std::vector<double>{5, 0}, std::vector<double>{0, 5}), 1.0,
              1e-15);
}

TEST(DriftStatisticsTest, DecilePsiIsZeroForTheReferenceAndCountsTheDeciles) {
  const auto uniform = uniformPercentiles();
  std::vector<double> window(1000);
  for (std::size_t i = 0; i < window.size(); ++i) window[i] = (double(i) + 0.5) / 10;
  EXPECT_NEAR(decilePsi(window, uniform), 0.0, 1e-12);
  // All in the lowest decile: that bin has share 1 against 0.1, the nine others kPsiEpsilon.
  const std::vector<double> low(100, 1.0);
  const double expected =
      (1 - 0.1) * std::log(1 / 0.1) + 9 * (kPsiEpsilon - 0.1) * std::log(kPsiEpsilon / 0.1);
  EXPECT_NEAR(decilePsi(low, uniform), expected, 1e-12);
}

TEST(DriftStatisticsTest, ChiSquaredHomogeneityOfATextbookTable) {
  // Reference (30, 20, 50) against window (20, 30, 50): every expected count is 25, 25, 50,
  // so chi2 = 2 (25/25 + 25/25) = 4 on 2 degrees of freedom, p = e^-2.
  const ChiSquaredResult r =
      chiSquaredHomogeneity(std::vector<double>{30, 20, 50}, std::vector<double>{20, 30, 50});
  EXPECT_NEAR(r.statistic, 4.0, 1e-12);
  EXPECT_EQ(r.dof, 2.0);
  EXPECT_NEAR(r.p_value, std::exp(-2.0), 1e-12);
  // Bins expecting under 5 are pooled: (3, 1) and (2, 2) become one bin of (5, 3).
  const ChiSquaredResult pooled =
      chiSquaredHomogeneity(std::vector<double>{100, 3, 2}, std::vector<double>{100, 1, 2});
  EXPECT_EQ(pooled.dof, 1.0);
  const ChiSquaredResult hand =
      chiSquaredHomogeneity(std::vector<double>{100, 5}, std::vector<double>{100, 3});
  EXPECT_NEAR(pooled.statistic, hand.statistic, 1e-12);
  // One category only: nothing to test.
  EXPECT_EQ(chiSquaredHomogeneity(std::vector<double>{10, 0}, std::vector<double>{7, 0}).p_value,
            1.0);
}

TEST(DriftStatisticsTest, BenjaminiHochbergAndBonferroniAdjustments) {
  const std::vector<double> p = {0.01, 0.04, 0.03, 0.005};
  // Sorted 0.005, 0.01, 0.03, 0.04 -> 4p/rank 0.02, 0.02, 0.04, 0.04, then the running minimum
  // from the largest.
  EXPECT_THAT(adjustPValues(p, DriftCorrection::kBenjaminiHochberg),
              ElementsAre(DoubleNear(0.02, 1e-15), DoubleNear(0.04, 1e-15), DoubleNear(0.04, 1e-15),
                          DoubleNear(0.02, 1e-15)));
  EXPECT_THAT(adjustPValues(p, DriftCorrection::kBonferroni),
              ElementsAre(DoubleNear(0.04, 1e-15), DoubleNear(0.16, 1e-15), DoubleNear(0.12, 1e-15),
                          DoubleNear(0.02, 1e-15)));
  EXPECT_THAT(adjustPValues(p, DriftCorrection::kNone), ElementsAre(0.01, 0.04, 0.03, 0.005));
  EXPECT_THAT(adjustPValues(std::vector<double>{0.5, 0.9}, DriftCorrection::kBonferroni),
              ElementsAre(1.0, 1.0));
  EXPECT_TRUE(adjustPValues({}, DriftCorrection::kBenjaminiHochberg).empty());
}

}  // namespace
}  // namespace aimass::core
