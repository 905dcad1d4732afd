// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aimass/collective.h"
#include "aimass/dataset.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"
#include "aimass/training.h"
#include "aimass/core/serving.h"
#include "data_profile.h"
#include "train_callbacks/clipping.h"
#include "train_callbacks/early_stopping.h"
#include "train_callbacks/schedule.h"
#include "train_checkpoint.h"
#include "train_data_parallel.h"
#include "train_options.h"
#include "train_tracking.h"

namespace aimass::core {

class Graph;

/// The nodes a TrainJob works on. The job shares ownership so they outlive it; the graph keeps
/// them alive anyway.
struct TrainTargets {
  std::shared_ptr<Model> model;
  std::string model_name;  ///< the model's node name, for messages
  std::string model_type;  ///< "model.softmax": the type recorded in the saved artifact
  std::shared_ptr<Dataset> dataset;
  std::string dataset_name;
  std::string dataset_type;  ///< "dataset.csv": recorded when the dataset is registered
  /// job.train's `validation:`: every row of it is the validation set (validation_fraction
  /// must then be 0); null: the validation split of `dataset`, if any. Its schema must match
  /// the dataset's.
  std::shared_ptr<Dataset> validation;
  std::string validation_name;
  std::shared_ptr<GradientOptimizer> optimizer;  ///< required for gradient-trained models
  std::string optimizer_type;                    ///< "optimizer.adam": part of the fingerprint
  std::shared_ptr<Storage> storage;              ///< null: the model is not saved
  /// Plugin callbacks (job.train's `callbacks:`), called in this order between the schedule
  /// and clipping; each named after its node for errors and stop reasons.
  struct NamedCallback {
    std::string name;
    std::shared_ptr<TrainingCallback> callback;
    std::string type;  ///< "callback.freeze": part of the checkpoint fingerprint
  };
  std::vector<NamedCallback> callbacks;
  /// job.train's `collective:`: data-parallel training over its ranks (see DataParallel);
  /// null: one process.
  std::shared_ptr<Collective> collective;
};

/// The built-in `job.train` node: trains one model on one dataset and saves it.
///
/// Models that train themselves (SelfTraining) get one fit() call. Models trained by gradients
/// get epochs of shuffled mini-batches: forwardBackward() then the optimizer's step(), with a
/// held-out validation split, or every row of a separate validation dataset, evaluated (loss,
/// and accuracy for classifiers) after every epoch.
/// A non-finite loss or an invalid label stops training with kInvalidArgument; a stop request
/// (SIGINT/SIGTERM) stops it with kCancelled within one batch. In both cases no model is saved
/// (a stop request writes a checkpoint, see below).
///
/// The loop itself only reads, steps and validates; it calls TrainingCallback hooks
/// (aimass/training.h) at fixed points, and everything else is a callback in
/// train_callbacks/, added from the options in this order: the learning-rate schedule and
/// warm-up (scheduledLearningRate, with the optimizer's rate at the start of run() as the base;
/// the base is restored when run() returns), the plugin callbacks of `callbacks:`, gradient
/// clipping, early stopping (with early_stopping_patience P, training ends after the first
/// epoch whose monitored validation figure has not improved (strictly) on the best for P epochs
/// in a row; the model of that last epoch is kept and saved, not the best one), tracking,
/// progress and checkpoints. A callback's error ends the run with that error, prefixed with the
/// callback's name; a callback's stop request ends it successfully, with its reason logged and
/// tracked.
///
/// Transfer learning (train_job_transfer.h): with init_from, right after prepare() the model
/// takes the weights of a registered version of the same type (name and shape must match;
/// with reinit_head the output layer keeps its fresh values), and the version registered at
/// the end records it as its parent. Parameters named by `freeze` are left out of what the
/// optimizer gets (begin() and step()), so no optimizer moves them or keeps state for them.
///
/// Checkpoints (gradient training with a storage and checkpoint_every > 0): after every
/// checkpoint_every-th epoch, and when a stop request ends the run mid-epoch, the job writes
/// one record under checkpointKey(name) (see train_checkpoint.h) holding the model, the
/// optimizer state, the position (epoch and step), the running epoch's loss, the early
/// stopping state and each plugin callback's saveState(). A failure (a non-finite loss, a bad label, a read error) writes nothing, so
/// the last good checkpoint stays as it was. When the run has saved its model the checkpoint
/// is removed, so the next run starts over. On start, resume (see ResumeMode) picks the run
/// up from a checkpoint whose fingerprint matches: a SHA-256 over the options that shape the
/// trajectory (epochs, batch_size, seed, shuffle, validation_fraction, schedule, clipping,
/// early stopping, freeze), the plugin callbacks' names and types, the validation dataset's
/// fingerprint, row count and name when there is one, the model's type and its payload right
/// after prepare() and init_from (architecture,
/// hyper-parameters it saves, initial weights), the optimizer's type and its state right after
/// begin(), and the dataset's fingerprint, row count and schema. A resumed run continues the
/// same shuffles, steps and validation split, so with a model whose saved payload holds all of
/// its training state (model.mlp keeps its dropout stream's position) it ends with the same
/// bytes as an uninterrupted run.
///
/// Data-parallel training (a `collective` of several ranks, e.g. collective.mpi under mpirun):
/// every rank runs the job on the same configuration; each step trains on a global batch of
/// batch_size rows per rank (see batchSlice()) with the all-reduced mean gradient, so every
/// rank's model stays the same (rank 0's initial weights are broadcast first). Rank 0 alone
/// tracks, writes checkpoints, shows progress, saves and registers; the others train and
/// validate their share. Rank 0 reads the checkpoint and hands it to the others; positions
/// are kept in rows (state.epoch_rows), so a checkpoint written by N ranks resumes on M.
///
/// Threading: run() is called once, on the host's main thread; it needs exclusive use of the
/// model and the optimizer while it runs.
class TrainJob final : public Job {
 public:
  /// Checks that the targets fit together (an optimizer of the gradient style exactly when the
  /// model trains by gradients; a validation dataset only with validation_fraction 0 and with
  /// the training dataset's schema); kInvalidArgument naming the problem otherwise.
  static Expected<std::unique_ptr<TrainJob>> create(std::string name, TrainTargets targets,
                                                    TrainOptions options);

