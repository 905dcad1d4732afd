// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <omp.h>

#include <limits>
#include <oneapi/dnnl/dnnl.hpp>

#include "aimass/compute/compute_context.h"

namespace aimass::compute {

struct ComputeContext::Impl {
  dnnl::engine engine;
  dnnl::stream stream;
};

/// Runs a oneDNN call, turning its exceptions into a Status naming `what` (oneDNN reports
/// failures by throwing dnnl::error).
template <typename Fn>
Status dnnlCall(const char* what, Fn&& fn) noexcept {
  try {
    fn();
    return Status();
  } catch (const dnnl::error& e) {
    return internalError(std::string(what) + ": oneDNN: " + e.what());
  } catch (const std::bad_alloc&) {
    return resourceExhausted(std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return internalError(std::string(what) + ": " + e.what());
  }
}

/// How many threads an op with `work` units of work (multiply-adds, or elements for
/// element-wise ops) runs on: 1 below `minimum`, otherwise the context's count. Measured on the
/// W1 network with 2 threads (oneDNN 2.6, ONEDNN_VERBOSE): the batch-128 products of the
/// 10-unit output layer (164k multiply-adds), the bias sums and element-wise ops on 16-32k
/// values took 1.2-3x longer on 2 threads than on 1, fork and join costing more than the work.
inline int threadLimit(double work, double minimum) {
  return work < minimum ? 1 : std::numeric_limits<int>::max();
}
/// Thresholds for threadLimit(): matrix products (m * k * n) and element-wise ops (elements).
constexpr double kParallelProductMinimum = 1 << 20;
constexpr double kParallelElementsMinimum = 1 << 16;
/// For FP32-to-bf16 conversions and weight packing (elements), which run while the team still
/// spins from the op before. W1's bf16 step converts 16k-200k values at a time; splitting each
/// over 2 threads took bench/mlp_step from 0.43-0.53 to 0.33-0.40 ms a batch.
constexpr double kParallelConvertMinimum = 1 << 14;

/// Sets the calling thread's OpenMP thread count as context.enterThreads(limit) does for the
/// lifetime of the scope, then restores it: oneDNN sizes some primitives' work split from it
/// when they are built.
class ScopedThreads {
 public:
  ScopedThreads(const ComputeContext& context, int limit) : previous_(omp_get_max_threads()) {
    context.enterThreads(limit);
  }
  ~ScopedThreads() { omp_set_num_threads(previous_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

/// A dense row-major descriptor of `dims` (FP32 unless `type` says otherwise).
inline dnnl::memory::desc rowMajor(const dnnl::memory::dims& dims,
                                   dnnl::memory::data_type type = dnnl::memory::data_type::f32) {
  return dnnl::memory::desc(
      dims, type, dims.size() == 1 ? dnnl::memory::format_tag::a : dnnl::memory::format_tag::ab);
}

/// The same 2-D matrix stored transposed: logical [r, c] held column-major.
inline dnnl::memory::desc transposed(std::int64_t r, std::int64_t c,
                                     dnnl::memory::data_type type = dnnl::memory::data_type::f32) {
  return dnnl::memory::desc({r, c}, type, dnnl::memory::dims{1, r});
}

}  // namespace aimass::compute
