// SPDX-License-Identifier: Apache-2.0
#pragma once

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

/// A dense row-major FP32 descriptor of `dims`.
inline dnnl::memory::desc rowMajor(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(
      dims, dnnl::memory::data_type::f32,
      dims.size() == 1 ? dnnl::memory::format_tag::a : dnnl::memory::format_tag::ab);
}

/// The same 2-D matrix stored transposed: logical [r, c] held column-major.
inline dnnl::memory::desc transposed(std::int64_t r, std::int64_t c) {
  return dnnl::memory::desc({r, c}, dnnl::memory::data_type::f32, dnnl::memory::dims{1, r});
}

}  // namespace aimass::compute
