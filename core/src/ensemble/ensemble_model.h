// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/serving.h"
#include "aimass/core/type_registry.h"
#include "aimass/dataset.h"
#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/tensor.h"

namespace aimass::core {

/// How model.ensemble combines its members.
enum class EnsembleMethod : std::uint32_t {
  kSoftVote = 0,  ///< classification: weighted mean of the members' probabilities
  kHardVote = 1,  ///< classification: weighted majority of the members' labels
  kAverage = 2,   ///< regression: weighted mean of the members' predictions
  kStack = 3,     ///< the meta model, trained on out-of-fold member outputs, decides
};

/// "soft_vote", "hard_vote", "average", "stack".
std::string_view ensembleMethodName(EnsembleMethod method);
/// The method named `name`; kInvalidArgument listing the four names otherwise.
Expected<EnsembleMethod> parseEnsembleMethod(std::string_view name);

/// One member model (or the meta model) of an ensemble.
struct EnsembleMember {
  std::string name;  ///< graph node name, or the registry reference ("iris@prod")
  std::string type;  ///< "model.softmax": recorded in the artifact, to remake it on load()
  std::shared_ptr<Model> model;
  bool frozen = false;  ///< taken from the registry: fit() predicts with it, never trains it
};

/// What fit() needs from the host to train members: gradient-trained members (and meta
/// models) go through a job.train loop (TrainJob) with this optimizer, epochs and batch size;
/// registered members are read from `storage`'s model registry.
struct EnsembleTrainer {
  Host* host = nullptr;  ///< null: only self-training members can be trained
  std::shared_ptr<GradientOptimizer> optimizer;
  std::string optimizer_type;
  std::uint64_t epochs = 10;
  std::uint64_t batch_size = 32;
  std::shared_ptr<Storage> storage;     ///< for `registered`
  std::vector<std::string> registered;  ///< "NAME@ALIAS" / "NAME/VERSION", after the graph members
  ModelFactory factory;                 ///< remakes members by type (registered, load())
};

/// The settings of an ensemble that its artifact keeps.
struct EnsembleSettings {
  EnsembleMethod method = EnsembleMethod::kSoftVote;
  std::vector<double> weights;        ///< one per member (graph members, then registered); empty: 1
  std::uint64_t folds = 5;            ///< stacking's k
  std::optional<std::uint64_t> seed;  ///< empty: fit()'s seed
  bool passthrough = false;           ///< stacking: the meta model also sees the original features
};

/// The built-in `model.ensemble`: a model made of other models (see docs/pipelines.md).
///
/// fit() trains the graph members on every row (gradient members through TrainJob with the
/// trainer's optimizer, self-training ones through their own fit()), loads registered members
/// from the registry without training them, and for kStack first trains the meta model on the
/// members' out-of-fold outputs: the rows are shuffled (seeded) into `folds` folds, and for
/// each fold every graph member is trained on the other folds and predicts the held-out one
/// (registered members just predict). The out-of-fold models are the member nodes themselves,
/// retrained for each fold (prepare() and fit() start over), so their hyper-parameters are the
/// configured ones; the last training is on all rows. Member i trains with seed + i (the
/// ensemble's seed, or fit()'s), the meta model with seed + members, so members of one type
/// still differ. Members must share the task
/// (classification or regression), the class list and the input; errors name the member.
///
/// After training, fit() reports the ensemble's mean loss on the training rows to the observer
/// (job.train logs and registers it as `objective`).
///
/// predict() runs every member on the same inputs and combines the outputs as the method says
/// (ties of a vote go to the lowest class index); outputs follow the task's convention:
/// "probabilities", "label", "class" or "prediction".
///
/// save() writes one payload holding the settings and, for every member and the meta model,
/// its name, type, format version and payload; load() remakes them by type through the
/// factory and commits only when all of them loaded.
///
/// Threading: predict() is const and safe from many threads (members' predict() is); fit()
/// and load() need exclusive access.
class EnsembleModel final : public Model, public SelfTraining {
 public:
  EnsembleModel(EnsembleSettings settings, std::vector<EnsembleMember> members,
                std::optional<EnsembleMember> meta, EnsembleTrainer trainer);

  ModelSchema schema() const override;
  bool ready() const override { return ready_; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  SelfTraining* selfTraining() override { return this; }
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override;
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// The fitted state: members (graph ones, then registered), meta model, task and classes.
  /// Exposed for the stacking helpers of stacking.cc.
  struct Fitted {
    std::vector<EnsembleMember> members;
    std::optional<EnsembleMember> meta;
    Task task = Task::kOther;
    std::vector<std::string> class_names;
    std::int64_t outputs = 0;  ///< classes, or regression targets
    std::vector<TensorSpec> inputs;
  };

 private:
  /// Trains (or retrains) one graph member or the meta model on `data`.
  Status train(const EnsembleMember& member, const Dataset& data, std::uint64_t seed,
               FitObserver& observer) const;
  /// The registered members, loaded from the trainer's storage.
  Expected<std::vector<EnsembleMember>> loadRegistered() const;
  /// Stacking: the meta model trained on out-of-fold outputs of `members` on `data`.
  Status fitMeta(const Dataset& data, const Fitted& fitted, std::uint64_t seed,
                 FitObserver& observer, std::uint64_t& step) const;
  /// Checks the member count, the weights, the method and the meta model against fitted.task,
  /// and each member's task: only registered ones unless `trained` (before training, a model
  /// may not know its task yet).
  Status checkTasks(Fitted& fitted, bool trained) const;
  /// checkTasks(), then that the trained members agree (classes, input, outputs); fills the
  /// rest of `fitted`.
  Status describe(Fitted& fitted) const;
  /// The fitted ensemble's mean loss on `data`: the negative log of the true class's
  /// probability (classification) or half the squared error summed over targets (regression).
  Expected<double> trainingLoss(const Dataset& data) const;
  Status combine(const Fitted& fitted, const std::vector<TensorMap>& member_outputs,
                 const Tensor& input, TensorMap& outputs) const;

  EnsembleSettings settings_;
  std::vector<EnsembleMember> graph_members_;
  std::optional<EnsembleMember> graph_meta_;
  EnsembleTrainer trainer_;
  Fitted fitted_;
  bool ready_ = false;
};

/// Every member's outputs for `inputs` (in order), each checked for the task's outputs.
Expected<std::vector<TensorMap>> predictMembers(const std::vector<EnsembleMember>& members,
                                                Task task, const TensorMap& inputs);
/// The meta model's input row for each row: the members' probabilities (classification) or
/// predictions (regression), concatenated in member order, then with `input` (FP32
/// {rows, features}) when not null (passthrough). FP32 {rows, width}.
Tensor stackFeatures(const std::vector<TensorMap>& member_outputs, Task task, const Tensor* input);

/// The built-in `model.ensemble` node type; its factory makes members of other types, and
/// remakes them on load(), through `registry` (which must outlive every ensemble it makes).
NodeType ensembleModelNodeType(const TypeRegistry& registry);

}  // namespace aimass::core
