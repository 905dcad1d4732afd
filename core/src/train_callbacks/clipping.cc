// SPDX-License-Identifier: Apache-2.0
#include "train_callbacks/clipping.h"

#include <cmath>
#include <string>

namespace aimass::core {

double clipGradientNorm(std::span<Parameter> parameters, double max_norm) {
  double sum = 0;
  for (const auto& p : parameters) {
    for (float g : p.grad.span<float>()) {
      sum += double(g) * g;
    }
  }
  const double norm = std::sqrt(sum);
  if (std::isfinite(norm) && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / norm);
    for (auto& p : parameters) {
      for (float& g : p.grad.span<float>()) {
        g *= scale;
      }
    }
  }
  return norm;
}

Status GradientClipping::onGradients(TrainingState& state) {
  const double norm = clipGradientNorm(state.parameters, max_norm_);
  if (!std::isfinite(norm)) {
    return invalidArgument(
        std::string("gradient norm became ") + (std::isnan(norm) ? "NaN" : "infinite") +
        " at epoch " + std::to_string(state.epoch + 1) + " step " + std::to_string(state.step + 1));
  }
  return Status();
}

}  // namespace aimass::core
