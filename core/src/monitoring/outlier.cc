// SPDX-License-Identifier: Apache-2.0
#include "monitoring/outlier.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "aimass/util/cholesky.h"
#include "data_profile.h"

namespace aimass::core {
namespace {

/// z of one value: NaN (missing) counts as the mean.
double standardised(float value, double mean, double inverse_stddev) {
  return std::isnan(value) ? 0.0 : (static_cast<double>(value) - mean) * inverse_stddev;
}

std::vector<double> inverseStddevs(std::span<const double> stddevs) {
  std::vector<double> out(stddevs.size());
  for (std::size_t i = 0; i < stddevs.size(); ++i) {
    out[i] = stddevs[i] > 0 ? 1.0 / stddevs[i] : 0.0;
  }
  return out;
}

/// The lower triangle (row by row) of the Ledoit-Wolf shrunk covariance of the standardised
/// `rows` (n x p, the mean already 0 by standardisation): C = (1 - lambda) S + lambda mu I with
/// S = sum z z' / n, mu = tr(S) / p, lambda = min(1, b^2 / d^2), d^2 = |S - mu I|^2 / p and
/// b^2 = sum_k |z_k z_k' - S|^2 / (n^2 p) (Ledoit and Wolf 2004, Frobenius norms).
std::vector<float> shrunkCovariance(const std::vector<double>& z, std::size_t n, std::size_t p,
                                    double& lambda) {
  std::vector<double> s(p * p, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    const double* row = &z[k * p];
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j <= i; ++j) {
        s[i * p + j] += row[i] * row[j];
      }
    }
  }
  double trace = 0;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      s[i * p + j] /= static_cast<double>(n);
      s[j * p + i] = s[i * p + j];
    }
    trace += s[i * p + i];
  }
  const double mu = trace / static_cast<double>(p);
  double s_norm = 0, d2 = 0;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = 0; j < p; ++j) {
      const double v = s[i * p + j];
      s_norm += v * v;
      const double off = v - (i == j ? mu : 0.0);
      d2 += off * off;
    }
  }
  double b2 = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double* row = &z[k * p];
    double norm2 = 0, quadratic = 0;
    for (std::size_t i = 0; i < p; ++i) {
      norm2 += row[i] * row[i];
      double si = 0;
      for (std::size_t j = 0; j < p; ++j) {
        si += s[i * p + j] * row[j];
      }
      quadratic += row[i] * si;
    }
    b2 += norm2 * norm2 - 2 * quadratic + s_norm;
  }
  b2 /= static_cast<double>(n) * static_cast<double>(n);
  lambda = d2 > 0 ? std::clamp(b2 / d2, kOutlierMinShrinkage, 1.0) : 1.0;
  // A constant feature (S_ii = 0) still gets lambda mu > 0 on its diagonal; an all-constant
  // sample (mu = 0) gets the identity.
  const double target = mu > 0 ? mu : 1.0;
  std::vector<float> lower;
  lower.reserve(p * (p + 1) / 2);
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      const double shrunk = (1 - lambda) * s[i * p + j] + (i == j ? lambda * target : 0.0);
      lower.push_back(static_cast<float>(shrunk));
    }
  }
  return lower;
}

/// The kOutlierThresholdQuantile of `scores` (sorted in place), interpolated between order
/// statistics.
double thresholdOf(std::vector<double>& scores) {
  std::sort(scores.begin(), scores.end());
  const double position = kOutlierThresholdQuantile * static_cast<double>(scores.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, scores.size() - 1);
  return scores[below] + (position - static_cast<double>(below)) * (scores[above] - scores[below]);
}

}  // namespace

