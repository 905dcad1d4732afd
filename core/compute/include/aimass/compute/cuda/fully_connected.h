// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "aimass/compute/cuda/context.h"
#include "aimass/compute/export.h"
#include "aimass/compute/fully_connected.h"
#include "aimass/status.h"

namespace aimass::compute::cuda {

/// compute::FullyConnected on a CUDA device: y = act(x W + b) with the same shapes, layout
/// (dense row-major FP32, W [K, N]) and methods, all pointers in device memory. The products
/// are cuBLAS SGEMMs in full FP32 (no TF32), the bias and the fused activation one kernel after
/// them, and the bias gradient a cuBLAS GEMV against a vector of ones.
///
/// Create once, execute many: create() allocates the ones vector; the execute methods only
/// queue work on the context's stream (they do not wait for it), allocating nothing.
///
/// Threading: one thread at a time, like the context. Never throws.
class AIMASS_COMPUTE_API FullyConnected {
 public:
  /// kInvalidArgument for non-positive sizes or a GELU post-op (as the CPU op); kInternal or
  /// kResourceExhausted naming the CUDA call that failed.
  static Expected<std::unique_ptr<FullyConnected>> create(std::shared_ptr<CudaContext> context,
                                                          const FullyConnectedShape& shape);
  ~FullyConnected();
  FullyConnected(const FullyConnected&) = delete;
  FullyConnected& operator=(const FullyConnected&) = delete;

  const FullyConnectedShape& shape() const noexcept { return shape_; }

  /// y = act(x W + b). `bias` is ignored when the shape has none.
  Status forward(const float* x, const float* weight, const float* bias, float* y) noexcept;
  /// dx = dy W^T (dy with respect to the pre-activation output). kFailedPrecondition when built
  /// without backward.
  Status backwardData(const float* dy, const float* weight, float* dx) noexcept;
  /// dW = x^T dy and db = column sums of dy (skipped when `bias_grad` is null or the shape has
  /// no bias); both overwritten.
  Status backwardWeights(const float* x, const float* dy, float* weight_grad,
                         float* bias_grad) noexcept;

  struct Impl;

 private:
  FullyConnected(FullyConnectedShape shape, std::unique_ptr<Impl> impl);

  FullyConnectedShape shape_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute::cuda
