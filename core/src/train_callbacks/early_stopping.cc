// SPDX-License-Identifier: Apache-2.0
#include "train_callbacks/early_stopping.h"

namespace aimass::core {

Status EarlyStopping::onValidationEnd(TrainingState& state) {
  if (!state.val_loss) {
    return Status();
  }
  if (!minimise() && !state.val_accuracy) {
    return invalidArgument("early stopping monitors val_accuracy, but model '" + model_name_ +
                           "' gives no class labels to score: monitor val_loss instead");
  }
  const double figure = minimise() ? *state.val_loss : *state.val_accuracy;
  if (minimise() ? figure < best_ : figure > best_) {
    best_ = figure;
    best_epoch_ = state.epoch + 1;
    stale_epochs_ = 0;
  } else if (++stale_epochs_ >= patience_) {
    state.requestStop("early stopping after epoch " + std::to_string(state.epoch + 1) + ": " +
                      monitorName(monitor_) + " has not improved for " +
                      std::to_string(stale_epochs_) + " epochs (best " + formatFigure(best_) +
                      " at epoch " + std::to_string(best_epoch_) +
                      "); keeping the last epoch's model");
  }
  return Status();
}

}  // namespace aimass::core