Expected<OutlierScorer> OutlierScorer::make(const OutlierModel& model,
                                            std::span<const double> means,
                                            std::span<const double> stddevs) {
  const std::size_t p = model.features;
  if (means.size() != p || stddevs.size() != p) {
    return invalidArgument("the outlier scorer standardises " + std::to_string(p) +
                           " features, but " + std::to_string(means.size()) +
                           " means and standard deviations were given");
  }
  OutlierScorer scorer;
  scorer.means_.assign(means.begin(), means.end());
  scorer.inverse_stddevs_ = inverseStddevs(stddevs);
  scorer.threshold_ = model.threshold;
  if (model.kind == OutlierModel::Kind::kDiagonal) {
    return scorer;
  }
  if (p > kOutlierFullCovarianceMaxFeatures || model.covariance.size() != p * (p + 1) / 2) {
    return invalidArgument("a full outlier covariance of " + std::to_string(p) +
                           " features needs " + std::to_string(p * (p + 1) / 2) +
                           " values (at most " + std::to_string(kOutlierFullCovarianceMaxFeatures) +
                           " features), not " + std::to_string(model.covariance.size()));
  }
  scorer.factor_.assign(p * p, 0.0);
  std::size_t at = 0;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      scorer.factor_[i * p + j] = scorer.factor_[j * p + i] = model.covariance[at++];
    }
  }
  const std::size_t failed = cholesky(scorer.factor_, p);
  if (failed != p) {
    return invalidArgument("the outlier covariance is not positive definite (pivot " +
                           std::to_string(failed) + ")");
  }
  return scorer;
}

Expected<OutlierScorer> OutlierScorer::make(const DataProfile& profile) {
  if (!profile.outlier) {
    return failedPrecondition(
        profile.format < 2
            ? "the training-data profile has no outlier scorer: it was made before outlier "
              "scores were kept; retrain the model to get one"
            : "the training-data profile has no outlier scorer (no number features, or fewer "
              "than " +
                  std::to_string(kOutlierMinRows) + " training rows)");
  }
  std::vector<double> means, stddevs;
  for (const FeatureProfile& f : profile.features) {
    if (f.kind == FeatureProfile::Kind::kNumber) {
      means.push_back(f.mean);
      stddevs.push_back(f.stddev);
    }
  }
  return make(*profile.outlier, means, stddevs);
}

double OutlierScorer::score(std::span<const float> row) const {
  const std::size_t p = means_.size();
  for (std::size_t i = 0; i < p; ++i) {
    if (std::isinf(row[i])) {
      return std::numeric_limits<double>::infinity();
    }
  }
  double sum = 0;
  if (factor_.empty()) {
    for (std::size_t i = 0; i < p; ++i) {
      const double z = standardised(row[i], means_[i], inverse_stddevs_[i]);
      sum += z * z;
    }
    return std::sqrt(sum);
  }
  // z' C^-1 z = |y|^2 for L y = z (C = L L'): one forward substitution, on the stack.
  std::array<double, kOutlierFullCovarianceMaxFeatures> y;
  for (std::size_t i = 0; i < p; ++i) {
    double v = standardised(row[i], means_[i], inverse_stddevs_[i]);
    for (std::size_t k = 0; k < i; ++k) {
      v -= factor_[i * p + k] * y[k];
    }
    y[i] = v / factor_[i * p + i];
    sum += y[i] * y[i];
  }
  return std::sqrt(sum);
}

std::optional<OutlierModel> fitOutlierModel(std::span<const float> rows, std::size_t width,
                                            std::span<const double> means,
                                            std::span<const double> stddevs) {
  const std::size_t n = width == 0 ? 0 : rows.size() / width;
  if (width == 0 || n < kOutlierMinRows) {
    return std::nullopt;
  }
  OutlierModel model;
  model.features = width;
  const bool full = width <= kOutlierFullCovarianceMaxFeatures;
  if (full) {
    model.kind = OutlierModel::Kind::kFull;
    const std::vector<double> inverse = inverseStddevs(stddevs);
    const std::size_t fit = (n + 1) / 2;  // rows 0, 2, 4, ...
    std::vector<double> z(fit * width);
    for (std::size_t k = 0; k < fit; ++k) {
      for (std::size_t i = 0; i < width; ++i) {
        z[k * width + i] = standardised(rows[2 * k * width + i], means[i], inverse[i]);
      }
    }
    model.covariance = shrunkCovariance(z, fit, width, model.shrinkage);
    model.fit_rows = fit;
  }
  auto scorer = OutlierScorer::make(model, means, stddevs);
  if (!scorer.ok()) {
    return std::nullopt;  // not expected: lambda mu > 0 on the diagonal keeps C definite
  }
  std::vector<double> scores;
  for (std::size_t k = full ? 1 : 0; k < n; k += full ? 2 : 1) {
    scores.push_back(scorer->score(rows.subspan(k * width, width)));
  }
  model.calibration_rows = scores.size();
  model.threshold = thresholdOf(scores);
  return model;
}

}  // namespace aimass::core
