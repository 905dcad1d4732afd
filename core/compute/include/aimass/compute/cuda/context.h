// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>

#include "aimass/compute/export.h"
#include "aimass/status.h"

/// The CUDA backend of libaimass_compute (libaimass_compute_cuda): the same operations as the
/// CPU ops, on device memory, with cuBLAS for the matrix products and small kernels for the
/// rest. Built only when CMake finds the CUDA toolkit (AIMASS_WITH_CUDA); targets linking
/// aimass::compute_cuda see AIMASS_COMPUTE_CUDA=1. None of these headers includes a CUDA header.
namespace aimass::compute::cuda {

/// The number of CUDA devices the runtime sees. kFailedPrecondition naming cudaGetDeviceCount's
/// result when the runtime cannot tell (no driver, no device: "cudaGetDeviceCount returned
/// cudaErrorNoDevice (100): no CUDA-capable device is detected").
AIMASS_COMPUTE_API Expected<int> deviceCount() noexcept;

/// One CUDA device, a non-blocking stream on it and a cuBLAS handle bound to that stream. Every
/// op built on a context runs on its stream, in call order.
///
/// Ops and DeviceBuffers keep a shared_ptr to their context, so it lives as long as the longest
/// lived of them.
///
/// Threading: one thread at a time (the cuBLAS handle and the stream are shared by the ops);
/// give each thread its own context. Methods never throw.
class AIMASS_COMPUTE_API CudaContext {
 public:
  /// A context on device `device`. kFailedPrecondition when there is no such device (naming
  /// cudaGetDeviceCount's result, or the count); kInternal naming the CUDA or cuBLAS call that
  /// failed otherwise.
  static Expected<std::shared_ptr<CudaContext>> create(int device = 0);

  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const noexcept { return device_; }

  /// Waits for everything queued on the stream; reports the first asynchronous error.
  Status synchronize() noexcept;

  /// The CUDA objects, for the ops in this library only.
  struct Impl;
  Impl& impl() const noexcept { return *impl_; }

 private:
  CudaContext(int device, std::unique_ptr<Impl> impl);

  int device_;
  std::unique_ptr<Impl> impl_;
};

/// Device memory owned by one object (cudaMalloc in allocate(), cudaFree in the destructor).
///
/// Copies run on the context's stream, in order with the ops: upload() returns once the host
/// bytes are copied out (the caller may reuse them at once); download() returns when the bytes
/// have arrived. Move-only; one thread at a time, like its context.
class AIMASS_COMPUTE_API DeviceBuffer {
 public:
  DeviceBuffer() = default;
  /// `bytes` (> 0) of device memory. kResourceExhausted when the device is out of memory.
  static Expected<DeviceBuffer> allocate(std::shared_ptr<CudaContext> context, std::size_t bytes);
  /// allocate() for `count` floats.
  static Expected<DeviceBuffer> floats(std::shared_ptr<CudaContext> context, std::size_t count) {
    return allocate(std::move(context), count * sizeof(float));
  }

  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::size_t bytes() const noexcept { return bytes_; }
  bool empty() const noexcept { return data_ == nullptr; }
  template <typename T>
  T* data() const noexcept {
    return static_cast<T*>(data_);
  }

  /// Copies `bytes` (<= bytes()) from host memory to the start of the buffer.
  /// kInvalidArgument when `bytes` exceeds the buffer.
  Status upload(const void* host, std::size_t bytes) noexcept;
  /// Copies `bytes` (<= bytes()) from the start of the buffer to host memory.
  Status download(void* host, std::size_t bytes) const noexcept;

 private:
  DeviceBuffer(std::shared_ptr<CudaContext> context, void* data, std::size_t bytes)
      : context_(std::move(context)), data_(data), bytes_(bytes) {}
  void release() noexcept;

  std::shared_ptr<CudaContext> context_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace aimass::compute::cuda
