// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/storage.h"
#include "aimass/training.h"
#include "train_callbacks/early_stopping.h"

namespace aimass::core {

/// What Checkpointing writes and where. Everything referenced must outlive the callback.
struct CheckpointTarget {
  Host* host = nullptr;
  std::string job;  ///< the job's node name: logs and the key (checkpointKey(job))
  Storage* storage = nullptr;
  std::string fingerprint;  ///< the run's configuration fingerprint (see TrainJob)
  std::uint64_t every = 1;  ///< epochs between two checkpoints, >= 1
  Model* model = nullptr;
  std::string model_name;
  std::string model_type;
  GradientOptimizer* optimizer = nullptr;
  const EarlyStopping* early_stopping = nullptr;  ///< null: the run has none
  /// The last epoch's figures (TrainJob's final metrics), recorded with the checkpoint.
  const std::map<std::string, double>* metrics = nullptr;
  /// The plugin callbacks (job.train's `callbacks:`) whose saveState() each checkpoint records,
  /// by node name, in config order.
  std::vector<std::pair<std::string, const TrainingCallback*>> callbacks;
};

/// job.train's checkpoints as a callback (see TrainJob for the record and resuming). After
/// every `every`-th epoch, unless it is the last or the run was asked to stop (the model is
/// saved next), it writes where the run stands; a write error fails the run. When the run ends
/// on a stop request (kCancelled) it writes the position it stopped at and says so in the
/// outcome's message, or why it could not. A failed run writes nothing, so the last good
/// checkpoint stays.
class Checkpointing final : public TrainingCallback {
 public:
  explicit Checkpointing(CheckpointTarget target);

  Status onEpochEnd(TrainingState& state) override;
  Status onRunEnd(TrainingState& state, Status& outcome) override;

 private:
  /// Writes the position: in `epoch` (0-based) after `step` of its batches.
  Status write(const TrainingState& state, std::uint64_t epoch, std::uint64_t step, double loss_sum,
               std::uint64_t rows);

  CheckpointTarget target_;
  std::string key_;
};

}  // namespace aimass::core
