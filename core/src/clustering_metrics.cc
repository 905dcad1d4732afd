// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/clustering_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <unordered_set>

namespace aimass::core {
namespace {

/// numpy.allclose(x, 0)'s tolerance, which scikit-learn's Davies-Bouldin uses.
constexpr double kAllCloseTolerance = 1e-8;

/// A uniform integer in [0, bound] from the generator's bits, without modulo bias (rejection),
/// so the choice depends only on mt19937_64's specified sequence, not on a library's
/// distribution.
std::uint64_t uniformUpTo(std::mt19937_64& generator, std::uint64_t bound) {
  if (bound == std::numeric_limits<std::uint64_t>::max()) {
    return generator();
  }
  const std::uint64_t range = bound + 1;
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % range;
  std::uint64_t draw = generator();
  while (draw >= limit) {
    draw = generator();
  }
  return draw % range;
}

double squaredDistance(const float* a, const float* b, std::int64_t features) {
  double sum = 0;
  for (std::int64_t f = 0; f < features; ++f) {
    const double d = static_cast<double>(a[f]) - static_cast<double>(b[f]);
    sum += d * d;
  }
  return sum;
}

double squaredDistance(const float* a, const double* b, std::int64_t features) {
  double sum = 0;
  for (std::int64_t f = 0; f < features; ++f) {
    const double d = static_cast<double>(a[f]) - b[f];
    sum += d * d;
  }
  return sum;
}

/// x log x-style terms of scikit-learn's entropy(): -sum p log p over the non-zero counts;
/// 0 for a single group.
double entropy(const std::vector<std::uint64_t>& counts) {
  double total = 0;
  std::size_t groups = 0;
  for (auto c : counts) {
    total += static_cast<double>(c);
    groups += c > 0 ? 1 : 0;
  }
  if (groups <= 1) {
    return 0;
  }
  double h = 0;
  for (auto c : counts) {
    if (c > 0) {
      const double n = static_cast<double>(c);
      h -= n / total * (std::log(n) - std::log(total));
    }
  }
  return h;
}

struct Marginals {
  std::vector<std::uint64_t> classes;   // row sums
  std::vector<std::uint64_t> clusters;  // column sums
  std::uint64_t total = 0;
};

Marginals marginalsOf(const std::vector<std::vector<std::uint64_t>>& counts) {
  Marginals m;
  m.classes.assign(counts.size(), 0);
  for (std::size_t t = 0; t < counts.size(); ++t) {
    if (m.clusters.size() < counts[t].size()) {
      m.clusters.resize(counts[t].size(), 0);
    }
    for (std::size_t k = 0; k < counts[t].size(); ++k) {
      m.classes[t] += counts[t][k];
      m.clusters[k] += counts[t][k];
      m.total += counts[t][k];
    }
  }
  return m;
}

std::size_t groupsOf(const std::vector<std::uint64_t>& counts) {
  return static_cast<std::size_t>(
      std::count_if(counts.begin(), counts.end(), [](std::uint64_t c) { return c > 0; }));
}

std::string rowText(std::size_t i) { return "row " + std::to_string(i) + ": "; }

}  // namespace

std::vector<std::uint64_t> sampleRows(std::uint64_t total, std::uint64_t sample,
                                      std::uint64_t seed) {
  std::vector<std::uint64_t> rows;
  if (sample == 0 || sample >= total) {
    rows.resize(total);
    for (std::uint64_t r = 0; r < total; ++r) {
      rows[r] = r;
    }
    return rows;
  }
  // Floyd's algorithm: `sample` distinct draws in `sample` steps, whatever `total` is.
  std::mt19937_64 generator(seed);
  std::unordered_set<std::uint64_t> chosen;
  chosen.reserve(sample * 2);
  for (std::uint64_t j = total - sample; j < total; ++j) {
    const std::uint64_t t = uniformUpTo(generator, j);
    chosen.insert(chosen.count(t) ? j : t);
  }
  rows.assign(chosen.begin(), chosen.end());
  std::sort(rows.begin(), rows.end());
  return rows;
}

Expected<std::optional<double>> silhouetteScore(std::span<const float> rows, std::int64_t features,
                                                std::span<const std::int64_t> clusters,
                                                std::size_t table_budget) {
  const std::size_t n = clusters.size();
  if (features <= 0 || rows.size() != n * static_cast<std::size_t>(features)) {
    return invalidArgument(std::to_string(rows.size()) + " feature values do not form " +
                           std::to_string(n) + " rows of " + std::to_string(features) +
                           " features");
  }
  // Dense labels in order of value, as scikit-learn's LabelEncoder.
  std::vector<std::int64_t> distinct(clusters.begin(), clusters.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (!distinct.empty() && distinct.front() < 0) {
    return invalidArgument("cluster " + std::to_string(distinct.front()) + " is negative");
  }
  const std::size_t groups = distinct.size();
  if (groups < 2 || groups + 1 > n) {
    return std::optional<double>();
  }
  std::vector<std::size_t> label(n);
  std::vector<double> count(groups, 0);
  for (std::size_t i = 0; i < n; ++i) {
    label[i] = static_cast<std::size_t>(
        std::lower_bound(distinct.begin(), distinct.end(), clusters[i]) - distinct.begin());
    count[label[i]] += 1;
  }
  // Per row, the sums of its distances to every cluster's rows. When the n x clusters table fits
  // the budget (32 MiB by default), each pair's distance is computed once and added to both rows;
  // otherwise row by row in O(clusters) memory, computing each distance twice.
  const bool symmetric = n * groups <= table_budget;
  std::vector<double> sums(symmetric ? n * groups : groups, 0.0);
  const float* data = rows.data();
  const auto width = static_cast<std::size_t>(features);
  if (symmetric) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        const double d = std::sqrt(squaredDistance(data + i * width, data + j * width, features));
        sums[i * groups + label[j]] += d;
        sums[j * groups + label[i]] += d;
      }
    }
  }
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t own = label[i];
    if (count[own] <= 1) {
      continue;  // a cluster of one scores 0
    }
    const double* own_sums = sums.data() + (symmetric ? i * groups : 0);
    if (!symmetric) {
      std::fill(sums.begin(), sums.end(), 0.0);
      for (std::size_t j = 0; j < n; ++j) {
        if (j != i) {
          sums[label[j]] +=
              std::sqrt(squaredDistance(data + i * width, data + j * width, features));
        }
      }
    }
    const double a = own_sums[own] / (count[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (std::size_t g = 0; g < groups; ++g) {
      if (g != own) {
        b = std::min(b, own_sums[g] / count[g]);
      }
    }
    const double largest = std::max(a, b);
    total += largest > 0 ? (b - a) / largest : 0;  // 0/0 (duplicates) scores 0, as nan_to_num
  }
  return std::optional<double>(total / static_cast<double>(n));
}

