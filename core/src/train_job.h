// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "aimass/dataset.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"

namespace aimass::core {

/// How a TrainJob trains: the job.train parameters after validation.
struct TrainOptions {
  std::uint64_t epochs = 10;
  std::uint64_t batch_size = 32;
  std::uint64_t seed = 0;
  bool shuffle = true;
  double validation_fraction = 0;  ///< share of rows held out once, in [0, 0.9]
  std::string artifact_key;        ///< where to save the model; used only with a storage
};

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

  std::string name_;
  TrainTargets targets_;
  TrainOptions options_;
};

/// The `job.train` node type: parameters, documentation and factory.
NodeType trainJobNodeType();

}  // namespace aimass::core
