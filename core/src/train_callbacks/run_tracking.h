// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "aimass/training.h"
#include "train_tracking.h"

namespace aimass::core {

/// job.train's experiment tracking as a callback: per optimizer step loss, learning_rate and
/// samples_per_second (step = the global step from 1); per epoch train_loss, epoch_seconds and
/// val_loss / val_accuracy when measured (step = the epoch from 1); when a callback stopped
/// the run, its reason and name as the run's "stop_reason" and "stopped_by" artifacts. The
/// tracker buffers the points, so the step hook does no I/O.
/// Lifetime: must not outlive `tracker`.
class RunTracking final : public TrainingCallback {
 public:
  explicit RunTracking(TrainRunTracker& tracker) : tracker_(tracker) {}

  Status onStepEnd(TrainingState& state) override;
  Status onEpochEnd(TrainingState& state) override;
  Status onRunEnd(TrainingState& state, Status& outcome) override;

 private:
  TrainRunTracker& tracker_;
};

}  // namespace aimass::core
