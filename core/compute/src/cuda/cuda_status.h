// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "aimass/compute/cuda/context.h"
#include "aimass/status.h"
#include "cublas_library.h"

namespace aimass::compute::cuda {

/// OK for cudaSuccess; otherwise a Status naming the call and the error ("cudaMalloc:
/// cudaErrorMemoryAllocation (2): out of memory"). Out-of-memory is kResourceExhausted,
/// everything else kInternal.
inline Status cudaStatus(cudaError_t error, const char* call) {
  if (error == cudaSuccess) {
    return Status();
  }
  std::string message = std::string(call) + ": " + cudaGetErrorName(error) + " (" +
                        std::to_string(static_cast<int>(error)) + "): " + cudaGetErrorString(error);
  return error == cudaErrorMemoryAllocation ? resourceExhausted(std::move(message))
                                            : internalError(std::move(message));
}

/// The same for cuBLAS ("cublasSgemm: CUBLAS_STATUS_EXECUTION_FAILED (13): ...").
inline Status cublasStatus(const CublasLibrary& cublas, cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) {
    return Status();
  }
  std::string message = std::string(call) + ": " + cublas.status_name(status) + " (" +
                        std::to_string(static_cast<int>(status)) +
                        "): " + cublas.status_string(status);
  return status == CUBLAS_STATUS_ALLOC_FAILED ? resourceExhausted(std::move(message))
                                              : internalError(std::move(message));
}

struct CudaContext::Impl {
  cudaStream_t stream = nullptr;
  const CublasLibrary* api = nullptr;  // loaded by create()
  cublasHandle_t cublas = nullptr;
};

/// Makes `context`'s device current on the calling thread (kernels and cuBLAS run on the
/// current device). Cheap when it already is.
inline Status enterDevice(const CudaContext& context) {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current == context.device()) {
    return Status();
  }
  return cudaStatus(cudaSetDevice(context.device()), "cudaSetDevice");
}

}  // namespace aimass::compute::cuda
