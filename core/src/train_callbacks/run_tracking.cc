// SPDX-License-Identifier: Apache-2.0
#include "train_callbacks/run_tracking.h"

namespace aimass::core {

Status RunTracking::onStepEnd(TrainingState& state) {
  tracker_.step(state.global_step, state.batch_loss, state.learning_rate, state.samples_per_second);
  return Status();
}

Status RunTracking::onEpochEnd(TrainingState& state) {
  const std::uint64_t epoch = state.epoch + 1;
  if (state.epoch_rows > 0) {
    tracker_.log("train_loss", epoch, state.epoch_loss_sum / static_cast<double>(state.epoch_rows));
  }
  tracker_.log("epoch_seconds", epoch, state.epoch_seconds);
  if (state.val_loss) {
    tracker_.log("val_loss", epoch, *state.val_loss);
  }
  if (state.val_accuracy) {
    tracker_.log("val_accuracy", epoch, *state.val_accuracy);
  }
  return Status();
}

Status RunTracking::onRunEnd(TrainingState& state, Status& /*outcome*/) {
  if (state.stop_requested) {
    tracker_.artifact("stop_reason", state.stop_reason);
    tracker_.artifact("stopped_by", state.stopped_by);
  }
  return Status();
}

}  // namespace aimass::core
