// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "aimass/dataset.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"
#include "train_checkpoint.h"
#include "train_tracking.h"

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
};

/// The learning rate of global step `step` (0-based) in epoch `epoch` (0-based) of a run of
/// `total_steps` steps, for base rate `base`: the schedule's factor times the warm-up factor.
double scheduledLearningRate(const TrainOptions& options, double base, std::uint64_t step,
                             std::uint64_t epoch, std::uint64_t total_steps);

/// Scales every gradient by max_norm / norm when their global L2 norm exceeds `max_norm`, so
/// the norm becomes `max_norm` (PyTorch's clip_grad_norm_ adds 1e-6 to the norm; this does
/// not). Returns the norm before clipping (possibly non-finite; nothing is scaled then).
double clipGradientNorm(std::span<Parameter> parameters, double max_norm);

/// The nodes a TrainJob works on. The job shares ownership so they outlive it; the graph keeps
/// them alive anyway.
struct TrainTargets {
  std::shared_ptr<Model> model;
  std::string model_name;  ///< the model's node name, for messages
  std::string model_type;  ///< "model.softmax": the type recorded in the saved artifact
  std::shared_ptr<Dataset> dataset;
  std::string dataset_name;
  std::string dataset_type;  ///< "dataset.csv": recorded when the dataset is registered
  std::shared_ptr<GradientOptimizer> optimizer;  ///< required for gradient-trained models
  std::string optimizer_type;                    ///< "optimizer.adam": part of the fingerprint
  std::shared_ptr<Storage> storage;              ///< null: the model is not saved
};

/// The built-in `job.train` node: trains one model on one dataset and saves it.
///
/// Models that train themselves (SelfTraining) get one fit() call. Models trained by gradients
/// get epochs of shuffled mini-batches: forwardBackward() then the optimizer's step(), with a
/// held-out validation split evaluated (loss, and accuracy for classifiers) after every epoch.
/// A non-finite loss or an invalid label stops training with kInvalidArgument; a stop request
/// (SIGINT/SIGTERM) stops it with kCancelled within one batch. In both cases no model is saved
/// (a stop request writes a checkpoint, see below).
///
/// Before every step the job sets the optimizer's learning rate from the schedule and warm-up
/// (scheduledLearningRate, with the optimizer's rate at the start of run() as the base; the
/// base is restored when run() returns) and, with clip_grad_norm, clips the gradients. With
/// early_stopping_patience P, training ends after the first epoch whose monitored validation
/// figure has not improved (strictly) on the best for P epochs in a row; the model of that
/// last epoch is kept and saved, not the best one.
///
/// Checkpoints (gradient training with a storage and checkpoint_every > 0): after every
/// checkpoint_every-th epoch, and when a stop request ends the run mid-epoch, the job writes
/// one record under checkpointKey(name) (see train_checkpoint.h) holding the model, the
/// optimizer state, the position (epoch and step), the running epoch's loss and the early
/// stopping state. A failure (a non-finite loss, a bad label, a read error) writes nothing, so
/// the last good checkpoint stays as it was. When the run has saved its model the checkpoint
/// is removed, so the next run starts over. On start, resume (see ResumeMode) picks the run
/// up from a checkpoint whose fingerprint matches: a SHA-256 over the options that shape the
/// trajectory (epochs, batch_size, seed, shuffle, validation_fraction, schedule, clipping,
/// early stopping), the model's type and its payload right after prepare() (architecture,
/// hyper-parameters it saves, initial weights), the optimizer's type and its state right after
/// begin(), and the dataset's fingerprint, row count and schema. A resumed run continues the
/// same shuffles, steps and validation split, so with a model whose saved payload holds all of
/// its training state (model.mlp keeps its dropout stream's position) it ends with the same
/// bytes as an uninterrupted run.
///
/// Threading: run() is called once, on the host's main thread; it needs exclusive use of the
/// model and the optimizer while it runs.
class TrainJob final : public Job {
 public:
  /// Checks that the targets fit together (an optimizer of the gradient style exactly when the
  /// model trains by gradients); kInvalidArgument naming the problem otherwise.
  static Expected<std::unique_ptr<TrainJob>> create(std::string name, TrainTargets targets,
                                                    TrainOptions options);

  Status run(Host& host, JobProgress& progress) override;

  const TrainOptions& options() const noexcept { return options_; }

  /// Adds what the configuration knows to the tracked run: the default experiment (empty:
  /// keep) and params (see TrainRunTracker). Call before run().
  void addTrackingContext(std::string default_experiment,
                          const std::map<std::string, std::string>& params);

 private:
  TrainJob(std::string name, TrainTargets targets, TrainOptions options);

  /// run() without the tracking around it.
  Status runUntracked(Host& host, JobProgress& progress);
  Status runSelfTraining(Host& host, JobProgress& progress, SelfTraining& training);
  Status runGradientTraining(Host& host, JobProgress& progress, GradientTraining& training);

  /// The fingerprint described above, for data of `schema`, after prepare() and begin().
  Expected<std::string> fingerprint(const DatasetSchema& schema) const;
  /// Applies resume_ to the checkpoint in storage: the checkpoint to resume from, or none.
  Expected<std::optional<TrainCheckpoint>> findCheckpoint(Host& host,
                                                          const std::string& fingerprint);

  /// Saves the model and, with register_version, registers the dataset's content (a new
  /// dataset version only when the content is new) and the model version naming it.
  Status saveAndRegister(Host& host);

  std::string name_;
  TrainTargets targets_;
  TrainOptions options_;
  /// The last epoch's loss, val_loss and val_accuracy (those measured), or the fit's objective;
  /// recorded with the registered version.
  std::map<std::string, double> final_metrics_;
  TrainRunTracker tracker_;
};

/// The `job.train` node type: parameters, documentation and factory.
NodeType trainJobNodeType();

}  // namespace aimass::core
