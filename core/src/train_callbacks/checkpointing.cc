// SPDX-License-Identifier: Apache-2.0
#include "train_callbacks/checkpointing.h"

#include <cmath>
#include <utility>

#include "train_checkpoint.h"

namespace aimass::core {

Checkpointing::Checkpointing(CheckpointTarget target)
    : target_(std::move(target)), key_(checkpointKey(target_.job)) {}

Status Checkpointing::write(const TrainingState& state, std::uint64_t epoch, std::uint64_t step,
                            double loss_sum, std::uint64_t rows) {
  TrainCheckpoint checkpoint;
  checkpoint.fingerprint = target_.fingerprint;
  checkpoint.epoch = epoch;
  checkpoint.step = step;
  checkpoint.total_steps = state.global_step;
  checkpoint.epoch_loss_sum = loss_sum;
  checkpoint.epoch_samples = rows;
  if (target_.early_stopping) {
    checkpoint.best = target_.early_stopping->best();
    checkpoint.best_epoch = target_.early_stopping->bestEpoch();
    checkpoint.stale_epochs = target_.early_stopping->staleEpochs();
  } else {
    checkpoint.best = INFINITY;
  }
  checkpoint.metrics.assign(target_.metrics->begin(), target_.metrics->end());
  checkpoint.model_type = target_.model_type;
  checkpoint.model_format_version = target_.model->formatVersion();
  AIMASS_RETURN_IF_ERROR(
      guard("model save", [&] {
        return target_.model->save(checkpoint.model_payload);
      }).withContext("saving model '" + target_.model_name + "' for a checkpoint"));
  AIMASS_RETURN_IF_ERROR(target_.optimizer->saveState(checkpoint.optimizer_state)
                             .withContext("saving the optimizer's state for a checkpoint"));
  for (const auto& [name, callback] : target_.callbacks) {
    std::string bytes;
    AIMASS_RETURN_IF_ERROR(
        guard("callback '" + name + "'", [&] {
          return callback->saveState(bytes);
        }).withContext("saving the state of callback '" + name + "' for a checkpoint"));
    checkpoint.callback_states.emplace_back(name, std::move(bytes));
  }
  return writeTrainCheckpoint(*target_.storage, key_, checkpoint);
}

Status Checkpointing::onEpochEnd(TrainingState& state) {
  const std::uint64_t done = state.epoch + 1;
  if (state.stop_requested || done >= state.epochs || done % target_.every != 0) {
    return Status();
  }
  const std::string label = std::to_string(done) + "/" + std::to_string(state.epochs);
  AIMASS_RETURN_IF_ERROR(
      write(state, done, 0, 0, 0).withContext("checkpoint after epoch " + label));
  target_.host->log(LogLevel::kDebug, target_.job,
                    "checkpoint after epoch " + label + " written to '" + key_ + "'");
  return Status();
}

Status Checkpointing::onRunEnd(TrainingState& state, Status& outcome) {
  if (outcome.code() != StatusCode::kCancelled) {
    return Status();
  }
  Status written = write(state, state.epoch, state.step, state.epoch_loss_sum, state.epoch_rows);
  if (!written.ok()) {
    outcome = written.withContext(outcome.message() + "; its checkpoint could not be written");
    return Status();
  }
  // Logged as well: the host reports a cancelled job as just "cancelled".
  std::string message = outcome.message() + "; checkpoint '" + key_ + "' in " +
                        target_.storage->describe() + " written, run again to resume";
  target_.host->log(LogLevel::kInfo, target_.job, message);
  outcome = cancelled(std::move(message));
  return Status();
}

}  // namespace aimass::core
