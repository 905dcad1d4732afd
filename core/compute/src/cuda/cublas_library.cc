// SPDX-License-Identifier: Apache-2.0
#include "cublas_library.h"

#include <dlfcn.h>

#include <string>

namespace aimass::compute::cuda {

namespace {

Expected<CublasLibrary> load() {
  // The soname first (the loader's cache and LD_LIBRARY_PATH), then the toolkit CMake found.
  void* handle = dlopen(AIMASS_CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const std::string first = dlerror();
    handle = dlopen(AIMASS_CUBLAS_DIR "/" AIMASS_CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return failedPrecondition("cannot load cuBLAS: dlopen " AIMASS_CUBLAS_SONAME ": " + first);
    }
  }
  // The handle is never closed: the entry points are used until the process exits.
  CublasLibrary library;
  std::string missing;
  auto resolve = [&](auto& entry, const char* symbol) {
    entry = reinterpret_cast<std::remove_reference_t<decltype(entry)>>(dlsym(handle, symbol));
    if (entry == nullptr && missing.empty()) {
      missing = symbol;
    }
  };
  resolve(library.create, "cublasCreate_v2");
  resolve(library.destroy, "cublasDestroy_v2");
  resolve(library.set_stream, "cublasSetStream_v2");
  resolve(library.set_math_mode, "cublasSetMathMode");
  resolve(library.set_pointer_mode, "cublasSetPointerMode_v2");
  resolve(library.sgemm, "cublasSgemm_v2");
  resolve(library.sgemv, "cublasSgemv_v2");
  resolve(library.status_name, "cublasGetStatusName");
  resolve(library.status_string, "cublasGetStatusString");
  if (!missing.empty()) {
    return failedPrecondition("cuBLAS (" AIMASS_CUBLAS_SONAME ") has no symbol " + missing);
  }
  return library;
}

}  // namespace

Expected<const CublasLibrary*> cublasLibrary() {
  static const Expected<CublasLibrary> library = load();
  if (!library.ok()) {
    return library.status();
  }
  return &library.value();
}

}  // namespace aimass::compute::cuda
