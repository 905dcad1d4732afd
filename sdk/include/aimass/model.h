// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/node.h"
#include "aimass/status.h"
#include "aimass/tensor.h"
#include "aimass/tensor_names.h"

namespace aimass {

/// What a model does; decides which metrics and endpoints apply.
enum class Task {
  kClassification,  ///< inputs -> class probabilities ("probabilities") and "label"
  kRegression,      ///< inputs -> real values ("prediction")
  kClustering,      ///< inputs -> cluster index ("cluster") and distances; fits without labels
  kRecommendation,  ///< "user"/"item" INT64 ids -> "score"; top-k with PredictOptions::top_k
  kSequence,        ///< token sequences -> next-token scores; optional "state" in and out
  kOther,
};

constexpr std::string_view taskName(Task t) noexcept {
  switch (t) {
    case Task::kClassification:
      return "classification";
    case Task::kRegression:
      return "regression";
    case Task::kClustering:
      return "clustering";
    case Task::kRecommendation:
      return "recommendation";
    case Task::kSequence:
      return "sequence";
    case Task::kOther:
      return "other";
  }
  return "other";
}

/// One named input or output. shape includes the batch dimension first; -1 marks a variable
/// dimension (the batch, a sequence length). Inputs with optional=true may be left out (e.g. a
/// sequence model's carried "state"); outputs with optional=true are written only by the kind
/// of request that asks for them (a recommender's top-k "items" versus pair "score").
struct TensorSpec {
  TensorSpec() = default;
  TensorSpec(std::string name_, DType dtype_, Shape shape_, bool optional_ = false,
             bool request_wide_ = false, std::vector<std::string> columns_ = {})
      : name(std::move(name_)),
        dtype(dtype_),
        shape(std::move(shape_)),
        optional(optional_),
        request_wide(request_wide_),
        columns(std::move(columns_)) {}

  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
  bool optional = false;
  /// An input that applies to the whole request rather than one value per row (a recommender's
  /// "candidates" filter): its first dimension is not the batch, and a request that carries it
  /// runs alone, never stacked with other requests into one batch.
  bool request_wide = false;
  /// For an input whose last dimension is a row of named columns (a CSV's numeric features):
  /// their names in order, so that frontends can take columns by name (MLflow's
  /// dataframe_split) in any order. Empty when the columns have no names.
  std::vector<std::string> columns;
};

/// What a model takes and gives.
struct ModelSchema {
  Task task = Task::kOther;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<std::string> class_names;  ///< classification: index -> label name
};

/// Per-call options of predict(): what a request asked for beyond its tensors (the Open
/// Inference Protocol's request "parameters"). Requests are batched together only when their
/// options are equal.
struct PredictOptions {
  /// Recommendation: return the k best items per user as "items"/"scores" (0: score the given
  /// user-item pairs). Sequence: keep the k most likely next tokens.
  std::int64_t top_k = 0;
  /// Recommendation top-k: leave out the items each user already interacted with.
  bool exclude_seen = true;
  /// Every other request parameter, by name, with its value as text: numbers as written,
  /// strings without quotes, true/false. A model reads those it documents and ignores others.
  std::vector<std::pair<std::string, std::string>> parameters;
  /// The request's id: the client's own (the "id" of an Open Inference Protocol request) or
  /// one the frontend made up; empty when the frontend sets none. Not a model option: serving
  /// records it with a logged payload so that ground truth posted later can name the request,
  /// and operator== ignores it, so requests with ids still batch together. ABI 12.
  std::string request_id;

