// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/softmax.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace aimass::compute {

// Written out rather than on oneDNN's softmax primitive: oneDNN 2.6's jit softmax took ~16 ms
// for a 128 x 10 log-softmax here (ONEDNN_VERBOSE), 1000x the cost of this loop, which the
// compiler vectorises.
struct Softmax::Impl {
  std::int64_t rows, cols;
  bool log;
};

Softmax::Softmax(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Softmax::~Softmax() = default;

Expected<std::unique_ptr<Softmax>> Softmax::create(std::shared_ptr<ComputeContext> context,
                                                   std::int64_t rows, std::int64_t cols, bool log) {
  if (context == nullptr) {
    return invalidArgument("Softmax needs a compute context");
  }
  if (rows <= 0 || cols <= 0) {
    return invalidArgument("Softmax needs positive sizes, got " + std::to_string(rows) + " x " +
                           std::to_string(cols));
  }
  return std::unique_ptr<Softmax>(new Softmax(std::make_unique<Impl>(Impl{rows, cols, log})));
}

Status Softmax::forward(const float* src, float* dst) noexcept {
  const std::int64_t cols = impl_->cols;
  for (std::int64_t r = 0; r < impl_->rows; ++r) {
    const float* x = src + r * cols;
    float* y = dst + r * cols;
    const float max = *std::max_element(x, x + cols);
    float sum = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      sum += std::exp(x[c] - max);
    }
    if (impl_->log) {
      const float shift = max + std::log(sum);
      for (std::int64_t c = 0; c < cols; ++c) {
        y[c] = x[c] - shift;
      }
    } else {
      const float inverse = 1.0f / sum;
      for (std::int64_t c = 0; c < cols; ++c) {
        y[c] = std::exp(x[c] - max) * inverse;
      }
    }
  }
  return okStatus();
}

}  // namespace aimass::compute
