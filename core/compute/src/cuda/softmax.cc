// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/cuda/softmax.h"

#include <string>

#include "cuda_status.h"
#include "kernels.h"

namespace aimass::compute::cuda {

Softmax::Softmax(std::shared_ptr<CudaContext> context, std::int64_t rows, std::int64_t cols,
                 bool log)
    : context_(std::move(context)), rows_(rows), cols_(cols), log_(log) {}

Softmax::~Softmax() = default;

Expected<std::unique_ptr<Softmax>> Softmax::create(std::shared_ptr<CudaContext> context,
                                                   std::int64_t rows, std::int64_t cols, bool log) {
  if (context == nullptr) {
    return invalidArgument("cuda::Softmax needs a CUDA context");
  }
  if (rows <= 0 || cols <= 0) {
    return invalidArgument("cuda::Softmax needs positive sizes, got " + std::to_string(rows) +
                           " x " + std::to_string(cols));
  }
  return std::unique_ptr<Softmax>(new Softmax(std::move(context), rows, cols, log));
}

Status Softmax::forward(const float* src, float* dst) noexcept {
  AIMASS_RETURN_IF_ERROR(enterDevice(*context_));
  return cudaStatus(kernels::softmaxRows(src, dst, rows_, cols_, log_, context_->impl().stream),
                    log_ ? "log-softmax kernel" : "softmax kernel");
}

}  // namespace aimass::compute::cuda
