// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/compute/compute_context.h"
#include "aimass/compute/fully_connected.h"
#include "aimass/model.h"

namespace aimass::plugins::model {

/// Hyper-parameters of model.softmax.
struct SoftmaxOptions {
  double l2 = 0;             ///< weight of the L2 penalty l2/2 * ||W||^2 (biases are not penalised)
  double init_scale = 0.01;  ///< standard deviation of the initial weights (biases start at 0)
  int threads = 1;           ///< compute threads for forwardBackward() (predict runs 1 per call)
};

/// Multinomial logistic regression: p = softmax(x W + b), trained by minimising the mean
/// cross-entropy plus l2/2 * ||W||^2 through GradientTraining.
///
/// I/O (the conventions the HTTP frontend relies on): input "input" FP32 [-1, F]; outputs
/// "probabilities" FP32 [-1, C], "label" INT64 [-1] (the most probable class index) and
/// "class" BYTES [-1] (its name).
///
/// Parameters: "weight" FP32 [F, C] (row-major: the weights of feature f are contiguous) and
/// "bias" FP32 [C]. Their buffers stay the same from prepare() until the next prepare(), and
/// load() reuses them when the shapes match, so an optimizer's state stays attached.
///
/// Training runs the two products (logits = x W + b and dW = x^T dlogits) as oneDNN matmuls of
/// libaimass_compute, built once per batch size and kept (the full batch and the last, shorter
/// one), on options().threads threads when a step has at least 16M multiply-adds and on 1 thread
/// below that, where splitting costs more than it saves; the softmax and loss of each row are
/// computed in double.
///
/// Threading: predict() and evaluateLoss() are const and keep no mutable state, so any number of
/// threads may call them once the model is ready. prepare(), forwardBackward() and load() need
/// exclusive access.
///
/// Payload (formatVersion 1), little-endian: u64 F, u64 C, C x (u32 length, name bytes),
/// f64 l2, F*C f32 weights (row-major), C f32 biases.
class SoftmaxRegression final : public Model, public GradientTraining {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;

  explicit SoftmaxRegression(SoftmaxOptions options);
  ~SoftmaxRegression() override;

  ModelSchema schema() const override;
  bool ready() const override { return features_ > 0; }
  /// kFailedPrecondition before prepare() or load(); kInvalidArgument naming expected and
  /// actual name, dtype or shape for a wrong input.
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  GradientTraining* gradientTraining() override { return this; }

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  /// kInvalidArgument for an unknown format version; kDataLoss for a payload whose sizes do
  /// not add up or that holds non-finite numbers. The model is unchanged on failure.
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// kInvalidArgument unless the data has class labels (at least 2 classes), FP32 features and
  /// rows of shape [F]. Weights are drawn from N(0, init_scale^2) with `seed`.
  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override;
  std::vector<Parameter> parameters() override;
  /// Mean cross-entropy (+ L2) over the batch, gradients overwritten. kInvalidArgument for a
  /// batch of the wrong shape or a label outside [0, C), naming the row.
  Expected<double> forwardBackward(const Batch& batch, bool training) override;
  Expected<double> evaluateLoss(const Batch& batch) const override;

  const SoftmaxOptions& options() const noexcept { return options_; }

 private:
  Status checkBatch(const Batch& batch) const;
  /// logits = x W + b for one row, into `logits` (C entries); returns log-sum-exp.
  double logitsOf(const float* x, double* logits) const;
  double penalty() const;
  /// The matmul and buffers for batches of `rows` rows, made on first use of that size.
  struct TrainingOps;
  Expected<TrainingOps*> trainingOps(std::int64_t rows);

  SoftmaxOptions options_;
  std::int64_t features_ = 0;  // 0 until prepared or loaded
  std::int64_t classes_ = 0;
  std::vector<std::string> class_names_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  // Made on the first forwardBackward(); each op keeps its own context alive.
  std::shared_ptr<compute::ComputeContext> context_;
  std::vector<std::unique_ptr<TrainingOps>> training_;  // one per recent batch size
};

}  // namespace aimass::plugins::model
