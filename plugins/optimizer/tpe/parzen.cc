// SPDX-License-Identifier: Apache-2.0
#include "parzen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace aimass::plugins::optimizer {

namespace {

constexpr double kHalfLogTwoPi = 0.91893853320467274178;

double normalCdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752440); }

}  // namespace

ParzenEstimator::Kernel ParzenEstimator::numericKernel(double mu, double sigma) const {
  Kernel k;
  k.mu = mu;
  k.sigma = sigma;
  k.inv_sigma = 1 / sigma;
  const double mass = normalCdf((1 - mu) / sigma) - normalCdf(-mu / sigma);
  k.log_const = -std::log(sigma) - kHalfLogTwoPi - std::log(std::max(mass, 1e-300));
  return k;
}

std::size_t ParzenEstimator::categoricalTable(std::size_t choices, double observed,
                                              double prior_weight) {
  // Every choice gets `prior_weight`, the observed one 1 more (NaN: none), normalised.
  const std::size_t offset = tables_.size();
  const double smoothing = prior_weight;  // per choice
  const bool known = !std::isnan(observed);
  const double total = smoothing * static_cast<double>(choices) + (known ? 1 : 0);
  for (std::size_t c = 0; c < choices; ++c) {
    const bool hit = known && static_cast<double>(c) == observed;
    tables_.push_back(std::log((smoothing + (hit ? 1 : 0)) / total));
  }
  return offset;
}

// Bandwidths of the observed (active) kernels of one numeric dimension, in the order of `mus`.
std::vector<double> ParzenEstimator::numericSigmas(std::span<const double> mus, std::size_t active,
                                                   const ParzenOptions& options) const {
  std::vector<double> sigmas(mus.size(), 1.0);
  if (mus.empty()) {
    return sigmas;
  }
  if (options.multivariate) {
    const double n = static_cast<double>(std::max<std::size_t>(active, 1));
    const double d = static_cast<double>(dims_.size());
    std::fill(sigmas.begin(), sigmas.end(), options.bandwidth * std::pow(n, -1.0 / (d + 4)));
  } else {
    // Distance to the farther neighbour among the observations and the prior's centre.
    std::vector<double> sorted(mus.begin(), mus.end());
    sorted.push_back(0.5);
    std::vector<std::size_t> order(sorted.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return sorted[a] < sorted[b]; });
    const std::size_t m = order.size();
    for (std::size_t r = 0; r < m; ++r) {
      if (order[r] == mus.size()) {
        continue;  // the prior keeps its own bandwidth
      }
      const double here = sorted[order[r]];
      const double left =
          r > 0 ? here - sorted[order[r - 1]] : (options.consider_endpoints ? here : -1);
      const double right =
          r + 1 < m ? sorted[order[r + 1]] - here : (options.consider_endpoints ? 1 - here : -1);
      sigmas[order[r]] = std::max(left, right) > 0 ? std::max(left, right) : 1.0;
    }
  }
  const double low = options.consider_magic_clip
                         ? 1.0 / std::min(100.0, 1.0 + static_cast<double>(mus.size() + 1))
                         : 1e-12;
  for (double& s : sigmas) {
    s = std::clamp(s, low, 1.0);
  }
  return sigmas;
}

