// SPDX-License-Identifier: Apache-2.0
#pragma once

// The statistics drift_tests.h compares a window of observed values with a training-data
// profile by: two-sample Kolmogorov-Smirnov, Wasserstein-1 and PSI for numbers (against the
// reference distribution the profile's 101 percentiles describe), chi-squared, Jensen-Shannon
// and PSI for categories (against the profile's category counts), the special functions their
// p-values need, and multiple-testing adjustment. Pure functions: thread-safe, no allocation
// unless a result is a vector.

#include <cstdint>
#include <span>
#include <vector>

namespace aimass::core {

/// Shares under this count as it in PSI, so an empty bin gives a large but finite term:
/// (a - e) ln(a / e) with a, e = max(share, kPsiEpsilon). 1e-4 is the customary choice; a bin
/// empty on one side and holding 10% on the other adds (0.1 - 1e-4) ln(1000) = 0.69.
inline constexpr double kPsiEpsilon = 1e-4;

/// ln Gamma(a) for a > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). Unlike
/// std::lgamma it writes no global (signgam), so it is safe from many threads.
double logGamma(double a);
/// The regularised upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a), a > 0,
/// x >= 0: by its power series (for P = 1 - Q) when x < a + 1, else by its continued fraction
/// evaluated with the modified Lentz method (Numerical Recipes, 6.2). NaN outside the domain.
double regularizedUpperGamma(double a, double x);
/// P(X > x) for X chi-squared with `dof` degrees of freedom: Q(dof / 2, x / 2).
double chiSquaredSurvival(double x, double dof);
/// P(K > lambda) for K of Kolmogorov's distribution (the limit of sqrt(n) D_n): the series
/// 2 sum (-1)^(j-1) exp(-2 j^2 lambda^2) for lambda >= 1.18, else 1 minus the Jacobi theta
/// form sqrt(2 pi) / lambda sum exp(-(2j-1)^2 pi^2 / (8 lambda^2)), each converging fast there.
double kolmogorovSurvival(double lambda);

/// The reference CDF a profile's percentiles describe (`percentiles` increasing, the 0%, 1%,
/// ..., 100% ones): linear between consecutive percentiles, 0 below the first and 1 from the
/// last. Equal percentiles (a value held by many rows) make it jump there; referenceCdf() is
/// right-continuous, referenceCdfBelow() its left limit.
double referenceCdf(const std::vector<double>& percentiles, double x);
double referenceCdfBelow(const std::vector<double>& percentiles, double x);

struct KsResult {
  double statistic = 0;    ///< D = sup |F_window - F_reference|
  double effective_n = 0;  ///< n k / (n + k)
  double p_value = 1;      ///< Q_KS((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) D) (Stephens' correction)
};
/// Two-sample Kolmogorov-Smirnov of the sorted window `sorted` (n values) against the
/// reference CDF, the reference counting as a sample of `reference_size` (k) values. D is the
/// exact supremum (checked at every window value and every percentile, both one-sided limits).
KsResult kolmogorovSmirnov(std::span<const double> sorted, const std::vector<double>& percentiles,
                           std::uint64_t reference_size);
/// The Wasserstein-1 distance integral_0^1 |Q_window(u) - Q_reference(u)| du between the
/// sorted window's quantile function (a step function) and the reference's (linear between
/// percentiles), integrated exactly over the merged breakpoints.
double wasserstein1(std::span<const double> sorted, const std::vector<double>& percentiles);
/// PSI of the sorted window over 10 bins cut at the reference's deciles (percentiles 10, 20,
/// ..., 90): the reference's share of each bin comes from its CDF (0.1 each unless percentiles
/// tie), the window's from its counts.
double decilePsi(std::span<const double> sorted, const std::vector<double>& percentiles);

/// PSI = sum (a - e) ln(a / e) over bins of `expected` and `actual` counts (each normalised to
/// shares), shares floored at kPsiEpsilon.
double psi(std::span<const double> expected, std::span<const double> actual);
/// The Jensen-Shannon distance (the root of the divergence, base 2: in [0, 1]) between the
/// distributions of two count vectors over the same bins.
double jensenShannonDistance(std::span<const double> p, std::span<const double> q);

struct ChiSquaredResult {
  double statistic = 0;
  double dof = 0;  ///< bins after pooling, minus 1
  double p_value = 1;
};
/// Pearson's chi-squared test of homogeneity of two count vectors over the same bins (a 2 x B
/// contingency table): the reference is a sample too. Bins whose expected count in either row
/// is under 5 (Cochran's rule) are pooled into one; bins empty in both rows are dropped. With
/// fewer than 2 bins left there is nothing to test: statistic 0, p 1.
ChiSquaredResult chiSquaredHomogeneity(std::span<const double> reference,
                                       std::span<const double> window);

/// How p-values of several features tested together are adjusted.
enum class DriftCorrection {
  kBenjaminiHochberg,  ///< controls the false discovery rate (step-up; any dependence-free set)
  kBonferroni,         ///< controls the family-wise error rate: min(1, m p)
  kNone,
};
/// The adjusted p-values, in the input's order: a feature is significant at alpha when its
/// adjusted p-value is <= alpha. Benjamini-Hochberg's adjusted value of the i-th smallest of m
/// is min over j >= i of min(1, m p_(j) / j).
std::vector<double> adjustPValues(std::span<const double> p_values, DriftCorrection correction);

}  // namespace aimass::core