  /// The value of parameter `name`, or null.
  const std::string* parameter(std::string_view name) const noexcept {
    for (const auto& [key, value] : parameters) {
      if (key == name) {
        return &value;
      }
    }
    return nullptr;
  }
  /// Equal when every model option is: request_id is not one.
  bool operator==(const PredictOptions& other) const {
    return top_k == other.top_k && exclude_seen == other.exclude_seen &&
           parameters == other.parameters;
  }
};

/// A trainable parameter: the values and the gradient buffer, both owned by the model and
/// stable (same buffers) between prepare() calls, so optimizers may keep per-parameter state.
struct Parameter {
  std::string name;  ///< "fc1.weight"
  Tensor value;      ///< FP32
  Tensor grad;       ///< same shape; written by forwardBackward()
};

/// Training through gradients: the trainer feeds batches, an optimizer updates parameters().
///
/// Threading: not thread-safe; one trainer drives it. predict() may run meanwhile only if the
/// model documents it (most do not: train first, then serve, or serve a loaded copy).
class GradientTraining {
 public:
  /// Shapes and initialises the parameters for data of `schema` (features, classes, targets),
  /// seeded for reproducibility. kInvalidArgument when the data does not suit the model (e.g.
  /// regression targets for a classifier), naming what is wrong.
  virtual Status prepare(const DatasetSchema& schema, std::uint64_t seed) = 0;
  /// The parameters, in a fixed order.
  virtual std::vector<Parameter> parameters() = 0;
  /// Computes the mean loss over `batch` and writes its gradient into every Parameter::grad
  /// (overwriting, not accumulating). `training` enables dropout and similar. A NaN/Inf loss is
  /// returned as is; the trainer decides what to do.
  virtual Expected<double> forwardBackward(const Batch& batch, bool training) = 0;
  /// The mean loss over `batch` without touching gradients (validation).
  virtual Expected<double> evaluateLoss(const Batch& batch) const = 0;
  /// Sequence models: forget carried state (start of an epoch). Others ignore it.
  virtual void resetState() {}

 protected:
  ~GradientTraining() = default;
};

/// Reports how a self-training fit() is going and lets the host stop it.
class FitObserver {
 public:
  /// Called after each iteration; returning true asks fit() to stop early with what it has.
  virtual bool onIteration(std::uint64_t iteration, double objective) = 0;

 protected:
  ~FitObserver() = default;
};

/// Training by the model's own algorithm (k-means' Lloyd iterations, closed-form least squares).
class SelfTraining {
 public:
  /// Fits on all rows of `data`. Labels are used when the model needs them and ignored
  /// otherwise (clustering). kCancelled when the observer asked to stop and nothing usable
  /// was produced.
  virtual Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) = 0;

 protected:
  ~SelfTraining() = default;
};

/// Learning while serving: a model that folds new observations (a recommender's new
/// interactions) into what it predicts, at once and without retraining.
///
/// Threading: learn() is safe to call from many threads at once and concurrently with
/// Model::predict(); a predict() that starts after learn() returned sees its effect.
/// Lifetime: the interface lives as long as its model.
class OnlineLearning {
 public:
  /// What learn() takes: named tensors with the batch (one observation per row) first.
  virtual std::vector<TensorSpec> observationInputs() const = 0;
  /// Folds the observations in. Checks every row first: kInvalidArgument naming the first bad
  /// input or row, and then nothing is learned. Replaying the same observations in the same
  /// order on the same trained model gives the same state (the host persists what was learned
  /// and replays it after a restart).
  virtual Status learn(const TensorMap& observations) = 0;

 protected:
  ~OnlineLearning() = default;
};

/// Answering a request piece by piece as it is computed (a language model's text as it is
/// generated), for frontends that stream (server-sent events, chunked transfer).
///
/// Threading: as Model::predict(): const and safe from many threads at once.
/// Lifetime: the interface lives as long as its model.
class StreamingPrediction {
 public:
  /// Takes each piece: outputs named as predict()'s, holding only what is new. Returns false to
  /// stop the prediction early (the client went away).
  using Emit = std::function<bool(const TensorMap& piece)>;
  /// Like Model::predict(), but hands each piece to `emit` as soon as it is ready, in order;
  /// joining the pieces along their last dimension gives what predict() writes. Returns after
  /// the last piece, or as soon as `emit` returned false (with an ok status). Errors as
  /// predict()'s; a piece already emitted stays emitted.
  virtual Status predictStream(const TensorMap& inputs, const PredictOptions& options,
                               const Emit& emit) const = 0;

