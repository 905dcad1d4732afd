// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/cuda/reduction.h"

#include <string>

#include "cuda_status.h"
#include "kernels.h"

namespace aimass::compute::cuda {

struct Sum::Impl {
  std::shared_ptr<CudaContext> context;
  std::int64_t elements = 0;
  DeviceBuffer scratch;  // kSumBlocks partial sums, then the total
};

Sum::Sum(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Sum::~Sum() = default;

Expected<std::unique_ptr<Sum>> Sum::create(std::shared_ptr<CudaContext> context,
                                           std::int64_t elements) {
  if (context == nullptr) {
    return invalidArgument("cuda::Sum needs a CUDA context");
  }
  if (elements <= 0) {
    return invalidArgument("cuda::Sum needs a positive element count, got " +
                           std::to_string(elements));
  }
  auto scratch = DeviceBuffer::allocate(context, sizeof(double) * (kernels::kSumBlocks + 1));
  if (!scratch.ok()) {
    return scratch.status().withContext("cuda::Sum");
  }
  auto impl = std::make_unique<Impl>();
  impl->context = std::move(context);
  impl->elements = elements;
  impl->scratch = std::move(scratch).value();
  return std::unique_ptr<Sum>(new Sum(std::move(impl)));
}

Status Sum::reduce(const float* x) noexcept {
  Impl& p = *impl_;
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  double* partials = p.scratch.data<double>();
  return cudaStatus(kernels::sum(x, p.elements, partials, partials + kernels::kSumBlocks,
                                 p.context->impl().stream),
                    "sum kernel");
}

Expected<double> Sum::result() noexcept {
  Impl& p = *impl_;
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  double total = 0;
  AIMASS_RETURN_IF_ERROR(
      cudaStatus(cudaMemcpyAsync(&total, p.scratch.data<double>() + kernels::kSumBlocks,
                                 sizeof(double), cudaMemcpyDeviceToHost, p.context->impl().stream),
                 "cudaMemcpyAsync (sum to host)"));
  AIMASS_RETURN_IF_ERROR(p.context->synchronize());
  return total;
}

Expected<double> Sum::compute(const float* x) noexcept {
  AIMASS_RETURN_IF_ERROR(reduce(x));
  return result();
}

}  // namespace aimass::compute::cuda
