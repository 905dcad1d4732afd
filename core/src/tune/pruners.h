// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

/// What a pruner sees of one trial of a study: the objective it reported after each epoch
/// (the step, from 1), already oriented so that lower is better (a maximised metric is
/// negated), and where the trial stands.
struct TrialCurve {
  enum class State { kRunning, kComplete, kPruned, kFailed };
  std::uint64_t number = 0;  ///< the trial's number in the study, from 0
  State state = State::kRunning;
  std::map<std::uint64_t, double> values;  ///< step -> value; NaN never appears
};

/// Which pruner job.tune uses, and its settings (job.tune's `pruner` parameters).
struct PrunerSettings {
  enum class Kind { kNone, kMedian, kSuccessiveHalving, kHyperband };
  Kind kind = Kind::kNone;
  /// median: trials before pruning starts (completed ones), and steps of each trial before it
  /// can be pruned.
  std::uint64_t startup_trials = 5;
  std::uint64_t warmup_steps = 1;
  /// successive halving / hyperband: the first rung's resource (epochs), the reduction factor
  /// (keep the best 1/eta at each rung), and the most resource a trial may get (the trial
  /// job's epochs).
  std::uint64_t min_resource = 1;
  std::uint64_t reduction_factor = 3;
  std::uint64_t max_resource = 1;
};

/// Decides, after a trial reports an epoch, whether it should stop early.
///
/// Pruners are stateless: every decision is a function of the curves, so a resumed study
/// (whose curves come back from storage) decides exactly as the uninterrupted one would, and
/// trials running in parallel are compared with whatever the others reported so far
/// (asynchronous, as ASHA is meant to run).
/// Threading: const and stateless; safe from any thread.
class Pruner {
 public:
  virtual ~Pruner() = default;
  /// Whether the trial numbered `number`, which has just reported its value for `step` (already
  /// in its curve in `trials`), should stop now. `trials` holds every trial of the study,
  /// this one included, in any order.
  virtual bool shouldPrune(const std::vector<TrialCurve>& trials, std::uint64_t number,
                           std::uint64_t step) const = 0;
  /// One line for logs and `aimass tune show`: "median (5 startup trials, 1 warm-up step)".
  virtual std::string describe() const = 0;
};

/// The pruner for `settings`; null for Kind::kNone. kInvalidArgument, naming the setting, for
/// settings that cannot work (reduction_factor < 2, min_resource 0 or above max_resource).
Expected<std::unique_ptr<Pruner>> makePruner(const PrunerSettings& settings);

}  // namespace aimass::core
