// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/activation.h"
#include "aimass/compute/compute_context.h"
#include "aimass/compute/export.h"
#include "aimass/compute/precision.h"
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
  /// kBFloat16: the products read bf16 sources and packed bf16 weights (setWeights() and the
  /// BFloat16 overloads below) and write FP32, accumulating in FP32; bias, post-op and the bias gradient stay FP32. Needs
  /// bfloat16Supported() (create() refuses it otherwise).
  Precision precision = Precision::kFloat32;
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

  /// The same three with bf16 sources, for a shape built with kBFloat16 (the FP32 overloads
  /// then answer kFailedPrecondition, and these do for an FP32 shape). The weights are the
  /// ones the last setWeights() packed; results are FP32. backwardWeights() takes dy twice: as
  /// bf16 for dW and as FP32 (`dy_float`) for the bias gradient. One row goes through oneDNN.
  Status forward(const BFloat16* x, const float* bias, float* y) noexcept;
  Status backwardData(const BFloat16* dy, float* dx) noexcept;
  Status backwardWeights(const BFloat16* x, const BFloat16* dy, const float* dy_float,
                         float* weight_grad, float* bias_grad) noexcept;
  /// bf16: rounds `weight` (FP32 [K, N], row-major) to bf16 and packs it, in one pass, into the
  /// blocked (VNNI) layout forward() reads, oneDNN's preferred one (plain bf16 weights would be
  /// repacked inside every product). backwardData() packs W^T from the same `weight` when it is
  /// first called after this (a network's first layer never calls it), so the caller keeps
  /// `weight` alive and unchanged until then. Call it whenever the weights change (a training
  /// step). kFailedPrecondition for an FP32 shape; backwardData() answers kFailedPrecondition
  /// before the first setWeights().
  Status setWeights(const float* weight) noexcept;

  struct Impl;

 private:
  FullyConnected(FullyConnectedShape shape, std::unique_ptr<Impl> impl);
  Status checkPrecision(Precision wanted, const char* what) const noexcept;
  // The oneDNN part of each call, for either precision (the pointers' types are checked above).
  // `weight` null: the packed bf16 weights.
  Status runForward(const void* x, const void* weight, const float* bias, float* y) noexcept;
  Status runBackwardData(const void* dy, const void* weight, float* dx) noexcept;
  Status runBackwardWeights(const void* x, const void* dy, const float* dy_float,
                            float* weight_grad, float* bias_grad) noexcept;

  FullyConnectedShape shape_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute
