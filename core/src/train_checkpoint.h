// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// Where job.train stands mid-run: enough to continue a run bit for bit where it stopped.
///
/// Positions: the run is in 0-based epoch `epoch` and has taken `step` of its batches (0 at
/// an epoch boundary; all of them when it stopped while validating). The shuffles and the
/// validation split are recomputed from the seed, so they are not stored.
struct TrainCheckpoint {
  /// TrainJob's configuration fingerprint (see TrainJob); a checkpoint is only resumed by a
  /// run whose fingerprint is the same.
  std::string fingerprint;
  std::uint64_t epoch = 0;
  std::uint64_t step = 0;
  std::uint64_t total_steps = 0;  ///< optimizer steps over the whole run so far
  /// The running epoch's loss sum (weighted by rows) and rows, for its summary line.
  double epoch_loss_sum = 0;
  std::uint64_t epoch_samples = 0;
  /// Early stopping: the best monitored figure, its 1-based epoch, epochs since it improved.
  double best = 0;
  std::uint64_t best_epoch = 0;
  std::uint64_t stale_epochs = 0;
  /// The last finished epoch's figures (loss, val_loss, val_accuracy).
  std::vector<std::pair<std::string, double>> metrics;
  /// The model as Model::save() wrote it, with its type and format version.
  std::string model_type;
  std::uint32_t model_format_version = 0;
  std::string model_payload;
  /// GradientOptimizer::saveState().
  std::string optimizer_state;
  /// TrainingCallback::saveState() of each plugin callback (job.train's `callbacks:`), by node
  /// name, in config order. Empty in a format 1 checkpoint, which predates them.
  std::vector<std::pair<std::string, std::string>> callback_states;
};

/// The storage key of job `job`'s checkpoint: "checkpoints/<job>".
std::string checkpointKey(std::string_view job);

/// The checkpoint as bytes: the model artifact envelope (magic, version, CRC-32, see
/// model_artifact.h) with type "job.train checkpoint" around a little-endian body.
std::string encodeTrainCheckpoint(const TrainCheckpoint& checkpoint);

/// Parses encodeTrainCheckpoint()'s bytes, of this format or format 1. kDataLoss for truncated or corrupt bytes (the
/// checksum catches any flipped bit), kInvalidArgument for bytes that are not a checkpoint or
/// come from a newer format; the message says which.
Expected<TrainCheckpoint> decodeTrainCheckpoint(std::string_view bytes);

/// Writes the checkpoint under `key` through one BlobWriter commit, so a reader (or a run
/// after a crash at any moment) sees the previous checkpoint or this one, never a mix.
Status writeTrainCheckpoint(Storage& storage, std::string_view key,
                            const TrainCheckpoint& checkpoint);

/// Reads and decodes the checkpoint under `key`; kNotFound when there is none.
Expected<TrainCheckpoint> readTrainCheckpoint(const Storage& storage, std::string_view key);

}  // namespace aimass::core
