// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>

#include "aimass/compute/cuda/context.h"
#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute::cuda {

/// The sum of `elements` device floats, accumulated in double, returned to the host. The order
/// of the additions is fixed (a grid-stride pass into per-block partial sums, then one block
/// over the partials), so the same input gives the same bits on every run.
///
/// Create once, execute many: create() allocates the partial sums. Threading: one thread at a
/// time, like the context. Never throws.
class AIMASS_COMPUTE_API Sum {
 public:
  /// kInvalidArgument for a non-positive element count; kResourceExhausted from cudaMalloc.
  static Expected<std::unique_ptr<Sum>> create(std::shared_ptr<CudaContext> context,
                                               std::int64_t elements);
  ~Sum();
  Sum(const Sum&) = delete;
  Sum& operator=(const Sum&) = delete;

  /// Queues the reduction of `x` into a device double; result() reads it.
  Status reduce(const float* x) noexcept;
  /// Waits for the stream and returns the last reduce()'s sum.
  Expected<double> result() noexcept;
  /// reduce() then result().
  Expected<double> compute(const float* x) noexcept;

  struct Impl;

 private:
  explicit Sum(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute::cuda
