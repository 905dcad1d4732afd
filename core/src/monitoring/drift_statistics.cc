// SPDX-License-Identifier: Apache-2.0
#include "monitoring/drift_statistics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

namespace aimass::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Series and continued fractions stop when a term changes the sum by less than this.
constexpr double kRelativeTolerance = 1e-15;
constexpr int kMaxIterations = 100000;
// Lentz's method replaces a zero denominator by this.
constexpr double kTiny = 1e-300;
// Cochran's rule: chi-squared is trusted for bins expecting at least this many.
constexpr double kMinExpectedCount = 5;

double seriesLowerGamma(double a, double x) {
  double term = 1.0 / a;
  double sum = term;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kRelativeTolerance) {
      break;
    }
  }
  return sum * std::exp(-x + a * std::log(x) - logGamma(a));
}

double continuedFractionUpperGamma(double a, double x) {
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kRelativeTolerance) {
      break;
    }
  }
  return std::exp(-x + a * std::log(x) - logGamma(a)) * h;
}

/// Linear interpolation of the percentiles' CDF at x, in the segment starting at `i` (the last
/// percentile below or at x; -1 for none).
double cdfInSegment(const std::vector<double>& p, std::ptrdiff_t i, double x) {
  const auto last = static_cast<std::ptrdiff_t>(p.size()) - 1;
  if (i < 0) return 0.0;
  if (i >= last) return 1.0;
  const auto at = static_cast<std::size_t>(i);
  const double step = 1.0 / static_cast<double>(last);
  return step * (static_cast<double>(i) + (x - p[at]) / (p[at + 1] - p[at]));
}

/// The reference quantile function at u in [0, 1]: linear between percentiles.
double referenceQuantile(const std::vector<double>& p, double u) {
  const double position = u * static_cast<double>(p.size() - 1);
  const auto below = std::min(static_cast<std::size_t>(position), p.size() - 1);
  const std::size_t above = std::min(below + 1, p.size() - 1);
  return p[below] + (position - static_cast<double>(below)) * (p[above] - p[below]);
}

/// integral over an interval of length `length` of |f| for f linear from a to b.
double absoluteArea(double a, double b, double length) {
  if ((a >= 0) == (b >= 0) || a == 0 || b == 0) {
    return length * (std::fabs(a) + std::fabs(b)) / 2;
  }
  return length * (a * a + b * b) / (2 * (std::fabs(a) + std::fabs(b)));
}

