# SPDX-License-Identifier: Apache-2.0
# AIMASS_WITH_CUDA: AUTO builds libaimass_compute's CUDA backend (core/compute/src/cuda) when
# CMake finds the CUDA toolkit, ON requires it, OFF leaves it out. Included from the top-level
# CMakeLists.txt because enable_language() must run in the directory above every CUDA target.
# Sets AIMASS_CUDA_ENABLED.
set(AIMASS_WITH_CUDA AUTO CACHE STRING
    "Build the CUDA/cuBLAS backend of libaimass_compute: AUTO (when the toolkit is found), ON, OFF")
set_property(CACHE AIMASS_WITH_CUDA PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${AIMASS_WITH_CUDA}" aimass_with_cuda)
if(NOT aimass_with_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "AIMASS_WITH_CUDA must be AUTO, ON or OFF, got '${AIMASS_WITH_CUDA}'")
endif()

set(AIMASS_CUDA_ENABLED OFF)
if(NOT aimass_with_cuda STREQUAL "OFF")
  find_package(CUDAToolkit 12)
  if(CUDAToolkit_FOUND)
    if(NOT CMAKE_CUDA_COMPILER)
      set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
    endif()
    # Ampere (A100) and Hopper (H100/H200) machine code, plus Hopper PTX for newer GPUs to JIT.
    if(NOT CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80-real 90)
    endif()
    enable_language(CUDA)
    set(AIMASS_CUDA_ENABLED ON)
  elseif(aimass_with_cuda STREQUAL "ON")
    message(FATAL_ERROR "AIMASS_WITH_CUDA=ON, but CMake found no CUDA toolkit (12 or newer); "
                        "set CUDAToolkit_ROOT to its folder, or use AUTO or OFF")
  endif()
endif()
if(AIMASS_CUDA_ENABLED)
  message(STATUS "aimass: CUDA backend on (CUDA ${CUDAToolkit_VERSION}, architectures "
                 "${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "aimass: CUDA backend off (AIMASS_WITH_CUDA=${AIMASS_WITH_CUDA})")
endif()