 protected:
  ~StreamingPrediction() = default;
};

/// The one input of a model that follows the classification/regression convention: "input",
/// FP32 [-1, features], on the CPU. kInvalidArgument, naming `model`, for an unknown or missing
/// input, another dtype, rank or feature count, with what was expected and what came.
inline Expected<const Tensor*> featureInput(std::string_view model, const TensorMap& inputs,
                                            std::int64_t features) {
  const std::string expected = "FP32 [-1, " + std::to_string(features) + "]";
  const Tensor* input = nullptr;
  for (const auto& [name, tensor] : inputs) {
    if (name != tensor_names::kInput) {
      return invalidArgument("unknown input '" + name + "': " + std::string(model) +
                             " takes one input '" + tensor_names::kInput + "' " + expected);
    }
    input = &tensor;
  }
  if (input == nullptr) {
    return invalidArgument("missing input '" + std::string(tensor_names::kInput) + "' " + expected);
  }
  if (input->dtype() != DType::kFloat32 || input->rank() != 2 || input->dim(1) != features ||
      input->device() != Device::kCpu) {
    return invalidArgument("input 'input' must be " + expected + ", got " +
                           std::string(dtypeName(input->dtype())) + " " +
                           shapeToString(input->shape()));
  }
  return input;
}

/// A model: one interface for classifiers, regressors, clusterers, recommenders and sequence
/// models. Inputs and outputs are named tensors described by schema().
///
/// Lifecycle: made by its factory (hyper-parameters only), then prepared and trained, or
/// loaded from a saved payload. ready() tells whether it can predict.
///
/// Threading: predict() is const and must be safe to call from many threads at once once the
/// model is ready. Training and load() need exclusive access.
class Model : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kModel; }

  /// Inputs and outputs. Before the model is prepared or loaded, shapes may be unknown (-1).
  virtual ModelSchema schema() const = 0;
  /// True when parameters exist (trained or loaded) and predict() can answer.
  virtual bool ready() const = 0;
  /// Computes outputs for a batch. Inputs are checked against schema() by the caller, but a
  /// model must still reject what it cannot handle with kInvalidArgument (never crash).
  /// kFailedPrecondition when not ready(). Writes every output of schema() into `outputs`.
  virtual Status predict(const TensorMap& inputs, TensorMap& outputs,
                         const PredictOptions& options) const = 0;

  /// Non-null when the model trains through gradients; the pointer lives as long as the model.
  virtual GradientTraining* gradientTraining() { return nullptr; }
  /// Non-null when the model trains itself.
  virtual SelfTraining* selfTraining() { return nullptr; }
  /// Non-null when the model learns while it is served. Const because a served model is shared
  /// const: OnlineLearning's own threading contract makes that safe.
  virtual OnlineLearning* onlineLearning() const { return nullptr; }
  /// Non-null when the model can stream its answers (see StreamingPrediction).
  virtual const StreamingPrediction* streaming() const { return nullptr; }

  /// Version of the byte layout save() writes; load() receives the version that was saved
  /// and must accept every version it ever wrote (or say kInvalidArgument).
  virtual std::uint32_t formatVersion() const = 0;
  /// Serialises the learned state (and the hyper-parameters that shape it). The host wraps the
  /// payload in a checksummed envelope naming the type and format version.
  virtual Status save(std::string& payload) const = 0;
  /// Restores from a payload that save() wrote (checksum already verified by the host). On
  /// failure the model is left as it was before the call.
  virtual Status load(std::string_view payload, std::uint32_t format_version) = 0;
};

}  // namespace aimass
