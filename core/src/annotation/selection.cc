// SPDX-License-Identifier: Apache-2.0
#include "annotation/selection.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>

namespace aimass::core::annotation {
namespace {

constexpr std::array<std::pair<SelectionStrategy, std::string_view>, 5> kNames = {{
    {SelectionStrategy::kLeastConfidence, "least_confidence"},
    {SelectionStrategy::kMargin, "margin"},
    {SelectionStrategy::kEntropy, "entropy"},
    {SelectionStrategy::kDiversity, "diversity"},
    {SelectionStrategy::kRandom, "random"},
}};

double scoreRow(SelectionStrategy strategy, std::span<const float> p) {
  for (float v : p) {
    if (std::isnan(v)) {
      return std::numeric_limits<double>::quiet_NaN();
    }
  }
  switch (strategy) {
    case SelectionStrategy::kLeastConfidence:
      return 1 - static_cast<double>(*std::max_element(p.begin(), p.end()));
    case SelectionStrategy::kMargin:
    case SelectionStrategy::kDiversity: {
      constexpr double kNone = -std::numeric_limits<double>::infinity();
      double first = kNone, second = kNone;
      for (float v : p) {
        if (v > first) {
          second = first;
          first = v;
        } else if (v > second) {
          second = v;
        }
      }
      if (second == kNone) {
        second = 0;  // one class
      }
      return 1 - (first - second);
    }
    case SelectionStrategy::kEntropy: {
      double entropy = 0;
      for (float v : p) {
        if (v > 0) {
          entropy -= static_cast<double>(v) * std::log(static_cast<double>(v));
        }
      }
      return entropy;
    }
    case SelectionStrategy::kRandom:
      return 0;
  }
  return 0;
}

bool readsProbabilities(SelectionStrategy strategy) {
  return strategy != SelectionStrategy::kRandom;
}

Status checkPool(SelectionStrategy strategy, const SelectionPool& pool) {
  if (readsProbabilities(strategy) &&
      (pool.classes == 0 || pool.probabilities.size() / pool.classes != pool.rows ||
       pool.probabilities.size() % pool.classes != 0)) {
    return invalidArgument(std::string(selectionStrategyName(strategy)) +
                           " selection: " + std::to_string(pool.probabilities.size()) +
                           " probabilities do not make " + std::to_string(pool.rows) + " rows x " +
                           std::to_string(pool.classes) + " classes");
  }
  if (strategy == SelectionStrategy::kDiversity &&
      (pool.dims == 0 || pool.features.size() / pool.dims != pool.rows ||
       pool.features.size() % pool.dims != 0)) {
    return invalidArgument("diversity selection: " + std::to_string(pool.features.size()) +
                           " feature values do not make " + std::to_string(pool.rows) + " rows x " +
                           std::to_string(pool.dims) + " dims");
  }
  return okStatus();
}

// Row indices by descending score, ties by the lower index, NaN scores last.
std::vector<std::size_t> orderByScore(const std::vector<double>& scores) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t l, std::size_t r) {
    const double a = scores[l], b = scores[r];
    if (std::isnan(a) || std::isnan(b)) {
      return !std::isnan(a) && std::isnan(b);
    }
    return a > b;
  });
  return order;
}

// A uniform draw from [0, n), n >= 1, without the bias of a plain modulo: values below
// 2^64 mod n are drawn again, so every residue has the same number of source values.
std::uint64_t uniformBelow(std::mt19937_64& random, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const std::uint64_t x = random();
    if (x >= threshold) {
      return x % n;
    }
  }
}

