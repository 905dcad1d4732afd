// SPDX-License-Identifier: Apache-2.0
#pragma once

// callback.freeze — the narrated example training callback.
//
// It freezes some of a model's parameters (fine-tuning a head on a frozen body) by zeroing their
// gradients before every optimizer step, and can end the run once the validation loss reaches a
// target. Two hooks show the two things only a callback can do: replace gradients, and stop a
// run with a reason. Read minimal.h, minimal.cc and plugin.cc; the comments number the steps.
//
// Step 1: a callback derives from aimass::TrainingCallback and overrides only the hooks it
// needs; the others do nothing. job.train calls them on its training thread, in the order
// aimass/training.h describes, with one TrainingState it owns.

#include <cstddef>
#include <string>
#include <vector>

#include "aimass/training.h"

namespace aimass::plugins::callback {

/// Zeroes the gradients of the parameters named in `frozen` before every optimizer step, so
/// those parameters keep their values (with an optimizer without weight decay or momentum left
/// over from earlier steps). With `stop_at_val_loss` > 0, asks the run to stop after the first
/// validation whose loss is at or below it.
///
/// Failure: a name that matches no parameter of the model fails the run in onRunBegin, before
/// any step. Threading: the training thread of one run at a time. The step hook allocates
/// nothing.
class Freeze final : public TrainingCallback {
 public:
  Freeze(std::vector<std::string> frozen, double stop_at_val_loss)
      : frozen_(std::move(frozen)), stop_at_val_loss_(stop_at_val_loss) {}

  Status onRunBegin(TrainingState& state) override;
  Status onGradients(TrainingState& state) override;
  Status onValidationEnd(TrainingState& state) override;

 private:
  std::vector<std::string> frozen_;
  double stop_at_val_loss_;
  std::vector<std::size_t> indices_;  ///< positions in state.parameters, found in onRunBegin
};

}  // namespace aimass::plugins::callback