  Status run(Host& host, JobProgress& progress) override;

  const TrainOptions& options() const noexcept { return options_; }

  /// Adds what the configuration knows to the tracked run: the default experiment (empty:
  /// keep) and params (see TrainRunTracker). Call before run().
  void addTrackingContext(std::string default_experiment,
                          const std::map<std::string, std::string>& params);
  /// Adds a callback after those of `callbacks:` (job.tune's pruning in a trial). Call before
  /// run().
  void addCallback(TrainTargets::NamedCallback callback);
  /// The tracked run of the last run(); 0 when tracking is off.
  std::int64_t runId() const noexcept { return tracker_.runId(); }
  /// The final epoch's figures of the last run() (val_loss, val_accuracy, train_loss).
  const std::map<std::string, double>& finalMetrics() const noexcept { return final_metrics_; }
  /// How init_from makes the fresh model it loads the saved version into (the host sets it
  /// from its node types, see attachTrainModelFactory()). Call before run().
  void setModelFactory(ModelFactory factory) { model_factory_ = std::move(factory); }
  /// Takes a model another process trained (job.tune's best trial): loads the artifact under
  /// `key` of the job's storage into the job's model node, and with `register_version`
  /// registers it as the model's next version with `metrics`, as a run of this job would
  /// (with init_from, the parent recorded is the version that reference names now).
  Status adopt(Host& host, const std::string& key, const std::map<std::string, double>& metrics,
               bool register_version);
  /// The profile of the last run's training rows (data_profile.h), saved beside the artifact
  /// as "<artifact>.profile" and named by the registered version; null before a run, on ranks
  /// other than 0, for data it cannot profile (logged), and after adopt().
  std::shared_ptr<const DataProfile> profile() const noexcept { return profile_; }
  /// The model node it trains.
  const std::string& modelName() const noexcept { return targets_.model_name; }

