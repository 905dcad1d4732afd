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

/// Settings of optimizer.sgd.
struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0;      ///< 0 = plain SGD; in [0, 0.999]
  bool nesterov = false;    ///< Nesterov momentum; needs momentum > 0
  double weight_decay = 0;  ///< L2 coefficient added to the gradient (coupled decay)
};

/// Stochastic gradient descent with optional (Nesterov) momentum and weight decay, in the
/// formulation PyTorch uses:
///
///     d = g + weight_decay * w
///     v = momentum * v + d                 (v starts at 0; skipped when momentum is 0)
///     w -= lr * (nesterov ? d + momentum * v : (momentum > 0 ? v : d))
///
/// Lifecycle: begin() records the parameters' sizes and allocates the velocities; step()
/// allocates nothing and never throws.
/// Threading: not thread-safe; one training thread drives it.
///
/// State (saveState), little-endian: "SGD1", f64 learning rate, u64 steps, u64 parameter
/// count, then per parameter u64 size, u8 has-velocity and the velocity as f32s.
class SgdOptimizer final : public GradientOptimizer {
 public:
  /// kInvalidArgument for a learning rate that is not a positive finite number, momentum
  /// outside [0, 0.999], negative weight decay, or nesterov without momentum.
  static Expected<std::unique_ptr<SgdOptimizer>> create(const SgdOptions& options);

  /// kInvalidArgument for a parameter that is not FP32 or whose grad has another size.
  Status begin(std::span<Parameter> parameters) override;
  /// kFailedPrecondition before begin(); kInvalidArgument when the parameters are not the ones
  /// begin() saw (count or sizes).
  Status step(std::span<Parameter> parameters) override;
  double learningRate() const override { return options_.learning_rate; }
  void setLearningRate(double rate) override { options_.learning_rate = rate; }
  Status saveState(std::string& out) const override;
  /// kInvalidArgument when the state is malformed or was saved for other parameters or another
  /// momentum setting; the optimizer is unchanged then.
  Status loadState(std::string_view state) override;

  const SgdOptions& options() const noexcept { return options_; }
  /// Steps taken since begin().
  std::uint64_t steps() const noexcept { return steps_; }

 private:
  explicit SgdOptimizer(const SgdOptions& options) : options_(options) {}

  SgdOptions options_;
  bool begun_ = false;
  std::uint64_t steps_ = 0;
  std::vector<std::size_t> sizes_;              // elements per parameter, from begin()
  std::vector<std::vector<float>> velocities_;  // one per parameter when momentum > 0
};

}  // namespace aimass::plugins::optimizer
