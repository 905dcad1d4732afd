// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>

#include "aimass/training.h"

namespace aimass::core {

/// Scales every gradient by max_norm / norm when their global L2 norm exceeds `max_norm`, so
/// the norm becomes `max_norm` (PyTorch's clip_grad_norm_ adds 1e-6 to the norm; this does
/// not). Returns the norm before clipping (possibly non-finite; nothing is scaled then).
double clipGradientNorm(std::span<Parameter> parameters, double max_norm);

/// job.train's clip_grad_norm as a callback: after the backward pass it clips the gradients
/// to `max_norm` (clipGradientNorm) and fails the run with kInvalidArgument, naming the epoch
/// and step, when their norm is not finite. Allocates nothing per step.
class GradientClipping final : public TrainingCallback {
 public:
  explicit GradientClipping(double max_norm) : max_norm_(max_norm) {}

  Status onGradients(TrainingState& state) override;

 private:
  double max_norm_;
};

}  // namespace aimass::core
