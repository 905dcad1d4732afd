// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.tpe — the tree-structured Parzen estimator (Bergstra et al. 2011) with the
// refinements Optuna made to it: a prior component, the "magic clip" on bandwidths, a weighted
// history, a multivariate (joint) estimator and a constant liar for parallel trials.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"
#include "parzen.h"

namespace aimass::plugins::optimizer {

/// The node's parameters (README.md explains each).
struct TpeOptions {
  std::uint64_t seed = 0;
  std::size_t n_startup = 10;        ///< uniformly random candidates before the model starts
  std::size_t n_ei_candidates = 24;  ///< samples from l(x) per candidate; the best l/g wins
  bool sqrt_gamma = false;           ///< gamma(n) = ceil(0.25 sqrt n) instead of ceil(f n)
  double gamma_fraction = 0.2;       ///< gamma(n) = min(ceil(gamma_fraction n), gamma_max)
  std::size_t gamma_max = 25;
  bool constant_liar = true;  ///< outstanding candidates join the "bad" group while pending
  ParzenOptions parzen;
};

/// Proposes candidates that maximise l(x) / g(x), where l is a Parzen estimator of the best
/// gamma(n) successful results and g one of the others, among n_ei_candidates draws from l.
///
/// Spaces: kFloat and kInt work in toUnit() coordinates (log scale and the integer grid come
/// from the mapping; an int is rounded by fromUnit()), kCategorical with smoothed categorical
/// kernels. Conditional dimensions: univariate, each dimension's estimators are fitted only on
/// the results where it was active; multivariate, a result inactive in a dimension contributes
/// the prior kernel there, so every mixture component is a distribution over the tree.
///
/// Failed (or non-finite) results join the bad group g (so the search steers away from regions
/// that fail) but do not count towards n_startup or gamma. Outstanding candidates (asked, not
/// told; also the earlier ones of the same ask()) join g too with constant_liar, so parallel
/// trials spread out; without it they are ignored.
///
/// Determinism: the model is refitted from the ledger at every candidate, so the state is the
/// random stream and the ledger alone. Threading: not thread-safe; the tuner serialises calls.
class TpeSearch final : public SearchOptimizer {
 public:
  explicit TpeSearch(TpeOptions options) : options_(options) {}

  /// kInvalidArgument, naming the dimension, for a space checkSearchSpace() refuses, or for
  /// more than one objective.
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin().
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// kInvalidArgument (and nothing recorded) for an unknown or repeated id.
  Status tell(std::span<const Evaluation> results) override;
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  const std::vector<SearchRecord>& history() const noexcept { return ledger_.history(); }

 private:
  /// Fits the estimators to the history and returns the next candidate's values.
  std::vector<double> propose();
  /// Of n_ei_candidates draws from the fitted l(x), the one with the largest l(x) / g(x).
  std::vector<double> bestCandidate();
  std::size_t gamma(std::size_t n) const;

  const TpeOptions options_;
  bool begun_ = false;
  SearchSpace space_;
  std::uint64_t fingerprint_ = 0;
  SearchRandom random_;
  SearchLedger ledger_;
  std::vector<std::vector<double>> told_units_;  ///< history in model coordinates (a cache)
  std::vector<ParzenEstimator> below_, above_;   ///< scratch reused between proposals
};

/// A candidate's values in the estimators' coordinates: toUnit() for numbers, the index for
/// categories, NaN kept.
std::vector<double> toModelCoordinates(const SearchSpace& space, std::span<const double> values);

}  // namespace aimass::plugins::optimizer
