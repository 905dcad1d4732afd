// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "aimass/training.h"
#include "train_options.h"

namespace aimass::core {

/// job.train's early stopping as a callback. After every validation pass it compares the
/// monitored figure with the best so far; after `patience` epochs in a row without a strict
/// improvement it asks the run to stop, with a reason naming the figure, the best value and
/// its epoch. The last epoch's model is kept, not the best. Monitoring val_accuracy of a model
/// that gives no class labels fails the run with kInvalidArgument.
///
/// Its state (best, best epoch, stale epochs) travels in checkpoints: Checkpointing reads it,
/// a resumed run restores it.
class EarlyStopping final : public TrainingCallback {
 public:
  EarlyStopping(std::uint64_t patience, Monitor monitor, std::string model_name)
      : patience_(patience), monitor_(monitor), model_name_(std::move(model_name)) {}

  Status onValidationEnd(TrainingState& state) override;

  double best() const noexcept { return best_; }
  std::uint64_t bestEpoch() const noexcept { return best_epoch_; }  ///< 1-based; 0: none yet
  std::uint64_t staleEpochs() const noexcept { return stale_epochs_; }
  /// Continues from a checkpoint's state.
  void restore(double best, std::uint64_t best_epoch, std::uint64_t stale_epochs) {
    best_ = best;
    best_epoch_ = best_epoch;
    stale_epochs_ = stale_epochs;
  }

 private:
  bool minimise() const noexcept { return monitor_ == Monitor::kValLoss; }

  std::uint64_t patience_;
  Monitor monitor_;
  std::string model_name_;
  double best_ = monitor_ == Monitor::kValLoss ? INFINITY : -INFINITY;
  std::uint64_t best_epoch_ = 0;
  std::uint64_t stale_epochs_ = 0;
};

}  // namespace aimass::core
