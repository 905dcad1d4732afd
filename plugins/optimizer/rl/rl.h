// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.rl — a policy-gradient search (REINFORCE with a moving-average baseline, the
// update of Zoph & Le's neural architecture search and Katib's ENAS controller) over a
// factorised policy: one independent distribution per search dimension instead of an RNN.
//
//   categorical dimensions, and int ranges of at most `max_bins` values: a softmax over one
//     logit per value (every integer of a small range is its own action, so layer counts and
//     widths are learned as discrete choices);
//   floats and larger int ranges: a Gaussian in unit space (toUnit/fromUnit) with a learned
//     mean and log standard deviation, reflected at 0 and 1.
//
// Why a Gaussian and not a softmax over bins for continuous dimensions: with the few dozen
// evaluations a tuner can afford, a good sample must move the policy towards itself at once.
// A Gaussian's mean moves towards every sample better than the baseline, at any resolution,
// and its shrinking standard deviation refines around it; a softmax over bins learns each bin
// separately (a good sample only raises its own bin, its neighbours learn nothing) and cannot
// resolve anything inside a bin, so within 50 evaluations it barely leaves uniform sampling.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// The node's parameters (README.md documents them).
struct RlOptions {
  std::uint64_t seed = 0;
  double learning_rate = 0.1;   ///< Adam's step size on the policy's parameters, > 0
  double baseline_decay = 0.9;  ///< the moving baseline's decay, in [0, 1)
  double entropy = 0.01;        ///< weight of the policy's entropy in the objective, >= 0
  std::int64_t warmup = 4;      ///< candidates drawn uniformly before the policy samples, >= 0
  std::int64_t max_bins = 32;   ///< int ranges of at most this many values get a softmax, >= 2
  double initial_std = 0.15;    ///< the Gaussians' first standard deviation in unit space
};

/// REINFORCE over a factorised policy (see the file comment).
///
/// Learning: every told result is an action of the policy (its values: a choice index, an
/// integer's position in its range, a float's unit-space position). Its reward is the
/// negated value turned into a rank utility in [-0.5, 0.5] among every successful result of
/// the search (robust to the heavy tails of losses); the advantage is that utility minus a
/// moving baseline (baseline = decay * baseline + (1 - decay) * utility, after use). One Adam
/// step per result then ascends advantage * grad log pi(action) + entropy * grad H(pi), on
/// the dimensions active in that result only (inactive conditional dimensions, NaN, get no
/// gradient). The log-probability is that of the current policy, so results told late or out
/// of order, and the `warmup` uniform candidates, teach it as well. Failed results are
/// recorded and teach nothing.
///
/// Determinism: all randomness comes from one SearchRandom seeded by mixing the node's seed
/// with begin()'s; the same calls give the same candidates on every platform.
/// Threading: not thread-safe; the tuner serialises calls.
class RlSearch final : public SearchOptimizer {
 public:
  /// kInvalidArgument for options outside their documented ranges.
  static Expected<std::unique_ptr<RlSearch>> create(const RlOptions& options);

  /// kInvalidArgument, naming the dimension, for a space checkSearchSpace() refuses, or for
  /// more than one objective. Resets the policy to uniform (softmaxes) and centred Gaussians.
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin(). Samples the policy (uniformly during warmup).
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// kInvalidArgument (nothing recorded, nothing learned) for an unknown or repeated id.
  Status tell(std::span<const Evaluation> results) override;
  /// The policy, its Adam moments, the baseline, the random stream and the ledger.
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  /// For dimension `index` with a softmax policy: the probability of each value (a choice,
  /// or the integers of the range from the lowest up). Empty for Gaussian dimensions or an
  /// index outside the space.
  std::vector<double> probabilities(std::size_t index) const;
  /// The policy's most likely candidate values: each softmax's likeliest value, each
  /// Gaussian's mean, NaN where inactive. Empty before begin().
  std::vector<double> mode() const;
  /// Results told since begin(), in order.
  const std::vector<SearchRecord>& history() const noexcept { return ledger_.history(); }
  /// The moving baseline of rank utilities.
  double baseline() const noexcept { return baseline_; }

 private:
  /// Where dimension i's policy lives in theta_: `size` logits from `offset`, or (when
  /// gaussian) the mean and log standard deviation at offset and offset + 1.
  struct Slot {
    std::size_t offset = 0;
    std::size_t size = 0;
    bool gaussian = false;
  };

  explicit RlSearch(const RlOptions& options) : options_(options) {}

  double sampleDimension(std::size_t i);
  /// The policy's action in dimension i for a told value: a logit index, or a unit position.
  double action(std::size_t i, double value) const;
  /// Rank utility of `value` among the successful results told so far, in [-0.5, 0.5].
  double utility(double value) const;
  /// One policy-gradient step for a told result of `values` with `advantage`.
  void learn(const std::vector<double>& values, double advantage);
  /// softmax of slot's logits into probs_.
  void softmax(const Slot& slot) const;

  const RlOptions options_;
  bool begun_ = false;
  SearchSpace space_;
  std::uint64_t fingerprint_ = 0;
  std::vector<Slot> slots_;
  std::vector<double> theta_;         ///< the policy's parameters
  std::vector<double> m_;             ///< Adam's first moments
  std::vector<double> v_;             ///< Adam's second moments
  std::vector<std::uint64_t> steps_;  ///< Adam steps per dimension (inactive ones skip)
  double baseline_ = 0;
  std::uint64_t updates_ = 0;  ///< results learned from (the baseline starts at the first)
  std::uint64_t asked_ = 0;    ///< candidates proposed since begin() (for warmup)
  SearchRandom random_;
  SearchLedger ledger_;
  mutable std::vector<double> probs_;  ///< scratch for softmax()
};

}  // namespace aimass::plugins::optimizer
