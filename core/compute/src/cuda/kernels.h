// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "aimass/compute/activation.h"

/// Launchers of the CUDA kernels in kernels.cu. Each queues its kernel on `stream` and returns
/// cudaGetLastError() (a bad launch configuration shows there; faults show at the next
/// synchronisation). Sizes are element counts; every pointer is device memory.
namespace aimass::compute::cuda::kernels {

/// y[r][c] = act(y[r][c] + bias[c]); `bias` may be null.
cudaError_t biasActivation(float* y, const float* bias, std::int64_t rows, std::int64_t cols,
                           Activation activation, cudaStream_t stream);
/// dst = act(src).
cudaError_t activationForward(const float* src, float* dst, std::int64_t n, Activation activation,
                              cudaStream_t stream);
/// diff_src = diff_dst * act'(x), from the forward output (relu, tanh, sigmoid) or input (gelu).
cudaError_t activationBackward(const float* saved, const float* diff_dst, float* diff_src,
                               std::int64_t n, Activation activation, cudaStream_t stream);
/// Row-wise softmax or log-softmax.
cudaError_t softmaxRows(const float* src, float* dst, std::int64_t rows, std::int64_t cols,
                        bool log, cudaStream_t stream);
/// Per row: row_loss[r] = -log_probabilities[r][labels[r]], and when `grad` is not null
/// grad[r] = (exp(log_probabilities[r]) - onehot(labels[r])) * scale. A label outside
/// [0, classes) lowers *first_bad_row to r (atomicMin) and leaves the row's loss at 0.
cudaError_t crossEntropyRows(const float* log_probabilities, const std::int64_t* labels,
                             std::int64_t rows, std::int64_t classes, float scale, float* row_loss,
                             float* grad, int* first_bad_row, cudaStream_t stream);
/// squared[i] = (p[i] - t[i])^2 and, when `grad` is not null, grad[i] = grad_scale (p[i] - t[i]).
cudaError_t squaredError(const float* prediction, const float* target, std::int64_t n,
                         float grad_scale, float* squared, float* grad, cudaStream_t stream);
/// The number of partial sums sum() uses (its scratch size).
constexpr int kSumBlocks = 128;
/// *out = sum of x[0..n), through kSumBlocks partials, in a fixed order.
cudaError_t sum(const float* x, std::int64_t n, double* partials, double* out, cudaStream_t stream);
/// out = a * b.
cudaError_t multiply(const float* a, const float* b, float* out, std::int64_t n,
                     cudaStream_t stream);
/// x[0..n) = value.
cudaError_t fill(float* x, std::int64_t n, float value, cudaStream_t stream);

}  // namespace aimass::compute::cuda::kernels
