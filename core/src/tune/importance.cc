// SPDX-License-Identifier: Apache-2.0
#include "tune/importance.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace aimass::core {
namespace {

constexpr std::size_t kBins = 4;
constexpr long kInactiveGroup = -1;

/// The group of each of `xs` (NaN: inactive): a choice's index, or a quartile bin's number.
std::vector<long> groupsOf(const TuneDimension& d, const std::vector<double>& xs) {
  std::vector<long> groups(xs.size(), kInactiveGroup);
  if (d.kind == TuneDimension::Kind::kChoice) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (!std::isnan(xs[i])) {
        groups[i] = static_cast<long>(xs[i]);
      }
    }
    return groups;
  }
  std::vector<double> active;
  for (double x : xs) {
    if (!std::isnan(x)) {
      active.push_back(x);
    }
  }
  std::sort(active.begin(), active.end());
  // Bin b holds the values from the b-th quartile edge on; equal values share a bin.
  std::vector<double> edges;
  for (std::size_t b = 1; b < kBins; ++b) {
    const std::size_t at = b * active.size() / kBins;
    if (at > 0 && at < active.size()) {
      edges.push_back(active[at]);
    }
  }
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!std::isnan(xs[i])) {
      groups[i] =
          static_cast<long>(std::upper_bound(edges.begin(), edges.end(), xs[i]) - edges.begin());
    }
  }
  return groups;
}

/// Epsilon squared of `ys` grouped by `groups` (see parameterImportances).
double explainedShare(const std::vector<long>& groups, const std::vector<double>& ys, double mean,
                      double total) {
  std::map<long, std::pair<double, std::size_t>> sums;  // group -> (sum, count)
  for (std::size_t i = 0; i < ys.size(); ++i) {
    auto& [sum, count] = sums[groups[i]];
    sum += ys[i];
    ++count;
  }
  const std::size_t n = ys.size(), k = sums.size();
  if (n <= k) {
    return 0;
  }
  double between = 0;
  for (const auto& [group, sc] : sums) {
    const double group_mean = sc.first / static_cast<double>(sc.second);
    between += static_cast<double>(sc.second) * (group_mean - mean) * (group_mean - mean);
  }
  const double within = std::max(0.0, total - between);
  const double chance = static_cast<double>(k - 1) * within / static_cast<double>(n - k);
  return std::max(0.0, (between - chance) / total);
}

}  // namespace

std::vector<double> parameterImportances(const std::vector<TuneDimension>& dimensions,
                                         const std::vector<Trial>& trials) {
  std::vector<const Trial*> complete;
  for (const auto& t : trials) {
    if (t.state == Trial::State::kComplete && t.value && std::isfinite(*t.value)) {
      complete.push_back(&t);
    }
  }
  if (complete.size() < kMinImportanceTrials) {
    return {};
  }
  std::vector<double> ys;
  double mean = 0;
  for (const Trial* t : complete) {
    ys.push_back(*t->value);
    mean += *t->value;
  }
  mean /= static_cast<double>(ys.size());
  double total = 0;
  for (double y : ys) {
    total += (y - mean) * (y - mean);
  }
  std::vector<double> shares(dimensions.size(), 0.0);
  // Relative to the values' scale: a spread within rounding error is no variation.
  if (!(total > 1e-24 * std::max(1.0, mean * mean) * static_cast<double>(ys.size()))) {
    return shares;
  }
  double sum = 0;
  for (std::size_t d = 0; d < dimensions.size(); ++d) {
    std::vector<double> xs;
    for (const Trial* t : complete) {
      xs.push_back(d < t->values.size() ? t->values[d] : std::nan(""));
    }
    shares[d] = explainedShare(groupsOf(dimensions[d], xs), ys, mean, total);
    sum += shares[d];
  }
  if (sum > 0) {
    for (double& s : shares) {
      s /= sum;
    }
  }
  return shares;
}

}  // namespace aimass::core
