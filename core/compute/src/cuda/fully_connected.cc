// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/cuda/fully_connected.h"

#include <string>
#include <vector>

#include "cuda_status.h"
#include "kernels.h"

namespace aimass::compute::cuda {

// cuBLAS is column-major. A row-major [r, c] matrix is the column-major [c, r] matrix of its
// transpose, so every product below is written for the transposes: y^T = W^T x^T and so on,
// with the leading dimension of each operand its row-major width.
struct FullyConnected::Impl {
  std::shared_ptr<CudaContext> context;
  DeviceBuffer ones;  // [rows] of 1: the bias gradient is dy^T ones
  bool has_backward = false;
};

FullyConnected::FullyConnected(FullyConnectedShape shape, std::unique_ptr<Impl> impl)
    : shape_(shape), impl_(std::move(impl)) {}

FullyConnected::~FullyConnected() = default;

Expected<std::unique_ptr<FullyConnected>> FullyConnected::create(
    std::shared_ptr<CudaContext> context, const FullyConnectedShape& shape) {
  if (context == nullptr) {
    return invalidArgument("cuda::FullyConnected needs a CUDA context");
  }
  constexpr std::int64_t kIntMax = 2147483647;  // cuBLAS takes int sizes
  if (shape.rows <= 0 || shape.inputs <= 0 || shape.outputs <= 0 || shape.rows > kIntMax ||
      shape.inputs > kIntMax || shape.outputs > kIntMax) {
    return invalidArgument("cuda::FullyConnected needs sizes in [1, 2^31), got rows " +
                           std::to_string(shape.rows) + ", inputs " + std::to_string(shape.inputs) +
                           ", outputs " + std::to_string(shape.outputs));
  }
  if (shape.activation == Activation::kGelu) {
    return invalidArgument(
        "cuda::FullyConnected cannot fuse GELU (its backward needs the pre-activation); run an "
        "Eltwise op after it");
  }
  auto impl = std::make_unique<Impl>();
  impl->context = context;
  if (shape.backward) {
    if (shape.bias) {
      auto ones = DeviceBuffer::floats(context, static_cast<std::size_t>(shape.rows));
      if (!ones.ok()) {
        return ones.status().withContext("cuda::FullyConnected");
      }
      impl->ones = std::move(ones).value();
      AIMASS_RETURN_IF_ERROR(cudaStatus(
          kernels::fill(impl->ones.data<float>(), shape.rows, 1.0f, context->impl().stream),
          "fill kernel"));
    }
    impl->has_backward = true;
  }
  return std::unique_ptr<FullyConnected>(new FullyConnected(shape, std::move(impl)));
}

Status FullyConnected::forward(const float* x, const float* weight, const float* bias,
                               float* y) noexcept {
  Impl& p = *impl_;
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  const int m = static_cast<int>(shape_.rows), k = static_cast<int>(shape_.inputs),
            n = static_cast<int>(shape_.outputs);
  const float one = 1.0f, zero = 0.0f;
  // y^T [n, m] = W^T [n, k] x^T [k, m]
  const CudaContext::Impl& c = p.context->impl();
  AIMASS_RETURN_IF_ERROR(cublasStatus(
      *c.api,
      c.api->sgemm(c.cublas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, weight, n, x, k, &zero, y, n),
      "cublasSgemm (FullyConnected forward)"));
  const float* b = shape_.bias ? bias : nullptr;
  if (b == nullptr && shape_.activation == Activation::kNone) {
    return Status();
  }
  return cudaStatus(kernels::biasActivation(y, b, shape_.rows, shape_.outputs, shape_.activation,
                                            p.context->impl().stream),
                    "bias and activation kernel (FullyConnected forward)");
}

Status FullyConnected::backwardData(const float* dy, const float* weight, float* dx) noexcept {
  Impl& p = *impl_;
  if (!p.has_backward) {
    return failedPrecondition("cuda::FullyConnected was built without backward");
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  const int m = static_cast<int>(shape_.rows), k = static_cast<int>(shape_.inputs),
            n = static_cast<int>(shape_.outputs);
  const float one = 1.0f, zero = 0.0f;
  // dx^T [k, m] = W [k, n] dy^T [n, m]; W is stored as the column-major [n, k] W^T.
  const CudaContext::Impl& c = p.context->impl();
  return cublasStatus(*c.api,
                      c.api->sgemm(c.cublas, CUBLAS_OP_T, CUBLAS_OP_N, k, m, n, &one, weight, n, dy,
                                   n, &zero, dx, k),
                      "cublasSgemm (FullyConnected backward data)");
}

Status FullyConnected::backwardWeights(const float* x, const float* dy, float* weight_grad,
                                       float* bias_grad) noexcept {
  Impl& p = *impl_;
  if (!p.has_backward) {
    return failedPrecondition("cuda::FullyConnected was built without backward");
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  const int m = static_cast<int>(shape_.rows), k = static_cast<int>(shape_.inputs),
            n = static_cast<int>(shape_.outputs);
  const float one = 1.0f, zero = 0.0f;
  const CudaContext::Impl& c = p.context->impl();
  // dW^T [n, k] = dy^T [n, m] x [m, k]; x is stored as the column-major [k, m] x^T.
  AIMASS_RETURN_IF_ERROR(cublasStatus(*c.api,
                                      c.api->sgemm(c.cublas, CUBLAS_OP_N, CUBLAS_OP_T, n, k, m,
                                                   &one, dy, n, x, k, &zero, weight_grad, n),
                                      "cublasSgemm (FullyConnected backward weights)"));
  if (!shape_.bias || bias_grad == nullptr) {
    return Status();
  }
  // db [n] = dy^T [n, m] ones [m]
  return cublasStatus(*c.api,
                      c.api->sgemv(c.cublas, CUBLAS_OP_N, n, m, &one, dy, n, p.ones.data<float>(),
                                   1, &zero, bias_grad, 1),
                      "cublasSgemv (FullyConnected bias gradient)");
}

}  // namespace aimass::compute::cuda
