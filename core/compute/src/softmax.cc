// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/softmax.h"

#include <string>

#include "context_impl.h"

namespace aimass::compute {

struct Softmax::Impl {
  std::shared_ptr<ComputeContext> context;
  dnnl::softmax_v2_forward forward;
  dnnl::memory src, dst;
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
  auto impl = std::make_unique<Impl>();
  impl->context = context;
  Status status = dnnlCall("building Softmax", [&] {
    const dnnl::engine& engine = context->impl().engine;
    auto md = rowMajor({rows, cols});
    impl->forward = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(
        dnnl::softmax_v2_forward::desc(
            dnnl::prop_kind::forward_inference,
            log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate, md, md, 1),
        engine));
    impl->src = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
    impl->dst = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
  });
  if (!status.ok()) {
    return status;
  }
  return std::unique_ptr<Softmax>(new Softmax(std::move(impl)));
}

Status Softmax::forward(const float* src, float* dst) noexcept {
  Impl& p = *impl_;
  return dnnlCall("Softmax forward", [&] {
    p.context->enterThreads();
    p.src.set_data_handle(const_cast<float*>(src));
    p.dst.set_data_handle(dst);
    p.forward.execute(p.context->impl().stream, {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}});
  });
}

}  // namespace aimass::compute
