// SPDX-License-Identifier: Apache-2.0
#include "minimal.h"

#include <cstdio>

namespace aimass::plugins::callback {

// Step 2: onRunBegin does the searching and allocating, once. It runs again for every run (and
// after a resume, whose model may hand out new buffers), so it starts from scratch and keeps
// positions, never pointers into the state.
Status Freeze::onRunBegin(TrainingState& state) {
  indices_.clear();
  for (const std::string& name : frozen_) {
    std::size_t found = state.parameters.size();
    for (std::size_t i = 0; i < state.parameters.size(); ++i) {
      if (state.parameters[i].name == name) {
        found = i;
      }
    }
    if (found == state.parameters.size()) {
      std::string known;
      for (const Parameter& p : state.parameters) {
        known += (known.empty() ? "" : ", ") + p.name;
      }
      return invalidArgument("the model has no parameter '" + name + "' (it has: " + known + ")");
    }
    indices_.push_back(found);
  }
  return Status();
}

// Step 3: onGradients runs after the backward pass and before the optimizer step, about 500
// times an epoch on a small model: it must not allocate, search or do I/O. The gradients are
// the model's own buffers; writing them in place is the point of this hook.
Status Freeze::onGradients(TrainingState& state) {
  for (std::size_t index : indices_) {
    for (float& g : state.parameters[index].grad.span<float>()) {
      g = 0;
    }
  }
  return Status();
}

// Step 4: onValidationEnd sees the epoch's validation figures. requestStop() ends the run
// successfully (the model is saved as it stands); the reason is logged and tracked, so say
// what happened in words a user reads.
Status Freeze::onValidationEnd(TrainingState& state) {
  if (stop_at_val_loss_ > 0 && state.val_loss && *state.val_loss <= stop_at_val_loss_) {
    char figures[96];
    std::snprintf(figures, sizeof(figures), "val_loss %.4f reached the target %.4f",
                  *state.val_loss, stop_at_val_loss_);
    state.requestStop(std::string(figures) + " after epoch " + std::to_string(state.epoch + 1));
  }
  return Status();
}

}  // namespace aimass::plugins::callback
