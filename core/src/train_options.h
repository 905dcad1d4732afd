// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace aimass::core {

/// How the learning rate moves over training (the optimizer's own rate is the base rate).
enum class LrSchedule {
  kConstant,  ///< the base rate throughout
  kStep,      ///< base * gamma^(floor(epoch / lr_step_epochs)), epoch 0-based
  kCosine,    ///< base * (1 + cos(pi * k / K)) / 2 over the K steps after warm-up, k from 0
};

/// Which validation figure early stopping watches.
enum class Monitor {
  kValLoss,      ///< lower is better
  kValAccuracy,  ///< higher is better; needs a classifier whose predict() gives "label"
};

/// What a TrainJob does with a checkpoint it finds in its storage when it starts.
enum class ResumeMode {
  kAuto,     ///< resume when the checkpoint's fingerprint matches; otherwise warn, start over
  kNever,    ///< always start over (the old checkpoint is replaced by the first new one)
  kRequire,  ///< resume, and fail when there is no checkpoint or it does not match
};

/// How a TrainJob trains: the job.train parameters after validation.
struct TrainOptions {
  std::uint64_t epochs = 10;
  std::uint64_t batch_size = 32;
  std::uint64_t seed = 0;
  bool shuffle = true;
  double validation_fraction = 0;  ///< share of rows held out once, in [0, 0.9]
  std::string artifact_key;        ///< where to save the model; used only with a storage
  /// With a storage: register the saved artifact as the next version of the model (named after
  /// the model's node) in the ModelRegistry on that storage. An empty artifact_key then
  /// defaults to a key of its own per run, models/<model>/artifacts/<unix-time-ns>.aimass, so
  /// versions never share an artifact. job.train's `register` parameter defaults to true.
  bool register_version = false;
  LrSchedule lr_schedule = LrSchedule::kConstant;
  std::uint64_t lr_step_epochs = 10;  ///< kStep: epochs between decays, >= 1
  double lr_gamma = 0.1;              ///< kStep: factor per decay, in (0, 1]
  std::uint64_t warmup_steps = 0;     ///< linear warm-up: step s < W uses (s + 1) / W of the rate
  double clip_grad_norm = 0;          ///< > 0: scale gradients to this global L2 norm at most
  std::uint64_t early_stopping_patience = 0;  ///< epochs without improvement; 0 = off
  Monitor monitor = Monitor::kValLoss;
  /// With a storage, gradient training writes a checkpoint every this many epochs (and when
  /// stopped by a request); 0 turns checkpoints off.
  std::uint64_t checkpoint_every = 1;
  ResumeMode resume = ResumeMode::kAuto;
  /// With a storage: record the run (params, per-step and per-epoch metrics, artifacts,
  /// status) in that storage's experiment tracking; see TrainRunTracker. job.train's `track`
  /// parameter defaults to true.
  bool track = false;
  std::string experiment;  ///< the tracked run's experiment; empty: see TrainRunTracker
  /// Transfer learning (see train_job_transfer.h): a registered model of the job's storage,
  /// "name", "name/3" or "name@alias", whose weights the prepared model starts from; empty:
  /// train from the model's own initialisation.
  std::string init_from;
  /// With init_from: the output layer (the last layer) keeps its fresh initialisation, so its
  /// shapes may follow a new class list.
  bool reinit_head = false;
  /// Layers whose parameters training leaves as they are: a name matched as a prefix of the
  /// parameter names ("fc1" -> fc1.weight, fc1.bias) or a layer index (from 0, in parameter
  /// order; a layer is the parameters sharing the text before the first '.').
  std::vector<std::string> freeze;
  /// Data-parallel training: multiply the optimizer's rate by the number of ranks (the linear
  /// scaling rule for a global batch of batch_size * ranks); pair it with warmup_steps.
  bool lr_scale_linear = false;
  /// Data-parallel training: gradients travel in all-reduce messages of at most this size.
  std::size_t gradient_bucket_bytes = std::size_t{4} << 20;
};

/// "val_loss" or "val_accuracy".
inline const char* monitorName(Monitor monitor) {
  return monitor == Monitor::kValLoss ? "val_loss" : "val_accuracy";
}

/// A loss or accuracy in messages and summaries: four decimals.
inline std::string formatFigure(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4f", v);
  return buffer;
}

/// A rate (learning rate, samples/s) in messages and summaries: six significant digits.
inline std::string formatRate(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", v);
  return buffer;
}

}  // namespace aimass::core
