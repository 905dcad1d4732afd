// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/activation.h"
#include "aimass/compute/cuda/context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute::cuda {

/// compute::Eltwise on a CUDA device: an activation over `elements` FP32 values in device
/// memory, forward and backward, with the same formulas (GELU is the tanh approximation) and the
/// same choice of saved buffer: the forward output for relu, tanh and sigmoid, the input for
/// GELU.
///
/// Threading: one thread at a time, like the context. Calls queue a kernel and never throw.
class AIMASS_COMPUTE_API Eltwise {
 public:
  /// kInvalidArgument for kNone or a non-positive element count.
  static Expected<std::unique_ptr<Eltwise>> create(std::shared_ptr<CudaContext> context,
                                                   Activation activation, std::int64_t elements,
                                                   bool backward = true);
  ~Eltwise();
  Eltwise(const Eltwise&) = delete;
  Eltwise& operator=(const Eltwise&) = delete;

  Activation activation() const noexcept { return activation_; }
  bool usesOutputForBackward() const noexcept { return activation_ != Activation::kGelu; }

  /// dst = act(src); src and dst may be the same buffer.
  Status forward(const float* src, float* dst) noexcept;
  /// diff_src = diff_dst * act'(x); diff_src may alias diff_dst. kFailedPrecondition when built
  /// without backward.
  Status backward(const float* saved, const float* diff_dst, float* diff_src) noexcept;

 private:
  Eltwise(std::shared_ptr<CudaContext> context, Activation activation, std::int64_t elements,
          bool backward);

  std::shared_ptr<CudaContext> context_;
  Activation activation_;
  std::int64_t elements_;
  bool backward_;
};

/// out[i] = a[i] * b[i] for `elements` device floats on the context's stream (out may alias
/// either input): dropout's mask, forward and backward. kInvalidArgument for a negative count.
AIMASS_COMPUTE_API Status multiply(CudaContext& context, const float* a, const float* b, float* out,
                                   std::int64_t elements) noexcept;

}  // namespace aimass::compute::cuda
