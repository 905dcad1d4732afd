// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace aimass::core {

/// The most points a curve keeps after downsampling (downsampleCurve()).
inline constexpr std::size_t kMaxCurvePoints = 256;
/// The most (predicted, actual) pairs of a residual sample.
inline constexpr std::size_t kMaxResidualSample = 2000;
/// The bins of a residual histogram.
inline constexpr std::size_t kResidualHistogramBins = 40;

/// One point of a ROC curve: rows whose score is >= threshold are predicted positive. The
/// first point, (0, 0), predicts nothing positive: its threshold is +infinity (null in JSON).
struct RocPoint {
  double fpr = 0;
  double tpr = 0;
  double threshold = 0;
};

/// One point of a precision-recall curve, at the same thresholds as RocPoint. The first point,
/// recall 0 and precision 1 at threshold +infinity, is scikit-learn's end point of the curve.
struct PrPoint {
  double recall = 0;
  double precision = 0;
  double threshold = 0;
};

/// ROC and precision-recall curves of a binary classifier's positive-class score.
///
/// Both have one point per distinct score (from the highest down) after their +infinity start
/// point, then are downsampled to at most kMaxCurvePoints. `roc_auc` (trapezoids) and
/// `average_precision` (scikit-learn's step sum, sum of (R_n - R_{n-1}) P_n) are computed on
/// every point, before downsampling.
struct BinaryCurves {
  std::vector<RocPoint> roc;
  std::vector<PrPoint> pr;
  /// Points of each curve before downsampling: distinct scores + 1.
  std::uint64_t distinct_thresholds = 0;
  double roc_auc = 0;
  double average_precision = 0;
};

/// The curves of `scores` for rows where positive[i] is true. One sort of the rows, O(n log n)
/// time and O(n) memory. nullopt when either class has no rows (the curves are undefined).
/// `scores` must be finite (ClassificationMetrics checks them).
std::optional<BinaryCurves> binaryCurves(std::span<const float> scores,
                                         const std::vector<bool>& positive,
                                         std::size_t max_points = kMaxCurvePoints);

/// The indices of the points of a curve (x, y) to keep, at most `max_points` (>= 3) of them,
/// by largest-triangle-three-buckets: the first and last points always, and from each of
/// max_points - 2 equal buckets of the points between them the one spanning the largest
/// triangle with the point kept before and the mean of the next bucket. Indices ascend, so
/// a subsequence of a monotone curve stays monotone. All indices when n <= max_points.
std::vector<std::size_t> downsampleCurve(std::span<const double> x, std::span<const double> y,
                                         std::size_t max_points);

/// Residuals (actual - predicted) of a regression, for plots.
struct ResidualReport {
  /// Every `stride`-th value from the first (rows x targets, row-major), at most
  /// kMaxResidualSample of them: stride = ceil(values / kMaxResidualSample).
  std::vector<double> predicted;
  std::vector<double> actual;
  std::uint64_t stride = 1;
  std::uint64_t values = 0;  ///< residuals counted, every value of every row
  /// kResidualHistogramBins equal bins from the smallest residual to the largest; bin i holds
  /// edges[i] <= r < edges[i + 1], the last bin also the largest. When every residual is the
  /// same, one bin whose two edges are equal. Counts sum to `values`.
  std::vector<double> edges;
  std::vector<std::uint64_t> counts;
};

/// The sample and histogram of the pairs (row-major values, of equal lengths and finite).
/// nullopt when there are none.
std::optional<ResidualReport> residualReport(std::span<const float> predicted,
                                             std::span<const float> actual);

}  // namespace aimass::core
