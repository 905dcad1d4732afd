// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/compute_context.h"

#include <omp.h>

#include <algorithm>

#include "context_impl.h"

namespace aimass::compute {

ComputeContext::ComputeContext(int threads, std::unique_ptr<Impl> impl)
    : threads_(threads), impl_(std::move(impl)) {}

ComputeContext::~ComputeContext() = default;

Expected<std::shared_ptr<ComputeContext>> ComputeContext::create(int threads) {
  if (threads < 1) {
    return invalidArgument("a compute context needs at least 1 thread, got " +
                           std::to_string(threads));
  }
  std::shared_ptr<ComputeContext> context;
  Status status = dnnlCall("creating the CPU compute context", [&] {
    auto impl = std::make_unique<Impl>();
    impl->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    impl->stream = dnnl::stream(impl->engine);
    context.reset(new ComputeContext(threads, std::move(impl)));
  });
  if (!status.ok()) {
    return status;
  }
  return context;
}

void ComputeContext::enterThreads() const noexcept { enterThreads(threads_); }

void ComputeContext::enterThreads(int limit) const noexcept {
  // The thread-count ICV is per calling thread, and oneDNN's OpenMP runtime sizes its parallel
  // regions from it.
  const int threads = std::max(1, std::min(limit, threads_));
  if (omp_get_max_threads() != threads) {
    omp_set_num_threads(threads);
  }
}

}  // namespace aimass::compute
