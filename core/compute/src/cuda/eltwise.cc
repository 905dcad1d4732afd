// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/cuda/eltwise.h"

#include <string>

#include "cuda_status.h"
#include "kernels.h"

namespace aimass::compute::cuda {

Eltwise::Eltwise(std::shared_ptr<CudaContext> context, Activation activation, std::int64_t elements,
                 bool backward)
    : context_(std::move(context)),
      activation_(activation),
      elements_(elements),
      backward_(backward) {}

Eltwise::~Eltwise() = default;

Expected<std::unique_ptr<Eltwise>> Eltwise::create(std::shared_ptr<CudaContext> context,
                                                   Activation activation, std::int64_t elements,
                                                   bool backward) {
  if (context == nullptr) {
    return invalidArgument("cuda::Eltwise needs a CUDA context");
  }
  if (activation == Activation::kNone || elements <= 0) {
    return invalidArgument("cuda::Eltwise needs an activation and a positive element count, got " +
                           std::string(activationName(activation)) + " over " +
                           std::to_string(elements));
  }
  return std::unique_ptr<Eltwise>(new Eltwise(std::move(context), activation, elements, backward));
}

Status Eltwise::forward(const float* src, float* dst) noexcept {
  AIMASS_RETURN_IF_ERROR(enterDevice(*context_));
  return cudaStatus(
      kernels::activationForward(src, dst, elements_, activation_, context_->impl().stream),
      "activation forward kernel");
}

Status Eltwise::backward(const float* saved, const float* diff_dst, float* diff_src) noexcept {
  if (!backward_) {
    return failedPrecondition("cuda::Eltwise was built without backward");
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(*context_));
  return cudaStatus(kernels::activationBackward(saved, diff_dst, diff_src, elements_, activation_,
                                                context_->impl().stream),
                    "activation backward kernel");
}

Status multiply(CudaContext& context, const float* a, const float* b, float* out,
                std::int64_t elements) noexcept {
  if (elements < 0) {
    return invalidArgument("cuda::multiply needs a non-negative element count, got " +
                           std::to_string(elements));
  }
  if (elements == 0) {
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(context));
  return cudaStatus(kernels::multiply(a, b, out, elements, context.impl().stream),
                    "multiply kernel");
}

}  // namespace aimass::compute::cuda
