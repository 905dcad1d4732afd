// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/transform.h"
#include "pipeline/table_io.h"

namespace aimass::core {

/// Makes a fresh node of a type by name (its parameters at their defaults), to load a saved
/// payload into: how a saved pipeline makes its transforms and its model again.
using NodeMaker = std::function<Expected<std::shared_ptr<Node>>(const std::string& type)>;

/// A model with its preprocessing: the host's wrapper around a model node that lists
/// `preprocess: [t1, t2, ...]`, saved as one artifact of type `model.pipeline`.
///
/// It takes the raw columns of the data (rawInputSpecs()), runs the fitted transforms in order
/// and hands the result to the model as its one "input". The transforms are fitted by
/// fitPreprocessing() on the training rows only: job.train calls it with the training split
/// before prepare(); a self-trained model's fit() calls it with every row it gets. Training
/// passes through: gradientTraining() and selfTraining() are non-null exactly when the wrapped
/// model's are, and transform each batch before the model sees it.
///
/// Threading: predict() is safe from many threads at once (transforms' apply() and the model's
/// predict() are); fitPreprocessing(), training and load() need exclusive access.
class PreprocessedModel final : public Model, GradientTraining, SelfTraining {
 public:
  /// An empty pipeline, for load(): `make` creates its transforms and its model by type.
  explicit PreprocessedModel(NodeMaker make);
  /// The wrapper a graph node gets: `model` (of node type `model_type`) behind `steps`, which
  /// are not fitted yet.
  PreprocessedModel(NodeMaker make, std::shared_ptr<Model> model, std::string model_type,
                    std::vector<PreprocessStep> steps);

  /// The node type of saved pipelines.
  static constexpr const char* kType = "model.pipeline";

  /// Fits every step, in order, on `rows` of `data` (each on the previous one's output) and
  /// checks that what comes out suits a model: numbers only, none missing. kInvalidArgument
  /// naming the step or the column otherwise; the pipeline is then left unfitted.
  Status fitPreprocessing(const Dataset& data, std::span<const std::uint64_t> rows);
  /// True once fitPreprocessing() or load() succeeded.
  bool preprocessingFitted() const noexcept { return fitted_; }
  /// The wrapped model; null for an empty pipeline.
  const std::shared_ptr<Model>& model() const noexcept { return model_; }
  const std::string& modelType() const noexcept { return model_type_; }
  const std::vector<PreprocessStep>& steps() const noexcept { return steps_; }

  // Model
  ModelSchema schema() const override;
  bool ready() const override;
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  GradientTraining* gradientTraining() override;
  SelfTraining* selfTraining() override;
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override;
  Status load(std::string_view payload, std::uint32_t format_version) override;

  // GradientTraining
  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override;
  std::vector<Parameter> parameters() override;
  Expected<double> forwardBackward(const Batch& batch, bool training) override;
  Expected<double> evaluateLoss(const Batch& batch) const override;
  void resetState() override;

  // SelfTraining
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

 private:
  /// `batch` with its features replaced by the preprocessed numbers (labels, lengths kept).
  Expected<Batch> transformBatch(const Batch& batch) const;
  /// kFailedPrecondition unless the pipeline wraps a model and is fitted.
  Status checkFitted(std::string_view what) const;

  NodeMaker make_;
  std::shared_ptr<Model> model_;
  std::string model_type_;
  std::vector<PreprocessStep> steps_;
  TableColumns raw_;        ///< the columns the data has (what clients send)
  TableColumns processed_;  ///< what the last step gives: the model's features
  bool fitted_ = false;
};

}  // namespace aimass::core