 private:
  TrainJob(std::string name, TrainTargets targets, TrainOptions options);

  /// run() without the tracking around it.
  Status runUntracked(Host& host, JobProgress& progress);
  Status runSelfTraining(Host& host, JobProgress& progress, SelfTraining& training);
  /// The gradient loop (GradientLoop in train_job.cc) with the callbacks the options ask for.
  Status runGradientTraining(Host& host, JobProgress& progress, GradientTraining& training);
  /// Restores the model, the optimizer, the shuffles, the position (into `state`), the
  /// early-stopping state and the plugin callbacks' states from a matching checkpoint.
  Status resumeFrom(Host& host, GradientTraining& training, TrainCheckpoint& checkpoint,
                    const std::string& fingerprint, std::vector<Parameter>& parameters,
                    std::vector<std::uint64_t>& train_rows, TrainingState& state,
                    EarlyStopping* early_stopping);
  /// Hands each plugin callback its saved state (TrainingCallback::loadState()).
  Status restoreCallbacks(const TrainCheckpoint& checkpoint, const std::string& where);

  /// init_from and freeze, right after prepare(): copies the registered version's weights into
  /// the model (remembering it as parent_), then works out frozen_.
  Status startTransfer(Host& host, GradientTraining& training);
  /// training.parameters() without the frozen ones: what the optimizer steps.
  std::vector<Parameter> trainable(GradientTraining& training) const;

  /// The fingerprint described above, for data of `schema`, after prepare() and begin().
  Expected<std::string> fingerprint(const DatasetSchema& schema) const;
  /// Applies resume_ to the checkpoint in storage: the checkpoint to resume from, or none.
  /// Several ranks: rank 0 finds the checkpoint (findCheckpoint()) and hands it to the others,
  /// so every rank resumes from the same one even when only rank 0 can read the storage.
  Expected<std::optional<TrainCheckpoint>> shareCheckpoint(Host& host,
                                                           const std::string& fingerprint);
  Expected<std::optional<TrainCheckpoint>> findCheckpoint(Host& host,
                                                          const std::string& fingerprint);

  /// Saves the model and, with register_version, registers the dataset's content (a new
  /// dataset version only when the content is new) and the model version naming it.
  Status saveAndRegister(Host& host);
  /// Registers the dataset's content and the model saved under `key` as the next version.
  Status registerVersion(Host& host, const std::string& key);
  /// Profiles the training rows `rows` into profile_ (rank 0 only), in one pass over them;
  /// data it cannot profile leaves none and is logged (train_job_profile.cc).
  void profileTraining(Host& host, const std::vector<std::uint64_t>& rows);
  /// Saves profile_ beside the artifact saved under `key`; its key, or empty when none.
  Expected<std::string> saveProfile(const std::string& key);

  std::string name_;
  TrainTargets targets_;
  TrainOptions options_;
  /// The last epoch's loss, val_loss and val_accuracy (those measured), or the fit's objective;
  /// recorded with the registered version.
  std::map<std::string, double> final_metrics_;
  TrainRunTracker tracker_;
  ModelFactory model_factory_;
  std::string parent_;        ///< "NAME/VERSION" init_from resolved to; empty: none
  std::vector<bool> frozen_;  ///< per parameter of the prepared model; empty: none frozen
  std::unique_ptr<DataParallel> parallel_;  ///< the ranks (one without a collective)
  std::shared_ptr<const DataProfile> profile_;  ///< the last run's training rows; null: none
  std::string profile_key_;                     ///< where saveAndRegister() saved it
};

/// The `job.train` node type: parameters, documentation and factory.
NodeType trainJobNodeType();

/// The training-data profiles the job.train nodes of `graph` made, by the model node they
/// trained (when several trained one model, the last in graph order that made one); what the
/// runtime serves the graph's models with.
std::map<std::string, std::shared_ptr<const DataProfile>> trainedProfiles(const Graph& graph);

}  // namespace aimass::core
