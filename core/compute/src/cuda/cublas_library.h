// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cublas_v2.h>

#include "aimass/status.h"

namespace aimass::compute::cuda {

/// The cuBLAS entry points libaimass_compute_cuda uses, resolved from libcublas with dlopen the
/// first time a CudaContext is created rather than linked: loading libcublas and its 540 MB
/// libcublasLt costs every process about 2 s of relocations, and most processes that load
/// this library (through model.mlp) never touch a GPU.
struct CublasLibrary {
  decltype(&::cublasCreate_v2) create = nullptr;
  decltype(&::cublasDestroy_v2) destroy = nullptr;
  decltype(&::cublasSetStream_v2) set_stream = nullptr;
  decltype(&::cublasSetMathMode) set_math_mode = nullptr;
  decltype(&::cublasSetPointerMode_v2) set_pointer_mode = nullptr;
  decltype(&::cublasSgemm_v2) sgemm = nullptr;
  decltype(&::cublasSgemv_v2) sgemv = nullptr;
  decltype(&::cublasGetStatusName) status_name = nullptr;
  decltype(&::cublasGetStatusString) status_string = nullptr;
};

/// Loads cuBLAS once per process (thread-safe) and returns its entry points, which stay valid
/// until the process ends. kFailedPrecondition naming the library and dlerror() when it cannot
/// be loaded, or the missing symbol.
Expected<const CublasLibrary*> cublasLibrary();

}  // namespace aimass::compute::cuda
