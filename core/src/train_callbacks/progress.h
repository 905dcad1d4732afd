// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "aimass/job.h"
#include "aimass/training.h"

namespace aimass::core {

/// job.train's progress display as a callback: one phase per epoch ("epoch 2/5", one unit per
/// batch) updated after every step with the epoch's mean loss, samples/s (and lr when
/// `show_rate`), ended with a summary: loss, epoch_s (the epoch's training time without
/// validation, which bench/run.sh reads), samples/s, val_loss, val_accuracy, lr. A run that
/// ends inside an epoch ends its phase with "failed", "stopped at epoch E/N" or "stopped while
/// validating epoch E/N".
/// Lifetime: must not outlive `progress`.
class ProgressReport final : public TrainingCallback {
 public:
  ProgressReport(JobProgress& progress, bool show_rate)
      : progress_(progress), show_rate_(show_rate) {}

  Status onEpochBegin(TrainingState& state) override;
  Status onStepEnd(TrainingState& state) override;
  Status onEpochEnd(TrainingState& state) override;
  Status onRunEnd(TrainingState& state, Status& outcome) override;

 private:
  JobProgress& progress_;
  bool show_rate_;
  bool in_epoch_ = false;
  std::uint64_t timed_rows_ = 0;  ///< rows stepped on in this epoch by this process
};

}  // namespace aimass::core