double adjustedRandIndex(const std::vector<std::vector<std::uint64_t>>& counts) {
  const Marginals m = marginalsOf(counts);
  // scikit-learn's pair_confusion_matrix, over ordered pairs.
  double sum_squares = 0;
  double class_weighted = 0;    // sum n_tk * n_k (k: cluster sums)
  double cluster_weighted = 0;  // sum n_tk * n_t (t: class sums)
  for (std::size_t t = 0; t < counts.size(); ++t) {
    for (std::size_t k = 0; k < counts[t].size(); ++k) {
      const double v = static_cast<double>(counts[t][k]);
      sum_squares += v * v;
      class_weighted += v * static_cast<double>(m.clusters[k]);
      cluster_weighted += v * static_cast<double>(m.classes[t]);
    }
  }
  const double n = static_cast<double>(m.total);
  const double tp = sum_squares - n;
  const double fp = class_weighted - sum_squares;
  const double fn = cluster_weighted - sum_squares;
  const double tn = n * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) {
    return 1.0;
  }
  return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

double normalizedMutualInformation(const std::vector<std::vector<std::uint64_t>>& counts) {
  const Marginals m = marginalsOf(counts);
  const std::size_t classes = groupsOf(m.classes);
  const std::size_t clusters = groupsOf(m.clusters);
  if ((classes == 1 && clusters == 1) || (classes == 0 && clusters == 0)) {
    return 1.0;
  }
  const double n = static_cast<double>(m.total);
  const double eps = std::numeric_limits<double>::epsilon();
  double mi = 0;
  for (std::size_t t = 0; t < counts.size(); ++t) {
    for (std::size_t k = 0; k < counts[t].size(); ++k) {
      if (counts[t][k] == 0) {
        continue;
      }
      const double v = static_cast<double>(counts[t][k]);
      const double outer = static_cast<double>(m.classes[t]) * static_cast<double>(m.clusters[k]);
      const double term =
          v / n * (std::log(v) - std::log(n)) + v / n * (-std::log(outer) + 2 * std::log(n));
      mi += std::fabs(term) < eps ? 0 : term;  // as scikit-learn drops terms below eps
    }
  }
  mi = std::max(mi, 0.0);
  if (mi == 0) {
    return 0.0;
  }
  return mi / ((entropy(m.classes) + entropy(m.clusters)) / 2);
}

