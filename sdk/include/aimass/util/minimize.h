// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Driving a gradient optimizer over an Objective (aimass/optimizer.h includes it).
/// Inline code compiled into each plugin that includes it: not part of the plugin ABI (the
/// headers' hash in sdk/abi-history.txt leaves util/ out), so it may change without a version.

#include <cmath>
#include <cstdint>
#include <string>

#include "aimass/optimizer.h"

namespace aimass {

/// Minimises `objective` from `x` (updated in place) for at most `max_steps` steps or until the
/// gradient's norm drops below `gradient_tolerance`. The callback (optional) sees one epoch of
/// up to max_steps steps: onRunBegin, onEpochBegin, then per step onStepBegin, onGradients
/// (the objective's gradient, replaceable) and onStepEnd, then onEpochEnd and onRunEnd. A
/// callback's requestStop() ends the loop after that hook; an error it returns is returned.
inline Expected<MinimizeResult> minimize(GradientOptimizer& optimizer, Objective& objective,
                                         std::span<float> x, std::uint64_t max_steps,
                                         double gradient_tolerance = 1e-6,
                                         TrainingCallback* callback = nullptr) {
  Parameter p;
  p.name = "x";
  p.value = Tensor::wrap(DType::kFloat32, {static_cast<std::int64_t>(x.size())}, x.data(),
                         std::shared_ptr<void>(), Device::kCpu);
  p.grad = Tensor::zeros(DType::kFloat32, {static_cast<std::int64_t>(x.size())});
  std::span<Parameter> params(&p, 1);
  AIMASS_RETURN_IF_ERROR(optimizer.begin(params));
  MinimizeResult result;
  TrainingState state;
  state.epochs = 1;
  state.steps_per_epoch = max_steps;
  state.planned_steps = max_steps;
  state.base_learning_rate = optimizer.learningRate();
  state.learning_rate = state.base_learning_rate;
  state.parameters = params;
  TrainingCallback none;
  TrainingCallback& hooks = callback ? *callback : none;
  Status status = hooks.onRunBegin(state);
  if (status.ok()) {
    status = hooks.onEpochBegin(state);
  }
  for (; status.ok() && !state.stop_requested && result.steps < max_steps; ++result.steps) {
    state.step = result.steps;
    state.learning_rate = state.base_learning_rate;
    status = hooks.onStepBegin(state);
    if (!status.ok() || state.stop_requested) {
      break;
    }
    result.value = objective.evaluateWithGradient(x, p.grad.span<float>());
    if (!std::isfinite(result.value)) {
      status =
          invalidArgument("objective became non-finite at step " + std::to_string(result.steps));
      break;
    }
    double norm = 0;
    for (float g : p.grad.span<float>()) {
      norm += double(g) * g;
    }
    if (std::sqrt(norm) < gradient_tolerance) {
      break;
    }
    state.batch_loss = result.value;
    state.batch_rows = 1;
    status = hooks.onGradients(state);
    if (!status.ok() || state.stop_requested) {
      break;
    }
    optimizer.setLearningRate(state.learning_rate);
    status = optimizer.step(params);
    if (!status.ok()) {
      break;
    }
    state.global_step = result.steps + 1;
    status = hooks.onStepEnd(state);
  }
  state.step = result.steps;
  if (status.ok()) {
    status = hooks.onEpochEnd(state);
  }
  Status ended = hooks.onRunEnd(state, status);
  optimizer.setLearningRate(state.base_learning_rate);
  AIMASS_RETURN_IF_ERROR(status);
  AIMASS_RETURN_IF_ERROR(ended);
  result.stopped_by_callback = state.stop_requested;
  result.stop_reason = std::move(state.stop_reason);
  std::vector<float> scratch(x.size());
  result.value = objective.evaluateWithGradient(x, scratch);
  return result;
}

}  // namespace aimass
