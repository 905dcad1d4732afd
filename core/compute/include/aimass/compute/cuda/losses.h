// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/cuda/context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute::cuda {

/// compute::SoftmaxCrossEntropy on a CUDA device: the mean softmax cross-entropy of [rows,
/// classes] logits against INT64 class labels, and its gradient, all in device memory; the loss
/// comes back to the host (the call waits for the stream).
///
/// Threading: one thread at a time, like the context. Calls allocate nothing and never throw.
class AIMASS_COMPUTE_API SoftmaxCrossEntropy {
 public:
  /// kInvalidArgument for non-positive sizes or more than 2^31 - 1 rows.
  static Expected<std::unique_ptr<SoftmaxCrossEntropy>> create(std::shared_ptr<CudaContext> context,
                                                               std::int64_t rows,
                                                               std::int64_t classes);
  ~SoftmaxCrossEntropy();
  SoftmaxCrossEntropy(const SoftmaxCrossEntropy&) = delete;
  SoftmaxCrossEntropy& operator=(const SoftmaxCrossEntropy&) = delete;

  /// As the CPU op: log_softmax(logits) into `log_probabilities` (may alias logits), returns
  /// -mean_r log_probabilities[r][labels[r]], and writes (softmax - onehot(labels)) / rows into
  /// `logits_grad` when it is not null (may alias log_probabilities). kInvalidArgument naming
  /// the first row whose label is outside [0, classes).
  Expected<double> compute(const float* logits, const std::int64_t* labels,
                           float* log_probabilities, float* logits_grad) noexcept;

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t classes() const noexcept { return classes_; }

  struct Impl;

 private:
  SoftmaxCrossEntropy(std::int64_t rows, std::int64_t classes, std::unique_ptr<Impl> impl);

  std::int64_t rows_, classes_;
  std::unique_ptr<Impl> impl_;
};

/// compute::meanSquaredError on a CUDA device: sum((p - t)^2) / (rows * targets) and, when
/// `grad` is not null, 2 (p - t) / (rows * targets) into it (may alias either input). An op
/// because the reduction needs device scratch memory, allocated once in create().
///
/// Threading: one thread at a time, like the context. compute() waits for the stream and never
/// throws.
class AIMASS_COMPUTE_API MeanSquaredError {
 public:
  /// kInvalidArgument for non-positive sizes.
  static Expected<std::unique_ptr<MeanSquaredError>> create(std::shared_ptr<CudaContext> context,
                                                            std::int64_t rows,
                                                            std::int64_t targets);
  ~MeanSquaredError();
  MeanSquaredError(const MeanSquaredError&) = delete;
  MeanSquaredError& operator=(const MeanSquaredError&) = delete;

  Expected<double> compute(const float* prediction, const float* target, float* grad) noexcept;

  struct Impl;

 private:
  MeanSquaredError(std::int64_t elements, std::unique_ptr<Impl> impl);

  std::int64_t elements_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute::cuda
