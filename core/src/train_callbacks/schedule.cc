// SPDX-License-Identifier: Apache-2.0
#include "train_callbacks/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace aimass::core {

double scheduledLearningRate(const TrainOptions& options, double base, std::uint64_t step,
                             std::uint64_t epoch, std::uint64_t total_steps) {
  double rate = base;
  switch (options.lr_schedule) {
    case LrSchedule::kConstant:
      break;
    case LrSchedule::kStep:
      rate *= std::pow(options.lr_gamma, static_cast<double>(epoch / options.lr_step_epochs));
      break;
    case LrSchedule::kCosine: {
      // Anneals over the steps after warm-up, so warm-up ends at the full base rate.
      const std::uint64_t start = std::min(options.warmup_steps, total_steps);
      const std::uint64_t span = total_steps - start;
      if (step >= start && span > 0) {
        const double progress = static_cast<double>(step - start) / static_cast<double>(span);
        rate *= 0.5 * (1 + std::cos(std::numbers::pi * progress));
      }
      break;
    }
  }
  if (step < options.warmup_steps) {
    rate *= static_cast<double>(step + 1) / static_cast<double>(options.warmup_steps);
  }
  return rate;
}

Status LearningRateSchedule::onStepBegin(TrainingState& state) {
  state.learning_rate = scheduledLearningRate(options_, state.base_learning_rate, state.global_step,
                                              state.epoch, state.planned_steps);
  return Status();
}

}  // namespace aimass::core
