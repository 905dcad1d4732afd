// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/evaluation_curves.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace aimass::core {

std::optional<BinaryCurves> binaryCurves(std::span<const float> scores,
                                         const std::vector<bool>& positive,
                                         std::size_t max_points) {
  const std::size_t n = scores.size();
  std::uint64_t positives = 0;
  for (std::size_t i = 0; i < n; ++i) {
    positives += positive[i] ? 1 : 0;
  }
  const std::uint64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) {
    return std::nullopt;
  }
  // The only sort: rows by score, highest first. Each run of equal scores is one threshold,
  // so tied rows move the curve together (a diagonal step), as scikit-learn's curves do.
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return scores[a] > scores[b]; });
  const double p = static_cast<double>(positives);
  const double q = static_cast<double>(negatives);
  const double infinity = std::numeric_limits<double>::infinity();
  std::vector<RocPoint> roc{{0, 0, infinity}};
  std::vector<PrPoint> pr{{0, 1, infinity}};
  BinaryCurves curves;
  std::uint64_t tp = 0;
  std::uint64_t fp = 0;
  for (std::size_t i = 0; i < n;) {
    const float threshold = scores[order[i]];
    for (; i < n && scores[order[i]] == threshold; ++i) {
      (positive[order[i]] ? tp : fp) += 1;
    }
    const RocPoint point{static_cast<double>(fp) / q, static_cast<double>(tp) / p, threshold};
    curves.roc_auc += (point.fpr - roc.back().fpr) * (point.tpr + roc.back().tpr) / 2;
    const double precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
    curves.average_precision += (point.tpr - pr.back().recall) * precision;
    roc.push_back(point);
    pr.push_back({point.tpr, precision, point.threshold});
  }
  curves.distinct_thresholds = roc.size();
  // Each curve keeps the points that draw its own shape; both keep their ends.
  std::vector<double> x(roc.size());
  std::vector<double> y(roc.size());
  auto keep = [&](auto& points, auto xOf, auto yOf) {
    for (std::size_t k = 0; k < points.size(); ++k) {
      x[k] = xOf(points[k]);
      y[k] = yOf(points[k]);
    }
    auto kept = downsampleCurve(x, y, max_points);
    std::remove_reference_t<decltype(points)> out;
    out.reserve(kept.size());
    for (std::size_t k : kept) {
      out.push_back(points[k]);
    }
    return out;
  };
  curves.roc = keep(
      roc, [](const RocPoint& r) { return r.fpr; }, [](const RocPoint& r) { return r.tpr; });
  curves.pr = keep(
      pr, [](const PrPoint& r) { return r.recall; }, [](const PrPoint& r) { return r.precision; });
  return curves;
}

std::vector<std::size_t> downsampleCurve(std::span<const double> x, std::span<const double> y,
                                         std::size_t max_points) {
  const std::size_t n = x.size();
  std::vector<std::size_t> kept;
  if (n <= max_points || max_points < 3) {
    kept.resize(n);
    std::iota(kept.begin(), kept.end(), std::size_t{0});
    return kept;
  }
  kept.reserve(max_points);
  kept.push_back(0);
  // Points 1..n-2 fall into max_points - 2 buckets of (nearly) equal size.
  const std::size_t buckets = max_points - 2;
  const std::size_t inner = n - 2;
  auto bucketStart = [&](std::size_t b) { return 1 + b * inner / buckets; };
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = bucketStart(b);
    const std::size_t end = bucketStart(b + 1);
    // The next bucket's mean (for the last bucket: the last point).
    double next_x = x[n - 1];
    double next_y = y[n - 1];
    if (b + 1 < buckets) {
      const std::size_t next_end = bucketStart(b + 2);
      next_x = 0;
      next_y = 0;
      for (std::size_t k = end; k < next_end; ++k) {
        next_x += x[k];
        next_y += y[k];
      }
      next_x /= static_cast<double>(next_end - end);
      next_y /= static_cast<double>(next_end - end);
    }
    const double ax = x[kept.back()];
    const double ay = y[kept.back()];
    std::size_t best = begin;
    double best_area = -1;
    for (std::size_t k = begin; k < end; ++k) {
      const double area = std::fabs((ax - next_x) * (y[k] - ay) - (ax - x[k]) * (next_y - ay));
      if (area > best_area) {
        best_area = area;
        best = k;
      }
    }
    kept.push_back(best);
  }
  kept.push_back(n - 1);
  return kept;
}

std::optional<ResidualReport> residualReport(std::span<const float> predicted,
                                             std::span<const float> actual) {
  const std::size_t n = std::min(predicted.size(), actual.size());
  if (n == 0) {
    return std::nullopt;
  }
  ResidualReport r;
  r.values = n;
  r.stride = (n + kMaxResidualSample - 1) / kMaxResidualSample;
  for (std::size_t i = 0; i < n; i += r.stride) {
    r.predicted.push_back(predicted[i]);
    r.actual.push_back(actual[i]);
  }
  auto residual = [&](std::size_t i) {
    return static_cast<double>(actual[i]) - static_cast<double>(predicted[i]);
  };
  double low = residual(0);
  double high = low;
  for (std::size_t i = 1; i < n; ++i) {
    low = std::min(low, residual(i));
    high = std::max(high, residual(i));
  }
  if (!(high > low)) {
    r.edges = {low, high};
    r.counts = {n};
    return r;
  }
  const std::size_t bins = kResidualHistogramBins;
  const double width = (high - low) / static_cast<double>(bins);
  for (std::size_t b = 0; b <= bins; ++b) {
    r.edges.push_back(b == bins ? high : low + width * static_cast<double>(b));
  }
  r.counts.assign(bins, 0);
  for (std::size_t i = 0; i < n; ++i) {
    auto bin = static_cast<std::size_t>((residual(i) - low) / width);
    ++r.counts[std::min(bin, bins - 1)];
  }
  return r;
}

}  // namespace aimass::core
