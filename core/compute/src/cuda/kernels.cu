// SPDX-License-Identifier: Apache-2.0
// The element-wise, row-wise and reduction kernels of libaimass_compute_cuda. Formulas follow
// the CPU ops (oneDNN's eltwise algorithms, compute::Softmax, the losses) so that results agree
// within float rounding.
#include <algorithm>

#include "kernels.h"

namespace aimass::compute::cuda::kernels {

namespace {

constexpr int kThreads = 256;
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;

// Grid size for n elements with one thread per element and a grid-stride loop past the cap.
unsigned blocksFor(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, 65535));
}

__device__ float activate(Activation a, float x) {
  switch (a) {
    case Activation::kRelu:
      return x > 0.0f ? x : 0.0f;
    case Activation::kTanh:
      return tanhf(x);
    case Activation::kSigmoid:
      return 1.0f / (1.0f + expf(-x));
    case Activation::kGelu:
      return 0.5f * x * (1.0f + tanhf(kGeluScale * (x + kGeluCubic * x * x * x)));
    case Activation::kNone:
      break;
  }
  return x;
}

// d act / dx from the forward output y (relu, tanh, sigmoid) or the input x (gelu).
__device__ float derivative(Activation a, float saved) {
  switch (a) {
    case Activation::kRelu:
      return saved > 0.0f ? 1.0f : 0.0f;
    case Activation::kTanh:
      return 1.0f - saved * saved;
    case Activation::kSigmoid:
      return saved * (1.0f - saved);
    case Activation::kGelu: {
      const float x = saved;
      const float t = tanhf(kGeluScale * (x + kGeluCubic * x * x * x));
      return 0.5f * (1.0f + t) +
             0.5f * x * (1.0f - t * t) * kGeluScale * (1.0f + 3.0f * kGeluCubic * x * x);
    }
    case Activation::kNone:
      break;
  }
  return 1.0f;
}

__global__ void biasActivationKernel(float* y, const float* bias, std::int64_t rows,
                                     std::int64_t cols, Activation activation) {
  const std::int64_t n = rows * cols;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = bias != nullptr ? y[i] + bias[i % cols] : y[i];
    y[i] = activate(activation, v);
  }
}

__global__ void activationForwardKernel(const float* src, float* dst, std::int64_t n,
                                        Activation activation) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    dst[i] = activate(activation, src[i]);
  }
}

__global__ void activationBackwardKernel(const float* saved, const float* diff_dst, float* diff_src,
                                         std::int64_t n, Activation activation) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    diff_src[i] = diff_dst[i] * derivative(activation, saved[i]);
  }
}

// One warp per row: lanes stride over the columns, then shuffle-reduce the max and the sum.
__global__ void softmaxRowsKernel(const float* src, float* dst, std::int64_t rows,
                                  std::int64_t cols, bool log) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps_per_block = blockDim.x / 32;
  for (std::int64_t r = blockIdx.x * warps_per_block + threadIdx.x / 32; r < rows;
       r += std::int64_t{gridDim.x} * warps_per_block) {
    const float* x = src + r * cols;
    float* y = dst + r * cols;
    float max = -INFINITY;
    for (std::int64_t c = lane; c < cols; c += 32) {
      max = fmaxf(max, x[c]);
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      max = fmaxf(max, __shfl_xor_sync(0xffffffffu, max, offset));
    }
    float sum = 0.0f;
    for (std::int64_t c = lane; c < cols; c += 32) {
      sum += expf(x[c] - max);
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    }
    if (log) {
      const float shift = max + logf(sum);
      for (std::int64_t c = lane; c < cols; c += 32) {
        y[c] = x[c] - shift;
      }
    } else {
      const float inverse = 1.0f / sum;
      for (std::int64_t c = lane; c < cols; c += 32) {
        y[c] = expf(x[c] - max) * inverse;
      }
    }
  }
}

__global__ void crossEntropyRowsKernel(const float* log_probabilities, const std::int64_t* labels,
                                       std::int64_t rows, std::int64_t classes, float scale,
                                       float* row_loss, float* grad, int* first_bad_row) {
  for (std::int64_t r = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; r < rows;
       r += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t label = labels[r];
    const float* lp = log_probabilities + r * classes;
    if (label < 0 || label >= classes) {
      atomicMin(first_bad_row, static_cast<int>(r));
      row_loss[r] = 0.0f;
      continue;
    }
    row_loss[r] = -lp[label];
    if (grad != nullptr) {
      float* g = grad + r * classes;
      for (std::int64_t c = 0; c < classes; ++c) {
        g[c] = expf(lp[c]) * scale;
      }
      g[label] -= scale;
    }
  }
}

