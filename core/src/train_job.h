// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "aimass/dataset.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"

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
  std::shared_ptr<GradientOptimizer> optimizer;  ///< required for gradient-trained models
  std::shared_ptr<Storage> storage;              ///< null: the model is not saved
};

/// The built-in `job.train` node: trains one model on one dataset and saves it.
///
/// Models that train themselves (SelfTraining) get one fit() call. Models trained by gradients
/// get epochs of shuffled mini-batches: forwardBackward() then the optimizer's step(), with a
/// held-out validation split evaluated (loss, and accuracy for classifiers) after every epoch.
/// A non-finite loss or an invalid label stops training with kInvalidArgument; a stop request
/// (SIGINT/SIGTERM) stops it with kCancelled within one batch. In both cases nothing is saved.
///
/// Before every step the job sets the optimizer's learning rate from the schedule and warm-up
/// (scheduledLearningRate, with the optimizer's rate at the start of run() as the base; the
/// base is restored when run() returns) and, with clip_grad_norm, clips the gradients. With
/// early_stopping_patience P, training ends after the first epoch whose monitored validation
/// figure has not improved (strictly) on the best for P epochs in a row; the model of that
/// last epoch is kept and saved, not the best one.
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

 private:
  TrainJob(std::string name, TrainTargets targets, TrainOptions options);

  Status runSelfTraining(Host& host, JobProgress& progress, SelfTraining& training);
  Status runGradientTraining(Host& host, JobProgress& progress, GradientTraining& training);

  /// Saves the model and, with register_version, registers it (logging its version).
  Status saveAndRegister(Host& host);

  std::string name_;
  TrainTargets targets_;
  TrainOptions options_;
  /// The last epoch's loss, val_loss and val_accuracy (those measured), or the fit's objective;
  /// recorded with the registered version.
  std::map<std::string, double> final_metrics_;
};

/// The `job.train` node type: parameters, documentation and factory.
NodeType trainJobNodeType();

}  // namespace aimass::core
