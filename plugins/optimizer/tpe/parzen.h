// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Parzen estimators of optimizer.tpe: a weighted mixture of per-observation kernels over
// some dimensions of a search space, fitted in the unit coordinates of toUnit() (so log scales
// and integer ranges are handled by the mapping) plus one broad prior component.
//
//   kFloat / kInt   a normal kernel truncated to [0, 1] around the observation's unit position
//   kCategorical    a categorical distribution: every choice gets weight categorical_smoothing,
//                   the observed one 1 more, normalised
//
// A component whose observation is inactive in a dimension (a conditional dimension switched off
// by its parent) uses the prior kernel there, so each component is a proper distribution over
// the tree-structured space: sample() walks the dimensions in order, drawing only the active
// ones, and logDensity() multiplies the kernels of the candidate's active dimensions.
//
// Threading: a fitted estimator is read-only; sample() takes the caller's generator.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// How the estimators are built (the node's parameters).
struct ParzenOptions {
  double prior_weight = 0.3;            ///< weight of the prior component in the mixture
  bool consider_magic_clip = false;     ///< lower bound on bandwidths: 1 / min(100, components)
  bool consider_endpoints = false;      ///< univariate: the bounds count as neighbours
  bool multivariate = true;             ///< one bandwidth per dimension from Scott's rule
  double categorical_smoothing = 1.33;  ///< weight each choice gets in every categorical kernel
  double bandwidth = 0.10;              ///< multivariate: bandwidth at one observation, unit space
};

/// One observation for fitting: its values in model coordinates (toUnit() for numbers, the
/// choice index for categories, NaN where inactive), in space order.
struct ParzenObservation {
  const std::vector<double>* values = nullptr;
  double weight = 1;
};

class ParzenEstimator {
 public:
  /// Fits a mixture over `dims` (indices into `space`, increasing) to `observations`.
  /// Inactive (NaN) values take the prior kernel. Allocates; never fails.
  void fit(const SearchSpace& space, std::span<const std::size_t> dims,
           std::span<const ParzenObservation> observations, const ParzenOptions& options);

  /// Draws the estimator's dimensions into `values` as values of the space (fromUnit()), in
  /// space order; a dimension's parent must already hold its value. Inactive ones get NaN.
  void sample(const SearchSpace& space, SearchRandom& random, std::vector<double>& values) const;

  /// log density at `values` (model coordinates, NaN where inactive) over the estimator's
  /// dimensions active there; categorical dimensions contribute their probability.
  double logDensity(const SearchSpace& space, std::span<const double> values) const;

 private:
  struct Kernel {
    double mu = 0.5;   ///< numeric: centre in unit space
    double sigma = 1;  ///< numeric: bandwidth in unit space
    double inv_sigma = 1;
    double log_const = 0;   ///< -log(sigma * sqrt(2 pi) * mass inside [0, 1])
    std::size_t table = 0;  ///< categorical: offset of the log probabilities in tables_
  };

  std::vector<double> numericSigmas(std::span<const double> mus, std::size_t active,
                                    const ParzenOptions& options) const;
  Kernel numericKernel(double mu, double sigma) const;
  std::size_t categoricalTable(std::size_t choices, double observed, double prior_weight);
  const Kernel& kernel(std::size_t component, std::size_t j) const {
    return kernels_[component * dims_.size() + j];
  }

  std::vector<std::size_t> dims_;
  std::vector<double> log_weights_;  ///< per component, normalised
  std::vector<double> cumulative_;   ///< per component, for drawing one
  std::vector<Kernel> kernels_;      ///< component-major
  std::vector<double> tables_;       ///< categorical log probabilities
};

}  // namespace aimass::plugins::optimizer