void ParzenEstimator::fit(const SearchSpace& space, std::span<const std::size_t> dims,
                          std::span<const ParzenObservation> observations,
                          const ParzenOptions& options) {
  dims_.assign(dims.begin(), dims.end());
  const std::size_t n = observations.size(), m = dims_.size(), components = n + 1;
  kernels_.assign(components * m, Kernel{});
  tables_.clear();
  std::vector<double> mus;
  std::vector<std::size_t> owners;
  for (std::size_t j = 0; j < m; ++j) {
    const SearchDimension& d = space[dims_[j]];
    if (d.type == SearchDimension::Type::kCategorical) {
      const std::size_t uniform = categoricalTable(d.choices.size(), NAN, 1);
      for (std::size_t k = 0; k < n; ++k) {
        const double v = (*observations[k].values)[dims_[j]];
        kernels_[k * m + j].table =
            std::isnan(v) ? uniform
                          : categoricalTable(d.choices.size(), v, options.categorical_smoothing);
      }
      kernels_[n * m + j].table = uniform;
      continue;
    }
    mus.clear();
    owners.clear();
    for (std::size_t k = 0; k < n; ++k) {
      const double v = (*observations[k].values)[dims_[j]];
      if (!std::isnan(v)) {
        mus.push_back(v);
        owners.push_back(k);
      }
    }
    const std::vector<double> sigmas = numericSigmas(mus, mus.size(), options);
    const Kernel prior = numericKernel(0.5, 1.0);
    for (std::size_t k = 0; k < components; ++k) {
      kernels_[k * m + j] = prior;
    }
    for (std::size_t i = 0; i < mus.size(); ++i) {
      kernels_[owners[i] * m + j] = numericKernel(mus[i], sigmas[i]);
    }
  }
  double total = options.prior_weight;
  for (const auto& o : observations) {
    total += o.weight;
  }
  log_weights_.resize(components);
  cumulative_.resize(components);
  double running = 0;
  for (std::size_t k = 0; k < components; ++k) {
    const double w = k < n ? observations[k].weight : options.prior_weight;
    log_weights_[k] = std::log(w / total);
    running += w / total;
    cumulative_[k] = running;
  }
}

void ParzenEstimator::sample(const SearchSpace& space, SearchRandom& random,
                             std::vector<double>& values) const {
  const double pick = random.uniform() * cumulative_.back();
  const std::size_t component = static_cast<std::size_t>(
      std::upper_bound(cumulative_.begin(), cumulative_.end(), pick) - cumulative_.begin());
  const std::size_t c = std::min(component, cumulative_.size() - 1);
  for (std::size_t j = 0; j < dims_.size(); ++j) {
    const std::size_t d = dims_[j];
    if (!dimensionActive(space, d, values)) {
      values[d] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const Kernel& k = kernel(c, j);
    if (space[d].type == SearchDimension::Type::kCategorical) {
      const std::size_t choices = space[d].choices.size();
      double r = random.uniform();
      std::size_t choice = 0;
      for (; choice + 1 < choices; ++choice) {
        r -= std::exp(tables_[k.table + choice]);
        if (r < 0) {
          break;
        }
      }
      values[d] = static_cast<double>(choice);
      continue;
    }
    double u = -1;
    for (int attempt = 0; attempt < 64 && !(u >= 0 && u <= 1); ++attempt) {
      u = k.mu + k.sigma * random.normal();
    }
    if (!(u >= 0 && u <= 1)) {
      u = random.uniform();
    }
    values[d] = fromUnit(space[d], u);
  }
}

double ParzenEstimator::logDensity(const SearchSpace& space, std::span<const double> values) const {
  double best = -std::numeric_limits<double>::infinity();
  double sum = 0;
  const std::size_t m = dims_.size();
  // One pass with a running maximum (log-sum-exp without a second sweep).
  for (std::size_t c = 0; c < log_weights_.size(); ++c) {
    double s = log_weights_[c];
    const Kernel* ks = &kernels_[c * m];
    for (std::size_t j = 0; j < m; ++j) {
      const double v = values[dims_[j]];
      if (std::isnan(v)) {
        continue;
      }
      if (space[dims_[j]].type == SearchDimension::Type::kCategorical) {
        s += tables_[ks[j].table + static_cast<std::size_t>(v)];
      } else {
        const double z = (v - ks[j].mu) * ks[j].inv_sigma;
        s += ks[j].log_const - 0.5 * z * z;
      }
    }
    if (s > best) {
      sum = sum * std::exp(best - s) + 1;
      best = s;
    } else if (s > best - 40) {  // smaller terms change nothing at double precision
      sum += std::exp(s - best);
    }
  }
  return best + std::log(sum);
}

}  // namespace aimass::plugins::optimizer
