// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/compute_context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute {

/// Row-wise, numerically stable softmax or log-softmax of a [rows, cols] FP32 matrix (a plain
/// vectorised loop: oneDNN 2.6's softmax primitive was 1000x slower on narrow rows).
///
/// Threading: one thread at a time; make one op per thread. forward() allocates nothing and
/// never throws.
class AIMASS_COMPUTE_API Softmax {
 public:
  /// `log` selects log-softmax. kInvalidArgument for non-positive sizes; kInternal from oneDNN.
  static Expected<std::unique_ptr<Softmax>> create(std::shared_ptr<ComputeContext> context,
                                                   std::int64_t rows, std::int64_t cols, bool log);
  ~Softmax();
  Softmax(const Softmax&) = delete;
  Softmax& operator=(const Softmax&) = delete;

  /// dst[r] = softmax(src[r]) (or its logarithm); dst may alias src.
  Status forward(const float* src, float* dst) noexcept;

  struct Impl;

 private:
  explicit Softmax(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute
