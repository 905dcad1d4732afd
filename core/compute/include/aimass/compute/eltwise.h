// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/activation.h"
#include "aimass/compute/compute_context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute {

/// An element-wise activation over `elements` FP32 values, forward and backward, on oneDNN
/// eltwise primitives built once in create().
///
/// Backward takes the forward's output (`dst`) for relu, tanh and sigmoid, whose derivatives
/// follow from it, and the forward's input (`src`) for GELU; uses_output_for_backward() says
/// which, so a caller can keep just one buffer per layer.
///
/// Threading: one thread at a time; make one op per thread. Execute calls allocate nothing and
/// never throw.
class AIMASS_COMPUTE_API Eltwise {
 public:
  /// kInvalidArgument for kNone or a non-positive element count; kInternal from oneDNN.
  static Expected<std::unique_ptr<Eltwise>> create(std::shared_ptr<ComputeContext> context,
                                                   Activation activation, std::int64_t elements,
                                                   bool backward = true);
  ~Eltwise();
  Eltwise(const Eltwise&) = delete;
  Eltwise& operator=(const Eltwise&) = delete;

  Activation activation() const noexcept { return activation_; }
  /// True when backward() wants the forward output, false when it wants the forward input.
  bool usesOutputForBackward() const noexcept { return activation_ != Activation::kGelu; }

  /// dst = act(src); src and dst may be the same buffer.
  Status forward(const float* src, float* dst) noexcept;
  /// diff_src = diff_dst * act'(x); `saved` is the forward output or input as
  /// usesOutputForBackward() says. diff_src may alias diff_dst.
  Status backward(const float* saved, const float* diff_dst, float* diff_src) noexcept;

  struct Impl;

 private:
  Eltwise(Activation activation, std::unique_ptr<Impl> impl);

  Activation activation_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute
