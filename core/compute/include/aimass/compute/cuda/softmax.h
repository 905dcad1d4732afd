// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/cuda/context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute::cuda {

/// compute::Softmax on a CUDA device: row-wise, numerically stable softmax or log-softmax of a
/// [rows, cols] FP32 matrix in device memory (one warp per row).
///
/// Threading: one thread at a time, like the context. forward() queues a kernel and never
/// throws.
class AIMASS_COMPUTE_API Softmax {
 public:
  /// `log` selects log-softmax. kInvalidArgument for non-positive sizes.
  static Expected<std::unique_ptr<Softmax>> create(std::shared_ptr<CudaContext> context,
                                                   std::int64_t rows, std::int64_t cols, bool log);
  ~Softmax();
  Softmax(const Softmax&) = delete;
  Softmax& operator=(const Softmax&) = delete;

  /// dst[r] = softmax(src[r]) (or its logarithm); dst may alias src.
  Status forward(const float* src, float* dst) noexcept;

 private:
  Softmax(std::shared_ptr<CudaContext> context, std::int64_t rows, std::int64_t cols, bool log);

  std::shared_ptr<CudaContext> context_;
  std::int64_t rows_, cols_;
  bool log_;
};

}  // namespace aimass::compute::cuda
