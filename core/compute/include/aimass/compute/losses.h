// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/compute_context.h"
#include "aimass/compute/export.h"
#include "aimass/compute/softmax.h"
#include "aimass/status.h"

namespace aimass::compute {

/// Mean softmax cross-entropy of [rows, classes] logits against INT64 class labels, and its
/// gradient with respect to the logits: a log-softmax, then one pass over the log-probabilities.
///
/// Threading: one thread at a time; make one op per thread. Calls allocate nothing and never
/// throw.
class AIMASS_COMPUTE_API SoftmaxCrossEntropy {
 public:
  /// kInvalidArgument for non-positive sizes; kInternal from oneDNN.
  static Expected<std::unique_ptr<SoftmaxCrossEntropy>> create(
      std::shared_ptr<ComputeContext> context, std::int64_t rows, std::int64_t classes);

  /// Writes log_softmax(logits) into `log_probabilities` ([rows, classes], may alias logits) and
  /// returns -mean_r log_probabilities[r][labels[r]]. When `logits_grad` is not null, also
  /// writes (softmax - onehot(labels)) / rows into it (may alias log_probabilities).
  /// kInvalidArgument naming the first row whose label is outside [0, classes).
  Expected<double> compute(const float* logits, const std::int64_t* labels,
                           float* log_probabilities, float* logits_grad) noexcept;

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t classes() const noexcept { return classes_; }

 private:
  SoftmaxCrossEntropy(std::int64_t rows, std::int64_t classes, std::unique_ptr<Softmax> softmax);

  std::int64_t rows_, classes_;
  std::unique_ptr<Softmax> log_softmax_;
};

/// Mean squared error over `rows` x `targets` values: sum((p - t)^2) / (rows * targets), and
/// when `grad` is not null its gradient 2 (p - t) / (rows * targets) into `grad` (which may
/// alias either input). Allocates nothing; thread-safe.
AIMASS_COMPUTE_API double meanSquaredError(const float* prediction, const float* target,
                                           std::int64_t rows, std::int64_t targets,
                                           float* grad) noexcept;

}  // namespace aimass::compute