// A uniform draw from [0, 1) with 53 random bits.
double unitUniform(std::mt19937_64& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

std::vector<std::size_t> seededPermutation(std::size_t rows, std::uint64_t seed) {
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 random(seed);
  for (std::size_t i = rows; i > 1; --i) {
    std::swap(order[i - 1], order[uniformBelow(random, i)]);
  }
  return order;
}

double squaredDistance(std::span<const float> row, std::span<const double> centre) {
  double sum = 0;
  for (std::size_t d = 0; d < row.size(); ++d) {
    const double diff = static_cast<double>(row[d]) - centre[d];
    sum += diff * diff;
  }
  return sum;
}

// Uncertainty-weighted k-means over a few candidate rows of the pool. Candidates are given most
// uncertain first; centres are dims-wide rows of doubles.
class WeightedKMeans {
 public:
  WeightedKMeans(const SelectionPool& pool, std::vector<std::size_t> rows,
                 std::vector<double> weights, std::size_t k)
      : pool_(pool), rows_(std::move(rows)), weights_(std::move(weights)), k_(k) {}

  // k-means++: the first centre drawn with probability proportional to the weight, each next
  // one proportional to weight x the squared distance to the nearest centre so far. When no
  // candidate is left at a positive distance the next most uncertain unused candidate is taken.
  void seed(std::mt19937_64& random) {
    std::vector<double> nearest(rows_.size(), std::numeric_limits<double>::infinity());
    std::vector<bool> used(rows_.size(), false);
    centres_.assign(k_ * pool_.dims, 0);
    for (std::size_t c = 0; c < k_; ++c) {
      double total = 0;
      for (std::size_t i = 0; i < rows_.size(); ++i) {
        total += c == 0 ? weights_[i] : weights_[i] * nearest[i];
      }
      std::size_t chosen = rows_.size();
      if (total > 0) {
        double target = unitUniform(random) * total;
        for (std::size_t i = 0; i < rows_.size(); ++i) {
          const double mass = c == 0 ? weights_[i] : weights_[i] * nearest[i];
          if (mass > 0) {
            chosen = i;  // the last candidate with mass, should rounding leave target over
            if (target < mass) {
              break;
            }
            target -= mass;
          }
        }
      } else {
        chosen =
            static_cast<std::size_t>(std::find(used.begin(), used.end(), false) - used.begin());
      }
      used[chosen] = true;
      const auto source = row(chosen);
      std::copy(source.begin(), source.end(), centres_.begin() + c * pool_.dims);
      for (std::size_t i = 0; i < rows_.size(); ++i) {
        nearest[i] = std::min(nearest[i], squaredDistance(row(i), centre(c)));
      }
    }
  }

  // Lloyd iterations until no candidate changes cluster (at most `iterations`).
  void refine(std::size_t iterations) {
    assignment_.assign(rows_.size(), k_);
    for (std::size_t it = 0; it < iterations; ++it) {
      if (!assign()) {
        break;
      }
      update();
    }
    assign();
  }

  // Per cluster, the candidate nearest its centre (ties: the lower pool row); rows_.size() for
  // an empty cluster.
  std::vector<std::size_t> representatives() const {
    std::vector<std::size_t> best(k_, rows_.size());
    std::vector<double> best_distance(k_, std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const std::size_t c = assignment_[i];
      const double d = squaredDistance(row(i), centre(c));
      if (d < best_distance[c] ||
          (d == best_distance[c] && best[c] < rows_.size() && rows_[i] < rows_[best[c]])) {
        best[c] = i;
        best_distance[c] = d;
      }
    }
    return best;
  }

 private:
  std::span<const float> row(std::size_t candidate) const {
    return pool_.features.subspan(rows_[candidate] * pool_.dims, pool_.dims);
  }
  std::span<const double> centre(std::size_t c) const {
    return std::span<const double>(centres_).subspan(c * pool_.dims, pool_.dims);
  }

  // Each candidate to its nearest centre (ties: the lower cluster); whether any moved.
  bool assign() {
    bool moved = false;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      std::size_t best = 0;
      double best_distance = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k_; ++c) {
        const double d = squaredDistance(row(i), centre(c));
        if (d < best_distance) {
          best = c;
          best_distance = d;
        }
      }
      moved = moved || assignment_[i] != best;
      assignment_[i] = best;
    }
    return moved;
  }

  // Each centre to the weighted mean of its candidates; a cluster without any keeps its centre.
  void update() {
    std::vector<double> sums(k_ * pool_.dims, 0), mass(k_, 0);
    std::vector<std::size_t> members(k_, 0);
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const std::size_t c = assignment_[i];
      const auto values = row(i);
      for (std::size_t d = 0; d < pool_.dims; ++d) {
        sums[c * pool_.dims + d] += weights_[i] * static_cast<double>(values[d]);
      }
      mass[c] += weights_[i];
      ++members[c];
    }
    for (std::size_t c = 0; c < k_; ++c) {
      if (members[c] == 0 || !(mass[c] > 0)) {
        continue;  // empty, or only weightless members: the centre stays
      }
      for (std::size_t d = 0; d < pool_.dims; ++d) {
        centres_[c * pool_.dims + d] = sums[c * pool_.dims + d] / mass[c];
      }
    }
  }

  const SelectionPool& pool_;
  std::vector<std::size_t> rows_;
  std::vector<double> weights_;
  std::size_t k_;
  std::vector<double> centres_;
  std::vector<std::size_t> assignment_;
};

