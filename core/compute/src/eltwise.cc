// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/eltwise.h"

#include <string>

#include "context_impl.h"

namespace aimass::compute {

struct Eltwise::Impl {
  std::shared_ptr<ComputeContext> context;
  dnnl::eltwise_forward forward;
  dnnl::eltwise_backward backward;
  dnnl::memory src, dst, saved, diff_dst, diff_src;
  bool has_backward = false;
  int threads = 1;  // threadLimit() of the element count
};

Eltwise::Eltwise(Activation activation, std::unique_ptr<Impl> impl)
    : activation_(activation), impl_(std::move(impl)) {}

Eltwise::~Eltwise() = default;

Expected<std::unique_ptr<Eltwise>> Eltwise::create(std::shared_ptr<ComputeContext> context,
                                                   Activation activation, std::int64_t elements,
                                                   bool backward) {
  if (context == nullptr) {
    return invalidArgument("Eltwise needs a compute context");
  }
  if (activation == Activation::kNone || elements <= 0) {
    return invalidArgument("Eltwise needs an activation and a positive element count, got " +
                           std::string(activationName(activation)) + " over " +
                           std::to_string(elements));
  }
  dnnl::algorithm forward_algorithm = dnnl::algorithm::eltwise_relu;
  dnnl::algorithm backward_algorithm = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
  switch (activation) {
    case Activation::kTanh:
      forward_algorithm = dnnl::algorithm::eltwise_tanh;
      backward_algorithm = dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;
      break;
    case Activation::kSigmoid:
      forward_algorithm = dnnl::algorithm::eltwise_logistic;
      backward_algorithm = dnnl::algorithm::eltwise_logistic_use_dst_for_bwd;
      break;
    case Activation::kGelu:
      forward_algorithm = dnnl::algorithm::eltwise_gelu_tanh;
      backward_algorithm = dnnl::algorithm::eltwise_gelu_tanh;
      break;
    case Activation::kRelu:
    case Activation::kNone:
      break;
  }
  auto impl = std::make_unique<Impl>();
  impl->context = context;
  impl->threads = threadLimit(static_cast<double>(elements), kParallelElementsMinimum);
  Status status = dnnlCall("building Eltwise", [&] {
    const dnnl::engine& engine = context->impl().engine;
    ScopedThreads threads(*context, impl->threads);
    auto md = rowMajor({elements});
    auto forward_pd = dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, forward_algorithm, md),
        engine);
    impl->forward = dnnl::eltwise_forward(forward_pd);
    impl->src = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
    impl->dst = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
    if (backward) {
      // The use_dst_for_bwd variants need a forward descriptor of the same algorithm as hint.
      auto hint = dnnl::eltwise_forward::primitive_desc(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, backward_algorithm, md),
          engine);
      impl->backward = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
          dnnl::eltwise_backward::desc(backward_algorithm, md, md), engine, hint));
      impl->saved = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
      impl->diff_dst = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
      impl->diff_src = dnnl::memory(md, engine, DNNL_MEMORY_NONE);
      impl->has_backward = true;
    }
  });
  if (!status.ok()) {
    return status;
  }
  return std::unique_ptr<Eltwise>(new Eltwise(activation, std::move(impl)));
}

Status Eltwise::forward(const float* src, float* dst) noexcept {
  Impl& p = *impl_;
  return dnnlCall("Eltwise forward", [&] {
    p.context->enterThreads(p.threads);
    p.src.set_data_handle(const_cast<float*>(src));
    p.dst.set_data_handle(dst);
    p.forward.execute(p.context->impl().stream, {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}});
  });
}

Status Eltwise::backward(const float* saved, const float* diff_dst, float* diff_src) noexcept {
  Impl& p = *impl_;
  if (!p.has_backward) {
    return failedPrecondition("Eltwise was built without backward");
  }
  return dnnlCall("Eltwise backward", [&] {
    p.context->enterThreads(p.threads);
    p.saved.set_data_handle(const_cast<float*>(saved));
    p.diff_dst.set_data_handle(const_cast<float*>(diff_dst));
    p.diff_src.set_data_handle(diff_src);
    const int saved_arg = usesOutputForBackward() ? DNNL_ARG_DST : DNNL_ARG_SRC;
    p.backward.execute(
        p.context->impl().stream,
        {{saved_arg, p.saved}, {DNNL_ARG_DIFF_DST, p.diff_dst}, {DNNL_ARG_DIFF_SRC, p.diff_src}});
  });
}

}  // namespace aimass::compute
