// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Minimising a loss over a flat float vector (say a small model's weights) with any
/// SearchOptimizer, for losses without gradients (neuroevolution: CMA-ES, a genetic algorithm).
/// Inline code compiled into whoever includes it: not part of the plugin ABI (util/ is left out
/// of the headers' hash), so it may change without a version.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "aimass/optimizer.h"

namespace aimass {

struct SearchMinimizeOptions {
  /// Each weight searched in [start - radius, start + radius] (when fixed_bounds is false).
  double radius = 1.0;
  /// Search every weight in [low, high] instead.
  bool fixed_bounds = false;
  double low = -1.0;
  double high = 1.0;
  /// Candidates evaluated in all (the start's own evaluation not counted).
  std::uint64_t evaluations = 1000;
  /// Candidates per ask(): 1 for sequential searches, a population for evolutionary ones.
  std::size_t batch = 1;
  /// The seed passed to SearchOptimizer::begin().
  std::uint64_t seed = 0;
  /// Stop once a loss at or below this was found.
  double target_loss = -std::numeric_limits<double>::infinity();
};

struct SearchMinimizeResult {
  double loss = 0;                ///< the loss of the weights written back
  std::uint64_t evaluations = 0;  ///< candidates evaluated
  bool reached_target = false;    ///< stopped because a loss <= target_loss was found
};

/// Minimises `loss` over `weights` by asking `optimizer` for candidates in a float search space
/// of weights.size() dimensions ("w0", "w1", ...) and telling it their losses; a non-finite
/// loss is told as a failed evaluation. Writes the best weights seen back into `weights` (the
/// start stays when nothing beat it). kInvalidArgument for no weights, no evaluations, a batch
/// of 0, bounds that are not finite with low < high or a non-positive radius; the optimizer's
/// errors are returned as they are (weights then unchanged). Calls `loss` on the calling thread;
/// whatever the loss throws is not caught here.
inline Expected<SearchMinimizeResult> searchMinimize(
    SearchOptimizer& optimizer, const std::function<double(std::span<const float>)>& loss,
    std::span<float> weights, const SearchMinimizeOptions& options) {
  if (weights.empty() || options.evaluations == 0 || options.batch == 0) {
    return invalidArgument("searchMinimize: needs weights, evaluations > 0 and a batch > 0");
  }
  const bool bounds_ok =
      options.fixed_bounds
          ? std::isfinite(options.low) && std::isfinite(options.high) && options.low < options.high
          : std::isfinite(options.radius) && options.radius > 0;
  if (!bounds_ok) {
    return invalidArgument("searchMinimize: bounds must be finite with low < high (or radius > 0)");
  }
  SearchSpace space(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    space[i].name = "w" + std::to_string(i);
    space[i].type = SearchDimension::Type::kFloat;
    space[i].low = options.fixed_bounds ? options.low : weights[i] - options.radius;
    space[i].high = options.fixed_bounds ? options.high : weights[i] + options.radius;
  }
  AIMASS_RETURN_IF_ERROR(optimizer.begin(space, options.seed, 1));
  std::vector<float> best(weights.begin(), weights.end()), trial(weights.size());
  double best_loss = loss(best);
  if (!std::isfinite(best_loss)) {
    best_loss = std::numeric_limits<double>::infinity();
  }
  SearchMinimizeResult result;
  while (result.evaluations < options.evaluations && !result.reached_target) {
    const auto count = static_cast<std::size_t>(
        std::min<std::uint64_t>(options.batch, options.evaluations - result.evaluations));
    auto asked = optimizer.ask(count);
    if (!asked.ok()) {
      return asked.status();
    }
    std::vector<Evaluation> told;
    told.reserve(asked->size());
    for (const Candidate& c : *asked) {
      for (std::size_t i = 0; i < trial.size(); ++i) {
        trial[i] = static_cast<float>(c.values[i]);
      }
      const double value = loss(trial);
      const bool failed = !std::isfinite(value);
      told.push_back({c.id, failed ? 0.0 : value, failed, {}});
      if (!failed && value < best_loss) {
        best_loss = value;
        best = trial;
      }
      result.reached_target = result.reached_target || best_loss <= options.target_loss;
    }
    AIMASS_RETURN_IF_ERROR(optimizer.tell(told));
    result.evaluations += asked->size();
    if (asked->empty()) {
      break;  // an optimizer that proposes nothing ends the search
    }
  }
  std::copy(best.begin(), best.end(), weights.begin());
  result.loss = best_loss;
  return result;
}

}  // namespace aimass
