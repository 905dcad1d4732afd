// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/optimizer_state.h"

namespace aimass::plugins::optimizer {

/// Settings of optimizer.adam and optimizer.adamw (PyTorch's defaults).
struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;       ///< decay of the first moment; in [0, 1)
  double beta2 = 0.999;     ///< decay of the second moment; in [0, 1)
  double epsilon = 1e-8;    ///< added to the denominator; > 0
  double weight_decay = 0;  ///< >= 0; coupled (Adam) or decoupled (AdamW), see `decoupled`
  bool amsgrad = false;     ///< keep the running maximum of the second moment
  bool decoupled = false;   ///< AdamW: shrink the weights directly instead of adding to g
  /// Threads step() splits the update across (the graph's `threads:`); >= 1. The result is the
  /// same for any count: every element's update is independent of the others.
  int threads = 1;
};

/// Adam and AdamW in the formulation PyTorch uses (torch.optim.Adam / AdamW, single-tensor):
///
///     Adam:   g = g + weight_decay * w
///     AdamW:  w = w * (1 - lr * weight_decay)
///     m = beta1 * m + (1 - beta1) * g
///     v = beta2 * v + (1 - beta2) * g^2
///     v_max = max(v_max, v)                        (amsgrad only; the denominator uses v_max)
///     w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
///
/// with t the 1-based step count. Moments are FP32; bias corrections are computed in double
/// once per step.
///
/// Lifecycle: begin() records the parameters' sizes, allocates m, v (and v_max) and splits the
/// elements of all parameters into `threads` contiguous parts of about equal size; step()
/// allocates nothing, never throws, and runs one plain vectorisable loop per slice of a part.
/// Threading: not thread-safe; one training thread drives it. With threads > 1 and enough
/// elements, step() runs the parts on that thread's OpenMP team (the one oneDNN's primitives
/// use, so the two never run at once and nothing oversubscribes).
///
/// State (saveState), little-endian: "ADAM1", f64 learning rate, u64 steps, u8 amsgrad, u64
/// parameter count, then per parameter u64 size and m, v (and v_max) as f32s.
class AdamOptimizer final : public GradientOptimizer {
 public:
  /// kInvalidArgument for a learning rate or epsilon that is not a positive finite number,
  /// betas outside [0, 1), negative weight decay, or threads < 1.
  static Expected<std::unique_ptr<AdamOptimizer>> create(const AdamOptions& options);

  /// kInvalidArgument for a parameter that is not FP32 or whose grad has another size.
  Status begin(std::span<Parameter> parameters) override;
  /// kFailedPrecondition before begin(); kInvalidArgument when the parameters are not the ones
  /// begin() saw (count or sizes).
  Status step(std::span<Parameter> parameters) override;
  double learningRate() const override { return options_.learning_rate; }
  void setLearningRate(double rate) override { options_.learning_rate = rate; }
  Status saveState(std::string& out) const override;
  /// kInvalidArgument when the state is malformed, truncated, or was saved for other
  /// parameters or another amsgrad setting; the optimizer is unchanged then.
  Status loadState(std::string_view state) override;

  const AdamOptions& options() const noexcept { return options_; }
  /// Steps taken since begin() (or restored by loadState()).
  std::uint64_t steps() const noexcept { return steps_; }

 private:
  explicit AdamOptimizer(const AdamOptions& options) : options_(options) {}
  const char* typeName() const noexcept {
    return options_.decoupled ? "optimizer.adamw" : "optimizer.adam";
  }
  /// The layout of saveState() (util/optimizer_state.h), named after typeName().
  OptimizerStateFormat stateFormat() const;

  /// A run of one parameter's elements [begin, end) that one thread updates.
  struct Slice {
    std::size_t parameter = 0, begin = 0, end = 0;
  };
  /// Splits parameters of `sizes` elements, in order, into `threads` parts of about equal
  /// length (one part when there are under 32,768 elements in all); together the parts cover
  /// every element once.
  static std::vector<std::vector<Slice>> splitIntoParts(std::span<const std::size_t> sizes,
                                                        int threads);

  AdamOptions options_;
  bool begun_ = false;
  std::uint64_t steps_ = 0;
  std::vector<std::size_t> sizes_;         // elements per parameter, from begin()
  std::vector<std::vector<float>> m_;      // first moments
  std::vector<std::vector<float>> v_;      // second moments
  std::vector<std::vector<float>> v_max_;  // amsgrad: running maxima of v; empty otherwise
  std::vector<std::vector<Slice>> parts_;  // from begin(): one list of slices per thread
};

}  // namespace aimass::plugins::optimizer