ClusteringMetrics::ClusteringMetrics(std::int64_t features, std::int64_t clusters,
                                     std::int64_t classes)
    : features_(std::max<std::int64_t>(features, 1)),
      clusters_(std::max<std::int64_t>(clusters, 1)),
      counts_(static_cast<std::size_t>(clusters_), 0),
      sums_(static_cast<std::size_t>(clusters_ * features_), 0.0),
      contingency_(static_cast<std::size_t>(std::max<std::int64_t>(classes, 0)),
                   std::vector<std::uint64_t>(static_cast<std::size_t>(clusters_), 0)),
      spread_(static_cast<std::size_t>(clusters_), 0.0) {}

Status ClusteringMetrics::checkBatch(std::span<const float> features,
                                     std::span<const std::int64_t> clusters) const {
  const std::size_t n = clusters.size();
  const auto width = static_cast<std::size_t>(features_);
  if (features.size() != n * width) {
    return invalidArgument(std::to_string(features.size()) + " feature values do not form " +
                           std::to_string(n) + " rows of " + std::to_string(features_) +
                           " features");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (clusters[i] < 0 || clusters[i] >= clusters_) {
      return invalidArgument(rowText(i) + "cluster " + std::to_string(clusters[i]) +
                             " is outside [0, " + std::to_string(clusters_) + ")");
    }
  }
  for (std::size_t k = 0; k < features.size(); ++k) {
    if (!std::isfinite(features[k])) {
      return invalidArgument(rowText(k / width) + "feature " + std::to_string(k % width) +
                             " is not finite");
    }
  }
  return Status();
}

Status ClusteringMetrics::add(std::span<const float> features,
                              std::span<const std::int64_t> clusters,
                              std::span<const float> distances,
                              std::span<const std::int64_t> classes) {
  AIMASS_RETURN_IF_ERROR(checkBatch(features, clusters));
  const std::size_t n = clusters.size();
  const auto k = static_cast<std::size_t>(clusters_);
  const bool with = !distances.empty();
  if (with_distances_ && *with_distances_ != with) {
    return invalidArgument(with ? "distances given for this batch but not for earlier ones"
                                : "distances missing for this batch but given before");
  }
  if (with && distances.size() != n * k) {
    return invalidArgument("distances hold " + std::to_string(distances.size()) +
                           " values, expected " + std::to_string(n) + " rows x " +
                           std::to_string(k) + " clusters");
  }
  for (std::size_t v = 0; v < distances.size(); ++v) {
    if (!std::isfinite(distances[v]) || distances[v] < 0) {
      return invalidArgument(rowText(v / k) + "distance " + std::to_string(distances[v]) +
                             " is not a finite number >= 0");
    }
  }
  const std::size_t class_count = contingency_.size();
  if (classes.size() != (class_count ? n : 0)) {
    return invalidArgument(std::to_string(classes.size()) + " class labels for " +
                           std::to_string(n) + " rows" +
                           (class_count ? "" : " of data without classes"));
  }
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i] < 0 || static_cast<std::size_t>(classes[i]) >= class_count) {
      return invalidArgument(rowText(i) + "class " + std::to_string(classes[i]) +
                             " is outside [0, " + std::to_string(class_count) + ")");
    }
  }
  with_distances_ = with;
  const auto width = static_cast<std::size_t>(features_);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::size_t>(clusters[i]);
    ++counts_[c];
    double* sum = sums_.data() + c * width;
    for (std::size_t f = 0; f < width; ++f) {
      sum[f] += features[i * width + f];
    }
    if (with) {
      const double d = distances[i * k + c];
      distance_inertia_ += d * d;
    }
    if (class_count) {
      ++contingency_[static_cast<std::size_t>(classes[i])][c];
    }
  }
  rows_ += n;
  return Status();
}

