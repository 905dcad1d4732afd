// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "aimass/training.h"
#include "train_options.h"

namespace aimass::core {

/// The learning rate of global step `step` (0-based) in epoch `epoch` (0-based) of a run of
/// `total_steps` steps, for base rate `base`: the schedule's factor times the warm-up factor.
double scheduledLearningRate(const TrainOptions& options, double base, std::uint64_t step,
                             std::uint64_t epoch, std::uint64_t total_steps);

/// job.train's learning-rate schedule and warm-up as a callback: before every step it sets
/// state.learning_rate to scheduledLearningRate() of the run's base rate.
/// Threading and lifetime: one run at a time; keeps a copy of the options.
class LearningRateSchedule final : public TrainingCallback {
 public:
  explicit LearningRateSchedule(const TrainOptions& options) : options_(options) {}

  /// Whether `options` move the rate at all (a schedule other than constant, or warm-up).
  static bool moves(const TrainOptions& options) {
    return options.lr_schedule != LrSchedule::kConstant || options.warmup_steps > 0;
  }

  Status onStepBegin(TrainingState& state) override;

 private:
  TrainOptions options_;
};

}  // namespace aimass::core
