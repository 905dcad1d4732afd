// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/cuda/context.h"

#include <string>

#include "cuda_status.h"

namespace aimass::compute::cuda {

Expected<int> deviceCount() noexcept {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    // Without a driver or a device the runtime reports an error instead of 0; say which.
    return failedPrecondition(std::string("no usable CUDA device: cudaGetDeviceCount returned ") +
                              cudaGetErrorName(error) + " (" +
                              std::to_string(static_cast<int>(error)) +
                              "): " + cudaGetErrorString(error));
  }
  return count;
}

CudaContext::CudaContext(int device, std::unique_ptr<Impl> impl)
    : device_(device), impl_(std::move(impl)) {}

CudaContext::~CudaContext() {
  // Nothing to report to from a destructor; the handles go whatever the device's state.
  if (cudaSetDevice(device_) == cudaSuccess) {
    if (impl_->api != nullptr && impl_->cublas != nullptr) {
      impl_->api->destroy(impl_->cublas);
    }
    if (impl_->stream != nullptr) {
      cudaStreamDestroy(impl_->stream);
    }
  }
}

Expected<std::shared_ptr<CudaContext>> CudaContext::create(int device) {
  auto count = deviceCount();
  if (!count.ok()) {
    return count.status();
  }
  if (device < 0 || device >= *count) {
    return failedPrecondition("no CUDA device " + std::to_string(device) +
                              ": cudaGetDeviceCount reports " + std::to_string(*count) +
                              " device(s)");
  }
  AIMASS_RETURN_IF_ERROR(cudaStatus(cudaSetDevice(device), "cudaSetDevice"));
  std::shared_ptr<CudaContext> context;
  Status status = guard("creating a CUDA context", [&]() -> Status {
    context.reset(new CudaContext(device, std::make_unique<Impl>()));
    Impl& impl = context->impl();
    AIMASS_RETURN_IF_ERROR(cudaStatus(
        cudaStreamCreateWithFlags(&impl.stream, cudaStreamNonBlocking), "cudaStreamCreate"));
    auto api = cublasLibrary();
    if (!api.ok()) {
      return api.status();
    }
    const CublasLibrary& cublas = **api;
    impl.api = &cublas;
    if (Status created = cublasStatus(cublas, cublas.create(&impl.cublas), "cublasCreate");
        !created.ok()) {
      impl.cublas = nullptr;
      return created;
    }
    AIMASS_RETURN_IF_ERROR(
        cublasStatus(cublas, cublas.set_stream(impl.cublas, impl.stream), "cublasSetStream"));
    // Full FP32 products: TF32 tensor-core math would drift from the CPU path by ~1e-3.
    AIMASS_RETURN_IF_ERROR(cublasStatus(
        cublas, cublas.set_math_mode(impl.cublas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
    return cublasStatus(cublas, cublas.set_pointer_mode(impl.cublas, CUBLAS_POINTER_MODE_HOST),
                        "cublasSetPointerMode");
  });
  if (!status.ok()) {
    return status.withContext("CUDA device " + std::to_string(device));
  }
  return context;
}

Status CudaContext::synchronize() noexcept {
  AIMASS_RETURN_IF_ERROR(enterDevice(*this));
  return cudaStatus(cudaStreamSynchronize(impl_->stream), "cudaStreamSynchronize");
}

Expected<DeviceBuffer> DeviceBuffer::allocate(std::shared_ptr<CudaContext> context,
                                              std::size_t bytes) {
  if (context == nullptr) {
    return invalidArgument("DeviceBuffer needs a CUDA context");
  }
  if (bytes == 0) {
    return invalidArgument("DeviceBuffer needs a positive size");
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(*context));
  void* data = nullptr;
  Status status = cudaStatus(cudaMalloc(&data, bytes), "cudaMalloc");
  if (!status.ok()) {
    return status.withContext("allocating " + std::to_string(bytes) + " bytes on CUDA device " +
                              std::to_string(context->device()));
  }
  return DeviceBuffer(std::move(context), data, bytes);
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : context_(std::move(other.context_)), data_(other.data_), bytes_(other.bytes_) {
  other.data_ = nullptr;
  other.bytes_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    context_ = std::move(other.context_);
    data_ = other.data_;
    bytes_ = other.bytes_;
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (data_ != nullptr && enterDevice(*context_).ok()) {
    // cudaFree waits for the device, so work still queued on the buffer finishes first.
    cudaFree(data_);
  }
  data_ = nullptr;
  bytes_ = 0;
}

Status DeviceBuffer::upload(const void* host, std::size_t bytes) noexcept {
  if (bytes > bytes_) {
    return invalidArgument("upload of " + std::to_string(bytes) +
                           " bytes into a device buffer of " + std::to_string(bytes_));
  }
  if (bytes == 0) {
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(*context_));
  return cudaStatus(
      cudaMemcpyAsync(data_, host, bytes, cudaMemcpyHostToDevice, context_->impl().stream),
      "cudaMemcpyAsync (host to device)");
}

Status DeviceBuffer::download(void* host, std::size_t bytes) const noexcept {
  if (bytes > bytes_) {
    return invalidArgument("download of " + std::to_string(bytes) +
                           " bytes from a device buffer of " + std::to_string(bytes_));
  }
  if (bytes == 0) {
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(enterDevice(*context_));
  AIMASS_RETURN_IF_ERROR(cudaStatus(
      cudaMemcpyAsync(host, data_, bytes, cudaMemcpyDeviceToHost, context_->impl().stream),
      "cudaMemcpyAsync (device to host)"));
  return context_->synchronize();
}

}  // namespace aimass::compute::cuda
