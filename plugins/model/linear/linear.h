// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::model {

/// How model.linear finds its weights.
enum class LinearSolver {
  kClosedForm,  ///< fit(): normal equations accumulated over the dataset, solved by Cholesky
  kGradient,    ///< a gradient optimizer through GradientTraining
};

/// Hyper-parameters of model.linear.
struct LinearOptions {
  double l2 = 0;              ///< weight of the penalty l2/2 * ||W||^2 (the intercept is free)
  bool fit_intercept = true;  ///< learn a bias per target; false keeps it at 0
  LinearSolver solver = LinearSolver::kClosedForm;
};

/// Least-squares linear regression with an optional L2 penalty: prediction = x W + b.
///
/// Both solvers minimise the same objective over N rows and T targets:
///   L = 1/(2N) * sum_n sum_t (x_n W_t + b_t - y_nt)^2 + l2/2 * ||W||^2
/// (half the squared error summed over the targets and averaged over the rows, i.e. half the
/// mean squared error when T = 1; the intercept is not penalised).
///
/// With solver kClosedForm the model exposes selfTraining() (and gradientTraining() is null):
/// fit() reads the dataset in batches, accumulates X'X, X'y and y'y in double precision,
/// divides by N, adds l2 * I on the weight rows (not the intercept) and solves by Cholesky. A
/// singular system (e.g. collinear or constant columns) without l2 is refused with
/// kInvalidArgument suggesting l2 > 0. With kGradient it exposes gradientTraining() only.
///
/// I/O: input "input" FP32 [-1, F]; output "prediction" FP32 [-1, T].
/// Parameters (gradient solver): "weight" FP32 [F, T] (row-major) and, with fit_intercept,
/// "bias" FP32 [T]. Their buffers stay the same until the next prepare(); load() reuses them
/// when the shapes match.
///
/// Threading: predict() is const and keeps no mutable state, so any number of threads may call
/// it once the model is ready. prepare(), forwardBackward(), fit() and load() need exclusive
/// access.
///
/// Payload (formatVersion 1), little-endian: u64 F, u64 T, u8 fit_intercept, f64 l2,
/// F*T f32 weights (row-major), T f32 biases.
class LinearRegression final : public Model, public GradientTraining, public SelfTraining {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;

  explicit LinearRegression(LinearOptions options);

  ModelSchema schema() const override;
  bool ready() const override { return features_ > 0; }
  /// kFailedPrecondition before training or load(); kInvalidArgument naming expected and
  /// actual name, dtype or shape for a wrong input.
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  /// This model with solver gradient, else null.
  GradientTraining* gradientTraining() override;
  /// This model with solver closed_form, else null.
  SelfTraining* selfTraining() override;

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  /// kInvalidArgument for an unknown format version; kDataLoss for a payload whose sizes do
  /// not add up or that holds non-finite numbers. The model is unchanged on failure.
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// kInvalidArgument unless the data has value labels (T >= 1), FP32 features and rows of
  /// shape [F]. Weights and biases start at 0 (the problem is convex; `seed` is not needed).
  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override;
  std::vector<Parameter> parameters() override;
  /// The objective L over the batch, gradients overwritten. kInvalidArgument for a batch of
  /// the wrong shape or dtype.
  Expected<double> forwardBackward(const Batch& batch, bool training) override;
  Expected<double> evaluateLoss(const Batch& batch) const override;

  /// Closed-form fit on every row of `data` (see the class comment). Reports one iteration
  /// with the final objective. kInvalidArgument for unsuitable data, an empty dataset or a
  /// singular system; the model is unchanged on failure.
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

  const LinearOptions& options() const noexcept { return options_; }

 private:
  Status checkSchema(const DatasetSchema& schema) const;
  Status checkBatch(const Batch& batch) const;
  /// Sum over the batch of half the squared residuals; writes gradients when `gw` is set.
  double residuals(const Batch& batch, float* gw, float* gb) const;
  double penalty() const;
  /// Installs new weights/biases, reusing buffers when the shapes match.
  void commit(Tensor weight, Tensor bias);

  LinearOptions options_;
  std::int64_t features_ = 0;  // 0 until trained, prepared or loaded
  std::int64_t targets_ = 0;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
};

}  // namespace aimass::plugins::model