std::vector<std::size_t> selectDiverse(const SelectionPool& pool, const SelectionOptions& options,
                                       const std::vector<double>& scores,
                                       const std::vector<std::size_t>& order) {
  const double wanted = std::ceil(options.beta * static_cast<double>(options.batch));
  const std::size_t count =
      wanted >= static_cast<double>(order.size()) ? order.size() : static_cast<std::size_t>(wanted);
  std::vector<std::size_t> candidates(order.begin(), order.begin() + count);
  std::vector<double> weights(count);
  bool any_weight = false;
  for (std::size_t i = 0; i < count; ++i) {
    const double s = scores[candidates[i]];
    weights[i] = std::isfinite(s) && s > 0 ? s : 0;
    any_weight = any_weight || weights[i] > 0;
  }
  if (!any_weight) {
    std::fill(weights.begin(), weights.end(), 1.0);
  }
  WeightedKMeans kmeans(pool, candidates, weights, options.batch);
  std::mt19937_64 random(options.seed);
  kmeans.seed(random);
  kmeans.refine(options.kmeans_iterations);
  std::vector<bool> chosen(count, false);
  for (std::size_t candidate : kmeans.representatives()) {
    if (candidate < count) {
      chosen[candidate] = true;
    }
  }
  // Empty clusters: the most uncertain candidates not chosen yet (candidates are in rank order).
  std::size_t picked = static_cast<std::size_t>(std::count(chosen.begin(), chosen.end(), true));
  for (std::size_t i = 0; i < count && picked < options.batch; ++i) {
    if (!chosen[i]) {
      chosen[i] = true;
      ++picked;
    }
  }
  std::vector<std::size_t> batch;
  for (std::size_t i = 0; i < count; ++i) {
    if (chosen[i]) {
      batch.push_back(candidates[i]);  // in rank order: descending uncertainty
    }
  }
  return batch;
}

}  // namespace

Expected<SelectionStrategy> parseSelectionStrategy(std::string_view name) {
  std::string valid;
  for (const auto& [strategy, text] : kNames) {
    if (name == text) {
      return strategy;
    }
    valid += (valid.empty() ? "" : ", ") + std::string(text);
  }
  return invalidArgument("unknown selection strategy '" + std::string(name) +
                         "': expected one of " + valid);
}

std::string_view selectionStrategyName(SelectionStrategy strategy) {
  for (const auto& [value, text] : kNames) {
    if (value == strategy) {
      return text;
    }
  }
  return "unknown";
}

Expected<std::vector<double>> uncertaintyScores(SelectionStrategy strategy,
                                                std::span<const float> probabilities,
                                                std::size_t rows, std::size_t classes) {
  SelectionPool pool;
  pool.rows = rows;
  pool.probabilities = probabilities;
  pool.classes = classes;
  // Checked as for any strategy that reads probabilities.
  AIMASS_RETURN_IF_ERROR(checkPool(SelectionStrategy::kMargin, pool));
  std::vector<double> scores(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    scores[r] = scoreRow(strategy, probabilities.subspan(r * classes, classes));
  }
  return scores;
}

Expected<std::vector<std::size_t>> rankPool(SelectionStrategy strategy, const SelectionPool& pool,
                                            std::uint64_t seed) {
  if (strategy == SelectionStrategy::kRandom) {
    return seededPermutation(pool.rows, seed);
  }
  auto scores = uncertaintyScores(strategy, pool.probabilities, pool.rows, pool.classes);
  if (!scores.ok()) {
    return scores.status();
  }
  return orderByScore(*scores);
}

Expected<std::vector<std::size_t>> selectBatch(SelectionStrategy strategy,
                                               const SelectionPool& pool,
                                               const SelectionOptions& options) {
  if (options.batch == 0) {
    return invalidArgument("a selection needs a batch of at least 1 row");
  }
  if (!(options.beta >= 1) || !std::isfinite(options.beta)) {
    return invalidArgument("a selection needs beta >= 1, got " + std::to_string(options.beta));
  }
  AIMASS_RETURN_IF_ERROR(checkPool(strategy, pool));
  if (strategy == SelectionStrategy::kRandom) {
    auto order = seededPermutation(pool.rows, options.seed);
    order.resize(std::min(options.batch, order.size()));
    return order;
  }
  auto scores = uncertaintyScores(strategy, pool.probabilities, pool.rows, pool.classes);
  if (!scores.ok()) {
    return scores.status();
  }
  auto order = orderByScore(*scores);
  if (strategy == SelectionStrategy::kDiversity && pool.rows > options.batch) {
    return selectDiverse(pool, options, *scores, order);
  }
  order.resize(std::min(options.batch, order.size()));
  return order;
}

}  // namespace aimass::core::annotation
