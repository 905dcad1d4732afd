// SPDX-License-Identifier: Apache-2.0
#include "train_callbacks/progress.h"

#include <cmath>
#include <string>

#include "train_options.h"

namespace aimass::core {
namespace {

std::string epochLabel(const TrainingState& state) {
  return std::to_string(state.epoch + 1) + "/" + std::to_string(state.epochs);
}

double epochLoss(const TrainingState& state) {
  return state.epoch_loss_sum / static_cast<double>(state.epoch_rows);
}

}  // namespace

Status ProgressReport::onEpochBegin(TrainingState& state) {
  progress_.begin("epoch " + epochLabel(state), state.steps_per_epoch);
  in_epoch_ = true;
  timed_rows_ = 0;
  return Status();
}

Status ProgressReport::onStepEnd(TrainingState& state) {
  timed_rows_ += state.batch_rows;
  if (show_rate_) {
    progress_.update(state.step + 1, {{"loss", epochLoss(state)},
                                      {"samples/s", state.samples_per_second},
                                      {"lr", state.learning_rate}});
  } else {
    progress_.update(state.step + 1,
                     {{"loss", epochLoss(state)}, {"samples/s", state.samples_per_second}});
  }
  return Status();
}

Status ProgressReport::onEpochEnd(TrainingState& state) {
  // The host prints the phase ("epoch 3/30") before the summary, so it is not repeated.
  std::string summary =
      "loss=" + formatFigure(epochLoss(state)) + " epoch_s=" + formatFigure(state.epoch_seconds);
  if (state.epoch_seconds > 0 && timed_rows_ > 0) {
    // Throughput in the plain log too, where no bar shows it.
    summary += " samples/s=" +
               formatRate(std::round(static_cast<double>(timed_rows_) / state.epoch_seconds));
  }
  if (state.val_loss) {
    summary += " val_loss=" + formatFigure(*state.val_loss);
  }
  if (state.val_accuracy) {
    summary += " val_accuracy=" + formatFigure(*state.val_accuracy);
  }
  if (show_rate_) {
    summary += " lr=" + formatRate(state.learning_rate);
  }
  progress_.end(summary);
  in_epoch_ = false;
  return Status();
}

Status ProgressReport::onRunEnd(TrainingState& state, Status& outcome) {
  if (!in_epoch_) {
    return Status();
  }
  in_epoch_ = false;
  if (outcome.code() == StatusCode::kCancelled) {
    progress_.end((state.step < state.steps_per_epoch ? "stopped at epoch "
                                                      : "stopped while validating epoch ") +
                  epochLabel(state));
  } else {
    progress_.end(outcome.ok() ? "done" : "failed");
  }
  return Status();
}

}  // namespace aimass::core
