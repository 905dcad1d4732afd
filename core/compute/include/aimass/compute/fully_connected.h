// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/activation.h"
#include "aimass/compute/compute_context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute {

/// Shape and options of a FullyConnected op.
struct FullyConnectedShape {
  std::int64_t rows = 0;     ///< batch size M
  std::int64_t inputs = 0;   ///< K
  std::int64_t outputs = 0;  ///< N
  bool bias = true;          ///< add a bias row b[N]
  /// Activation fused into forward() as a post-op: kNone, kRelu, kTanh or kSigmoid (GELU needs
  /// its input for the backward pass, so it runs as a separate Eltwise op).
  Activation activation = Activation::kNone;
  bool backward = true;  ///< also build backwardData() and backwardWeights()
};

/// A fully connected layer y = act(x W + b) for one shape: x [M, K], W [K, N] (row-major, the
/// weights of input k are contiguous), b [N], y [M, N], all dense row-major FP32.
///
/// Create once, execute many: create() builds the oneDNN matmul primitives (forward, backward
/// with respect to data and to weights, and the bias-gradient reduction) and their memory
/// objects; the execute methods only point them at the caller's buffers and run, allocating
/// nothing and never throwing.
///
/// Threading: one thread at a time (the memory objects are rebound on every call); make one op
/// per thread. Pointers are borrowed for the duration of a call.
class AIMASS_COMPUTE_API FullyConnected {
 public:
  /// kInvalidArgument for non-positive sizes or a GELU post-op; kInternal when oneDNN cannot
  /// build the primitives.
  static Expected<std::unique_ptr<FullyConnected>> create(std::shared_ptr<ComputeContext> context,
                                                          const FullyConnectedShape& shape);
  ~FullyConnected();
  FullyConnected(const FullyConnected&) = delete;
  FullyConnected& operator=(const FullyConnected&) = delete;

  const FullyConnectedShape& shape() const noexcept { return shape_; }

  /// y = act(x W + b). `bias` is ignored when the shape has none. With one row (rows == 1,
  /// a single served request) and no activation or ReLU, oneDNN is not used: the result is the
  /// sum of the weight rows of the non-zero inputs (zero inputs, often most of an image or of a
  /// ReLU output, cost nothing), on the calling thread; the rounding may then differ from
  /// oneDNN's in the last bits. Note that a zero input skips its row even where that row holds
  /// an infinity or NaN.
  Status forward(const float* x, const float* weight, const float* bias, float* y) noexcept;
  /// dx = dy W^T, where dy is the gradient with respect to the pre-activation output (apply
  /// the activation's backward first). kFailedPrecondition when built without backward.
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

}  // namespace aimass::compute
