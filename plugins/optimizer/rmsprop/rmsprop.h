// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"

namespace aimass::plugins::optimizer {

/// Settings of optimizer.rmsprop (PyTorch's defaults).
struct RmsPropOptions {
  double learning_rate = 1e-2;
  double alpha = 0.99;      ///< decay of the running mean of squared gradients; in [0, 1)
  double epsilon = 1e-8;    ///< added to the denominator; > 0
  double weight_decay = 0;  ///< L2 coefficient added to the gradient; >= 0
  double momentum = 0;      ///< momentum on the scaled update; in [0, 1)
  bool centered = false;    ///< divide by the estimated variance instead of the raw second moment
};

/// RMSProp in the formulation PyTorch uses (torch.optim.RMSprop, single-tensor):
///
///     g = g + weight_decay * w
///     s = alpha * s + (1 - alpha) * g^2
///     centered:  a = alpha * a + (1 - alpha) * g;  denominator = sqrt(max(s - a^2, 0)) + eps
///     otherwise: denominator = sqrt(s) + eps
///     momentum:  b = momentum * b + g / denominator;  w -= lr * b
///     otherwise: w -= lr * g / denominator
///
/// The max(…, 0) guards against rounding making the centred variance slightly negative
/// (PyTorch would produce NaN there); otherwise the arithmetic is PyTorch's.
///
/// Lifecycle: begin() allocates s (and a, b when used); step() allocates nothing, never
/// throws, and its inner loop is a plain vectorisable loop.
/// Threading: not thread-safe; one training thread drives it.
///
/// State (saveState), little-endian: "RMSP1", f64 learning rate, u64 steps, u8 centered, u8
/// momentum, u64 parameter count, then per parameter u64 size and s (a) (b) as f32s.
class RmsPropOptimizer final : public GradientOptimizer {
 public:
  /// kInvalidArgument for a learning rate or epsilon that is not a positive finite number,
  /// alpha or momentum outside [0, 1), or negative weight decay.
  static Expected<std::unique_ptr<RmsPropOptimizer>> create(const RmsPropOptions& options);

  /// kInvalidArgument for a parameter that is not FP32 or whose grad has another size.
  Status begin(std::span<Parameter> parameters) override;
  /// kFailedPrecondition before begin(); kInvalidArgument when the parameters are not the ones
  /// begin() saw (count or sizes).
  Status step(std::span<Parameter> parameters) override;
  double learningRate() const override { return options_.learning_rate; }
  void setLearningRate(double rate) override { options_.learning_rate = rate; }
  Status saveState(std::string& out) const override;
  /// kInvalidArgument when the state is malformed, truncated, or was saved for other
  /// parameters or another centered/momentum setting; the optimizer is unchanged then.
  Status loadState(std::string_view state) override;

  const RmsPropOptions& options() const noexcept { return options_; }
  /// Steps taken since begin() (or restored by loadState()).
  std::uint64_t steps() const noexcept { return steps_; }

 private:
  explicit RmsPropOptimizer(const RmsPropOptions& options) : options_(options) {}

  RmsPropOptions options_;
  bool begun_ = false;
  std::uint64_t steps_ = 0;
  std::vector<std::size_t> sizes_;              // elements per parameter, from begin()
  std::vector<std::vector<float>> square_avg_;  // s
  std::vector<std::vector<float>> grad_avg_;    // a; only when centered
  std::vector<std::vector<float>> buffer_;      // b; only with momentum
};

}  // namespace aimass::plugins::optimizer