__global__ void squaredErrorKernel(const float* prediction, const float* target, std::int64_t n,
                                   float grad_scale, float* squared, float* grad) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float d = prediction[i] - target[i];
    squared[i] = d * d;
    if (grad != nullptr) {
      grad[i] = grad_scale * d;
    }
  }
}

// Block-wide tree reduction of one double per thread; thread 0 gets the total.
__device__ double blockSum(double value) {
  __shared__ double shared[kThreads];
  shared[threadIdx.x] = value;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      shared[threadIdx.x] += shared[threadIdx.x + stride];
    }
    __syncthreads();
  }
  return shared[0];
}

__global__ void partialSumsKernel(const float* x, std::int64_t n, double* partials) {
  double sum = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    sum += x[i];
  }
  const double total = blockSum(sum);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = total;
  }
}

__global__ void finalSumKernel(const double* partials, int count, double* out) {
  const double total = blockSum(threadIdx.x < count ? partials[threadIdx.x] : 0.0);
  if (threadIdx.x == 0) {
    *out = total;
  }
}

__global__ void multiplyKernel(const float* a, const float* b, float* out, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    out[i] = a[i] * b[i];
  }
}

__global__ void fillKernel(float* x, std::int64_t n, float value) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    x[i] = value;
  }
}

}  // namespace

static_assert(kSumBlocks <= kThreads, "finalSumKernel reduces the partials in one block");

cudaError_t biasActivation(float* y, const float* bias, std::int64_t rows, std::int64_t cols,
                           Activation activation, cudaStream_t stream) {
  biasActivationKernel<<<blocksFor(rows * cols), kThreads, 0, stream>>>(y, bias, rows, cols,
                                                                        activation);
  return cudaGetLastError();
}

cudaError_t activationForward(const float* src, float* dst, std::int64_t n, Activation activation,
                              cudaStream_t stream) {
  activationForwardKernel<<<blocksFor(n), kThreads, 0, stream>>>(src, dst, n, activation);
  return cudaGetLastError();
}

cudaError_t activationBackward(const float* saved, const float* diff_dst, float* diff_src,
                               std::int64_t n, Activation activation, cudaStream_t stream) {
  activationBackwardKernel<<<blocksFor(n), kThreads, 0, stream>>>(saved, diff_dst, diff_src, n,
                                                                  activation);
  return cudaGetLastError();
}

cudaError_t softmaxRows(const float* src, float* dst, std::int64_t rows, std::int64_t cols,
                        bool log, cudaStream_t stream) {
  softmaxRowsKernel<<<blocksFor(rows * 32), kThreads, 0, stream>>>(src, dst, rows, cols, log);
  return cudaGetLastError();
}

cudaError_t crossEntropyRows(const float* log_probabilities, const std::int64_t* labels,
                             std::int64_t rows, std::int64_t classes, float scale, float* row_loss,
                             float* grad, int* first_bad_row, cudaStream_t stream) {
  crossEntropyRowsKernel<<<blocksFor(rows), kThreads, 0, stream>>>(
      log_probabilities, labels, rows, classes, scale, row_loss, grad, first_bad_row);
  return cudaGetLastError();
}

cudaError_t squaredError(const float* prediction, const float* target, std::int64_t n,
                         float grad_scale, float* squared, float* grad, cudaStream_t stream) {
  squaredErrorKernel<<<blocksFor(n), kThreads, 0, stream>>>(prediction, target, n, grad_scale,
                                                            squared, grad);
  return cudaGetLastError();
}

cudaError_t sum(const float* x, std::int64_t n, double* partials, double* out,
                cudaStream_t stream) {
  partialSumsKernel<<<kSumBlocks, kThreads, 0, stream>>>(x, n, partials);
  const cudaError_t error = cudaGetLastError();
  if (error != cudaSuccess) {
    return error;
  }
  finalSumKernel<<<1, kThreads, 0, stream>>>(partials, kSumBlocks, out);
  return cudaGetLastError();
}

cudaError_t multiply(const float* a, const float* b, float* out, std::int64_t n,
                     cudaStream_t stream) {
  multiplyKernel<<<blocksFor(n), kThreads, 0, stream>>>(a, b, out, n);
  return cudaGetLastError();
}

cudaError_t fill(float* x, std::int64_t n, float value, cudaStream_t stream) {
  fillKernel<<<blocksFor(n), kThreads, 0, stream>>>(x, n, value);
  return cudaGetLastError();
}

}  // namespace aimass::compute::cuda::kernels
