// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/training.h"
#include "train_data_parallel.h"

namespace aimass::core {

/// Fisher-Yates with our own index draw: std::shuffle and the standard distributions differ
/// between standard libraries, and a seed must give the same order everywhere.
void shuffleRows(std::vector<std::uint64_t>& rows, std::uint64_t seed);

/// Rows held out for validation, chosen once from a seeded permutation and never trained on,
/// and the rows trained on; both sorted.
struct RowSplit {
  std::vector<std::uint64_t> train;
  std::vector<std::uint64_t> validation;
};

RowSplit splitRows(std::uint64_t total_rows, double validation_fraction, std::uint64_t seed);

/// "NaN" or "infinite".
std::string nonFiniteName(double v);

/// A callback as the loop calls it: the name errors and stop reasons carry.
struct CallbackEntry {
  std::string_view name;
  TrainingCallback* callback;
};

/// onRunEnd on every callback; an error replaces an OK outcome and is logged otherwise.
void endRun(std::span<const CallbackEntry> callbacks, TrainingState& state, Status& outcome,
            Host& host, const std::string& job);

/// What the loop needs to read and check batches.
struct LoopData {
  const Dataset* dataset = nullptr;
  std::string dataset_name;
  const Dataset* validation_dataset = nullptr;  ///< the dataset rows->validation index
  std::string validation_name;
  std::string model_name;
  RowSplit* rows = nullptr;
  std::uint64_t batch_size = 1;  ///< rows per step on each rank
  bool shuffle = true;
  std::uint64_t seed = 0;
  std::size_t num_classes = 0;  ///< > 0: class labels are checked against it
  bool accuracy_possible = false;
  /// Whether the model's mistakes on a NaN input should be explained by missing values (false
  /// for a model with its own preprocessing, which sees the raw rows).
  bool hint_missing_values = true;
  std::vector<std::string> text_names;  ///< the data's text columns (Batch::strings)
  DataParallel* parallel = nullptr;     ///< the ranks; never null
};

/// The training loop: epochs of batches, forward/backward, optimizer step, validation, and the
/// callbacks' hooks at the points training.h names. Everything else is a callback.
///
/// Positions: an epoch walks its shuffled order of the training rows; each step takes the next
/// global batch (batch_size rows on each of the ranks, see batchSlice()) and every rank steps
/// with the global batch's mean gradient. The loop starts at state.epoch with
/// state.epoch_rows rows of that epoch's order already trained on (0 for a new run; a resumed
/// run's position, whatever the number of ranks that wrote it).
///
/// Several ranks (data.parallel->distributed()): every rank runs this loop and its callbacks;
/// a stop request (SIGINT/SIGTERM) on any rank, or a requestStop() of any rank's callbacks,
/// stops all of them at the same step; validation is shared out and its figures summed, so
/// every rank sees the same val_loss.
class GradientLoop {
 public:
  GradientLoop(Host& host, Model& model, GradientTraining& training, GradientOptimizer& optimizer,
               LoopData data, std::span<const CallbackEntry> callbacks,
               std::map<std::string, double>& metrics);

  /// Trains from state.epoch / state.epoch_rows to the end or a stop.
  Status run(TrainingState& state);

  std::uint64_t epochsDone() const noexcept { return epochs_done_; }

 private:
  Status runEpoch(TrainingState& state, std::size_t position);
  Status step(TrainingState& state, std::size_t& position);
  /// Reads this rank's rows and runs forward/backward; `loss` is their mean (0 without rows).
  Status forwardBackward(TrainingState& state, std::span<const std::uint64_t> rows, double& loss);
  /// Ends the run on every rank when any asked to stop (a callback's requestStop()).
  Status agreeOnStop(TrainingState& state);
  Status validate(TrainingState& state);
  Status cancelledAt(const TrainingState& state) const;

  Host& host_;
  Model& model_;
  GradientTraining& training_;
  GradientOptimizer& optimizer_;
  LoopData data_;
  DataParallel& parallel_;
  std::span<const CallbackEntry> callbacks_;
  std::map<std::string, double>& metrics_;
  std::uint64_t epochs_done_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t timed_rows_ = 0;  ///< rows stepped on since started_, for samples/s
  Batch batch_;
  Batch validation_batch_;
  TensorMap inputs_;
  TensorMap outputs_;
};

}  // namespace aimass::core
