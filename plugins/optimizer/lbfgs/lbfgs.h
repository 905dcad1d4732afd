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

/// Settings of optimizer.lbfgs (PyTorch's defaults for the ones it shares).
struct LbfgsOptions {
  double learning_rate = 1;    ///< fixed step length t along the quasi-Newton direction
  std::uint64_t memory = 100;  ///< curvature pairs kept (PyTorch's history_size); >= 1
};

/// Limited-memory BFGS driven one iteration per step(), as torch.optim.LBFGS iterates without
/// a line search (line_search_fn=None), treating all parameters as one flat vector:
///
///     y = g - g_prev,  s = the previous update;  keep (s, y) when y·s > 1e-10 (oldest pair
///     dropped beyond `memory`), and then scale the initial Hessian by gamma = y·s / y·y
///     d = -H g by the two-loop recursion over the kept pairs
///     t = learning_rate (the first step: min(1, 1 / |g|_1) * learning_rate)
///     w += t * d
///
/// The step is fixed, with no line search or backtracking: step() sees one gradient and cannot
/// re-evaluate the objective, and a fixed step keeps every run deterministic. One safeguard
/// differs from PyTorch: when d is not a descent direction (g·d >= 0, possible after noisy
/// mini-batch gradients) the history is cleared and the step restarts as a first step along -g.
///
/// L-BFGS assumes consecutive gradients come from the same function, so in job.train it is
/// meant for full-batch training (batch_size >= the training rows); with mini-batches the
/// curvature pairs mix batches and the restart safeguard fires more often.
///
/// Lifecycle: begin() allocates 2 * memory + 5 vectors of the total parameter count; step()
/// allocates nothing and never throws; its element-wise loops are plain vectorisable loops
/// (dot products accumulate in double, in order, so results are reproducible).
/// Threading: not thread-safe; one training thread drives it.
///
/// State (saveState), little-endian: "LBFGS1", f64 learning rate, u64 steps, u64 memory, u64
/// parameter count, u64 size per parameter, u8 has-previous, f64 gamma, u64 pairs, then per
/// pair (oldest first) f64 rho and s, y as f32s, and g_prev and the previous update as f32s.
class LbfgsOptimizer final : public GradientOptimizer {
 public:
  /// kInvalidArgument for a learning rate that is not a positive finite number or memory 0.
  static Expected<std::unique_ptr<LbfgsOptimizer>> create(const LbfgsOptions& options);

  /// kInvalidArgument for a parameter that is not FP32 or whose grad has another size.
  Status begin(std::span<Parameter> parameters) override;
  /// kFailedPrecondition before begin(); kInvalidArgument when the parameters are not the ones
  /// begin() saw (count or sizes).
  Status step(std::span<Parameter> parameters) override;
  double learningRate() const override { return options_.learning_rate; }
  void setLearningRate(double rate) override { options_.learning_rate = rate; }
  Status saveState(std::string& out) const override;
  /// kInvalidArgument when the state is malformed, truncated, or was saved for other
  /// parameters or another memory; the optimizer is unchanged then.
  Status loadState(std::string_view state) override;

  const LbfgsOptions& options() const noexcept { return options_; }
  /// Steps taken since begin() (or restored by loadState()).
  std::uint64_t steps() const noexcept { return steps_; }
  /// Curvature pairs held now (at most `memory`).
  std::uint64_t pairs() const noexcept { return count_; }

 private:
  explicit LbfgsOptimizer(const LbfgsOptions& options) : options_(options) {}
  /// Ring index of the k-th oldest pair.
  std::size_t slot(std::size_t k) const noexcept { return (head_ + k) % options_.memory; }

  LbfgsOptions options_;
  bool begun_ = false;
  std::uint64_t steps_ = 0;
  std::vector<std::size_t> sizes_;             // elements per parameter, from begin()
  std::size_t total_ = 0;                      // sum of sizes_
  bool has_previous_ = false;                  // g_prev_ and last_step_ hold the previous step
  double gamma_ = 1;                           // initial inverse-Hessian scale y·s / y·y
  std::size_t head_ = 0;                       // ring index of the oldest pair
  std::size_t count_ = 0;                      // pairs held
  std::vector<std::vector<float>> s_history_;  // memory ring of updates s
  std::vector<std::vector<float>> y_history_;  // memory ring of gradient changes y
  std::vector<double> rho_;                    // 1 / y·s per ring slot
  std::vector<double> alpha_;                  // two-loop scratch per ring slot
  std::vector<float> gradient_;                // flat gradient of this step
  std::vector<float> previous_gradient_;       // flat gradient of the previous step
  std::vector<float> direction_;               // d
  std::vector<float> last_step_;               // t * d of the previous step
  std::vector<float> y_scratch_;               // candidate y before it is accepted
};

}  // namespace aimass::plugins::optimizer