Status ClusteringMetrics::addSpread(std::span<const float> features,
                                    std::span<const std::int64_t> clusters) {
  AIMASS_RETURN_IF_ERROR(checkBatch(features, clusters));
  const auto width = static_cast<std::size_t>(features_);
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    if (counts_[static_cast<std::size_t>(clusters[i])] == 0) {
      return invalidArgument(rowText(i) + "cluster " + std::to_string(clusters[i]) +
                             " had no row in the first pass: the model assigned the same rows "
                             "differently");
    }
  }
  if (centroids_.empty()) {
    centroids_.resize(sums_.size());
    for (std::size_t c = 0; c < counts_.size(); ++c) {
      for (std::size_t f = 0; f < width; ++f) {
        centroids_[c * width + f] =
            counts_[c] ? sums_[c * width + f] / static_cast<double>(counts_[c]) : 0;
      }
    }
  }
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    const auto c = static_cast<std::size_t>(clusters[i]);
    const double d2 =
        squaredDistance(features.data() + i * width, centroids_.data() + c * width, features_);
    spread_[c] += std::sqrt(d2);
    centroid_inertia_ += d2;
  }
  spread_rows_ += clusters.size();
  return Status();
}

Expected<ClusteringReport> ClusteringMetrics::report(std::optional<double> silhouette,
                                                     std::uint64_t silhouette_rows) const {
  if (rows_ == 0) {
    return failedPrecondition("no clusters to evaluate: no rows were added");
  }
  if (spread_rows_ != rows_) {
    return failedPrecondition("the second pass saw " + std::to_string(spread_rows_) +
                              " rows, the first " + std::to_string(rows_));
  }
  ClusteringReport r;
  r.rows = rows_;
  r.clusters = clusters_;
  r.silhouette = silhouette;
  r.silhouette_rows = silhouette_rows;
  r.inertia_from_distances = with_distances_.value_or(false);
  r.inertia = r.inertia_from_distances ? distance_inertia_ : centroid_inertia_;
  std::vector<std::size_t> used;
  for (std::size_t c = 0; c < counts_.size(); ++c) {
    if (counts_[c] > 0) {
      used.push_back(c);
    }
  }
  r.clusters_used = static_cast<std::int64_t>(used.size());
  if (used.size() >= 2 && used.size() + 1 <= rows_) {
    // scikit-learn's davies_bouldin_score over the clusters that occur.
    const auto width = static_cast<std::size_t>(features_);
    const std::size_t g = used.size();
    std::vector<double> intra(g);
    bool intra_zero = true;
    for (std::size_t a = 0; a < g; ++a) {
      intra[a] = spread_[used[a]] / static_cast<double>(counts_[used[a]]);
      intra_zero = intra_zero && std::fabs(intra[a]) <= kAllCloseTolerance;
    }
    std::vector<double> between(g * g, 0.0);
    bool between_zero = true;
    for (std::size_t a = 0; a < g; ++a) {
      for (std::size_t b = 0; b < g; ++b) {
        double d2 = 0;
        for (std::size_t f = 0; f < width; ++f) {
          const double d = centroids_[used[a] * width + f] - centroids_[used[b] * width + f];
          d2 += d * d;
        }
        between[a * g + b] = std::sqrt(d2);
        between_zero = between_zero && between[a * g + b] <= kAllCloseTolerance;
      }
    }
    double score = 0;
    if (!intra_zero && !between_zero) {
      for (std::size_t a = 0; a < g; ++a) {
        double worst = 0;
        for (std::size_t b = 0; b < g; ++b) {
          if (between[a * g + b] > 0) {  // coinciding centres count as infinitely far
            worst = std::max(worst, (intra[a] + intra[b]) / between[a * g + b]);
          }
        }
        score += worst / static_cast<double>(g);
      }
    }
    r.davies_bouldin = score;
  }
  if (!contingency_.empty()) {
    r.adjusted_rand = adjustedRandIndex(contingency_);
    r.nmi = normalizedMutualInformation(contingency_);
  }
  return r;
}

}  // namespace aimass::core
