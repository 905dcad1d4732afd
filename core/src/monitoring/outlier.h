// SPDX-License-Identifier: Apache-2.0
#pragma once

// Per-row outlier scores: the Mahalanobis distance of a row's standardised number features
// from the training rows, with a threshold learnt from them. Fitted by DataProfileBuilder
// (data_profile.h) on a bounded sample of training rows and saved in the profile (format 2),
// so serving loads it with the profile.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

struct DataProfile;

/// Up to this many number features the scorer keeps their full covariance (with shrinkage);
/// wider data gets a diagonal one (each feature's own variance, correlations ignored), which
/// keeps the profile small (the full matrix is p(p+1)/2 numbers) and a score O(p), not O(p^2).
inline constexpr std::size_t kOutlierFullCovarianceMaxFeatures = 256;
/// The share of training rows whose score stays at or under the threshold.
inline constexpr double kOutlierThresholdQuantile = 0.995;
/// Most training rows sampled for the scorer (half fit the covariance, half set the threshold).
inline constexpr std::size_t kOutlierRowSample = 4096;
/// Fewer sampled rows than this give no scorer: a 99.5th percentile of so few scores is noise.
inline constexpr std::size_t kOutlierMinRows = 100;
/// The least weight of the identity in the shrunk covariance, so it stays well conditioned.
inline constexpr double kOutlierMinShrinkage = 0.01;

/// A fitted scorer as the profile stores it. Features are standardised with the profile's
/// exact mean and standard deviation (z = (x - mean) / stddev; 0 for a constant feature and
/// for a missing value). The score is sqrt(z' C^-1 z): C the shrunk covariance of z for
/// kFull, the identity for kDiagonal (then the score is the root of the sum of z^2).
struct OutlierModel {
  enum class Kind { kFull, kDiagonal };
  Kind kind = Kind::kDiagonal;
  std::size_t features = 0;  ///< the profile's number features, in order
  double threshold = 0;      ///< a row scoring above it is an outlier
  /// kFull: the Ledoit-Wolf weight lambda of C = (1 - lambda) S + lambda mu I (S the sample
  /// covariance of z, mu its mean variance), at least kOutlierMinShrinkage; 0 for kDiagonal.
  double shrinkage = 0;
  std::uint64_t fit_rows = 0;          ///< rows C was estimated from (0 for kDiagonal)
  std::uint64_t calibration_rows = 0;  ///< rows the threshold came from
  /// kFull: C's lower triangle row by row (features (features + 1) / 2 values), rounded to FP32
  /// as the profile stores it; empty for kDiagonal.
  std::vector<float> covariance;
};

/// Scores rows of number features against an OutlierModel. Immutable once made; score() is
/// safe from many threads and allocates nothing.
class OutlierScorer {
 public:
  /// The scorer of `model` with each feature's mean and standard deviation; kInvalidArgument
  /// when the sizes disagree or the covariance is not positive definite.
  static Expected<OutlierScorer> make(const OutlierModel& model, std::span<const double> means,
                                      std::span<const double> stddevs);
  /// The scorer saved in `profile`; kFailedPrecondition naming why there is none (a profile of
  /// format 1, no number features, too few rows).
  static Expected<OutlierScorer> make(const DataProfile& profile);

  /// The score of one row (as many values as features, FP32 as requests carry them): NaN
  /// counts as the mean; an infinite value scores +inf.
  double score(std::span<const float> row) const;
  bool isOutlier(double score) const { return score > threshold_; }
  double threshold() const { return threshold_; }
  std::size_t features() const { return means_.size(); }

 private:
  OutlierScorer() = default;
  std::vector<double> means_;
  std::vector<double> inverse_stddevs_;  // 0 for a constant feature
  std::vector<double> factor_;           // kFull: the lower Cholesky factor of C, p x p
  double threshold_ = 0;
};

/// Fits a scorer on `rows` (row-major, `width` values a row, NaN where missing: a uniform
/// sample of the training rows), standardised with `means` and `stddevs`. Rows at even
/// positions estimate the covariance and the others set the threshold (the 99.5th percentile
/// of their scores), so the threshold is not biased low by scoring the rows it was fitted on;
/// kDiagonal sets it on every row. nullopt with no features or fewer than kOutlierMinRows rows.
std::optional<OutlierModel> fitOutlierModel(std::span<const float> rows, std::size_t width,
                                            std::span<const double> means,
                                            std::span<const double> stddevs);

}  // namespace aimass::core