double sumOf(std::span<const double> v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

double logGamma(double a) {
  if (a < 0.5) {  // reflection: Gamma(a) Gamma(1 - a) = pi / sin(pi a)
    return std::log(std::numbers::pi / std::sin(std::numbers::pi * a)) - logGamma(1.0 - a);
  }
  static constexpr std::array<double, 9> kLanczos = {
      0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
      771.32342877765313,   -176.61502916214059,   12.507343278686905,
      -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
  const double z = a - 1.0;
  double series = kLanczos[0];
  for (std::size_t i = 1; i < kLanczos.size(); ++i) {
    series += kLanczos[i] / (z + static_cast<double>(i));
  }
  const double t = z + 7.5;
  return 0.5 * std::log(2 * std::numbers::pi) + (z + 0.5) * std::log(t) - t + std::log(series);
}

double regularizedUpperGamma(double a, double x) {
  if (!(a > 0) || !(x >= 0)) return kNaN;
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  if (x < a + 1) {
    return std::clamp(1.0 - seriesLowerGamma(a, x), 0.0, 1.0);
  }
  return std::clamp(continuedFractionUpperGamma(a, x), 0.0, 1.0);
}

double chiSquaredSurvival(double x, double dof) { return regularizedUpperGamma(dof / 2, x / 2); }

double kolmogorovSurvival(double lambda) {
  if (!(lambda > 0)) return 1.0;
  double sum = 0;
  if (lambda < 1.18) {
    const double factor = -std::numbers::pi * std::numbers::pi / (8 * lambda * lambda);
    for (int j = 1; j < 20; ++j) {
      const double odd = 2.0 * j - 1;
      sum += std::exp(factor * odd * odd);
    }
    return std::clamp(1.0 - std::sqrt(2 * std::numbers::pi) / lambda * sum, 0.0, 1.0);
  }
  for (int j = 1; j < 20; ++j) {
    sum += (j % 2 == 1 ? 2.0 : -2.0) * std::exp(-2.0 * j * j * lambda * lambda);
  }
  return std::clamp(sum, 0.0, 1.0);
}

double referenceCdf(const std::vector<double>& percentiles, double x) {
  const auto i = std::upper_bound(percentiles.begin(), percentiles.end(), x) - percentiles.begin();
  return cdfInSegment(percentiles, i - 1, x);
}

double referenceCdfBelow(const std::vector<double>& percentiles, double x) {
  const auto i = std::lower_bound(percentiles.begin(), percentiles.end(), x) - percentiles.begin();
  return cdfInSegment(percentiles, i - 1, x);
}

KsResult kolmogorovSmirnov(std::span<const double> sorted, const std::vector<double>& percentiles,
                           std::uint64_t reference_size) {
  KsResult out;
  const auto n = static_cast<double>(sorted.size());
  if (sorted.empty() || percentiles.size() < 2 || reference_size == 0) {
    return out;
  }
  // Between consecutive window values and percentiles both CDFs are monotone and one is flat,
  // so |difference| is largest at a breakpoint, from one side or the other.
  auto gap = [&](double x) {
    const auto below = std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin();
    const auto upto = std::upper_bound(sorted.begin(), sorted.end(), x) - sorted.begin();
    return std::max(std::fabs(static_cast<double>(below) / n - referenceCdfBelow(percentiles, x)),
                    std::fabs(static_cast<double>(upto) / n - referenceCdf(percentiles, x)));
  };
  // At each distinct window value x = sorted[i], i values lie below it and `upto` up to it;
  // the percentiles below x and those up to it (the segments referenceCdfBelow() and
  // referenceCdf() would find by binary search) only grow with x. So one walk computes what
  // gap(x) would, the same numbers and hence the same D, in linear time.
  double d = 0;
  std::size_t below_x = 0, upto_x = 0;  // percentiles < x, <= x
  for (std::size_t i = 0; i < sorted.size();) {
    const double x = sorted[i];
    std::size_t upto = i + 1;
    while (upto < sorted.size() && sorted[upto] == x) ++upto;
    while (below_x < percentiles.size() && percentiles[below_x] < x) ++below_x;
    while (upto_x < percentiles.size() && percentiles[upto_x] <= x) ++upto_x;
    const double cdf_below = cdfInSegment(percentiles, static_cast<std::ptrdiff_t>(below_x) - 1, x);
    const double cdf_upto = cdfInSegment(percentiles, static_cast<std::ptrdiff_t>(upto_x) - 1, x);
    d = std::max(d, std::max(std::fabs(static_cast<double>(i) / n - cdf_below),
                             std::fabs(static_cast<double>(upto) / n - cdf_upto)));
    i = upto;
  }
  for (double x : percentiles) {
    d = std::max(d, gap(x));
  }
  const auto k = static_cast<double>(reference_size);
  out.statistic = d;
  out.effective_n = n * k / (n + k);
  const double root = std::sqrt(out.effective_n);
  out.p_value = kolmogorovSurvival((root + 0.12 + 0.11 / root) * d);
  return out;
}

double wasserstein1(std::span<const double> sorted, const std::vector<double>& percentiles) {
  if (sorted.empty() || percentiles.size() < 2) {
    return 0;
  }
  const std::size_t n = sorted.size();
  const std::size_t segments = percentiles.size() - 1;
  const auto unit = static_cast<double>(n * segments);
  // Walk the merged breakpoints j / n and i / segments, compared as integers in units of
  // 1 / (n segments): on each piece the window's quantile is flat and the reference's linear.
  std::size_t j = 0, i = 0;
  double from = 0, total = 0;
  while (j < n) {
    const std::size_t window_end = (j + 1) * segments;
    const std::size_t reference_end = (i + 1) * n;
    const std::size_t end = std::min(window_end, reference_end);
    const double to = static_cast<double>(end) / unit;
    const double value = sorted[j];
    total += absoluteArea(referenceQuantile(percentiles, from) - value,
                          referenceQuantile(percentiles, to) - value, to - from);
    from = to;
    if (end == window_end) ++j;
    if (end == reference_end) ++i;
  }
  return total;
}

double decilePsi(std::span<const double> sorted, const std::vector<double>& percentiles) {
  constexpr std::size_t kBins = 10;
  std::array<double, kBins> expected{}, actual{};
  double reference_below = 0;
  std::size_t window_below = 0;
  for (std::size_t b = 0; b < kBins; ++b) {
    double reference_upto = 1.0;
    std::size_t window_upto = sorted.size();
    if (b + 1 < kBins) {
      const double edge = percentiles[(b + 1) * (percentiles.size() - 1) / kBins];
      reference_upto = referenceCdf(percentiles, edge);
      window_upto = static_cast<std::size_t>(std::upper_bound(sorted.begin(), sorted.end(), edge) -
                                             sorted.begin());
    }
    expected[b] = reference_upto - reference_below;
    actual[b] = static_cast<double>(window_upto - window_below);
    reference_below = reference_upto;
    window_below = window_upto;
  }
  return psi(expected, actual);
}

double psi(std::span<const double> expected, std::span<const double> actual) {
  const double e_total = sumOf(expected), a_total = sumOf(actual);
  double out = 0;
  for (std::size_t b = 0; b < expected.size() && b < actual.size(); ++b) {
    const double e = std::max(e_total > 0 ? expected[b] / e_total : 0.0, kPsiEpsilon);
    const double a = std::max(a_total > 0 ? actual[b] / a_total : 0.0, kPsiEpsilon);
    out += (a - e) * std::log(a / e);
  }
  return out;
}

double jensenShannonDistance(std::span<const double> p, std::span<const double> q) {
  const double p_total = sumOf(p), q_total = sumOf(q);
  if (p_total <= 0 || q_total <= 0) {
    return 0;
  }
  double divergence = 0;
  for (std::size_t b = 0; b < p.size() && b < q.size(); ++b) {
    const double pb = p[b] / p_total, qb = q[b] / q_total;
    const double m = (pb + qb) / 2;
    if (pb > 0) divergence += 0.5 * pb * std::log2(pb / m);
    if (qb > 0) divergence += 0.5 * qb * std::log2(qb / m);
  }
  return std::sqrt(std::clamp(divergence, 0.0, 1.0));
}

ChiSquaredResult chiSquaredHomogeneity(std::span<const double> reference,
                                       std::span<const double> window) {
  ChiSquaredResult out;
  const double r_total = sumOf(reference), w_total = sumOf(window);
  const double total = r_total + w_total;
  if (r_total <= 0 || w_total <= 0) {
    return out;
  }
  double statistic = 0, pooled_r = 0, pooled_w = 0;
  std::size_t bins = 0;
  auto add = [&](double r, double w) {
    const double er = r_total * (r + w) / total, ew = w_total * (r + w) / total;
    statistic += (r - er) * (r - er) / er + (w - ew) * (w - ew) / ew;
    ++bins;
  };
  for (std::size_t b = 0; b < reference.size() && b < window.size(); ++b) {
    const double column = reference[b] + window[b];
    if (column <= 0) continue;
    if (std::min(r_total, w_total) * column / total < kMinExpectedCount) {
      pooled_r += reference[b];
      pooled_w += window[b];
    } else {
      add(reference[b], window[b]);
    }
  }
  if (pooled_r + pooled_w > 0) {
    add(pooled_r, pooled_w);
  }
  if (bins < 2) {
    return out;
  }
  out.statistic = statistic;
  out.dof = static_cast<double>(bins - 1);
  out.p_value = chiSquaredSurvival(statistic, out.dof);
  return out;
}

std::vector<double> adjustPValues(std::span<const double> p_values, DriftCorrection correction) {
  const std::size_t m = p_values.size();
  std::vector<double> out(p_values.begin(), p_values.end());
  if (correction == DriftCorrection::kBonferroni) {
    for (double& p : out) p = std::min(1.0, p * static_cast<double>(m));
  } else if (correction == DriftCorrection::kBenjaminiHochberg) {
    std::vector<std::size_t> order(m);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
    double running = 1.0;
    for (std::size_t rank = m; rank-- > 0;) {
      const std::size_t i = order[rank];
      running =
          std::min(running, p_values[i] * static_cast<double>(m) / static_cast<double>(rank + 1));
      out[i] = running;
    }
  }
  return out;
}

}  // namespace aimass::core
