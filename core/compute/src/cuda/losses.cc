// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/cuda/losses.h"

#include <limits>
#include <string>

#include "aimass/compute/cuda/reduction.h"
#include "aimass/compute/cuda/softmax.h"
#include "cuda_status.h"
#include "kernels.h"

namespace aimass::compute::cuda {

struct SoftmaxCrossEntropy::Impl {
  std::shared_ptr<CudaContext> context;
  std::unique_ptr<Softmax> log_softmax;
  std::unique_ptr<Sum> sum;
  DeviceBuffer row_loss;  // [rows]
  DeviceBuffer bad_row;   // one int: the first row with a label outside the classes
  int no_bad_row = std::numeric_limits<int>::max();
};

SoftmaxCrossEntropy::SoftmaxCrossEntropy(std::int64_t rows, std::int64_t classes,
                                         std::unique_ptr<Impl> impl)
    : rows_(rows), classes_(classes), impl_(std::move(impl)) {}

SoftmaxCrossEntropy::~SoftmaxCrossEntropy() = default;

Expected<std::unique_ptr<SoftmaxCrossEntropy>> SoftmaxCrossEntropy::create(
    std::shared_ptr<CudaContext> context, std::int64_t rows, std::int64_t classes) {
  if (rows > std::numeric_limits<int>::max() - 1) {
    return invalidArgument("cuda::SoftmaxCrossEntropy takes at most 2^31 - 2 rows, got " +
                           std::to_string(rows));
  }
  auto impl = std::make_unique<Impl>();
  Status status = guard("cuda::SoftmaxCrossEntropy", [&]() -> Status {
    auto softmax = Softmax::create(context, rows, classes, /*log=*/true);
    if (!softmax.ok()) {
      return softmax.status();
    }
    impl->log_softmax = std::move(softmax).value();
    auto sum = Sum::create(context, rows);
    if (!sum.ok()) {
      return sum.status();
    }
    impl->sum = std::move(sum).value();
    auto row_loss = DeviceBuffer::floats(context, static_cast<std::size_t>(rows));
    if (!row_loss.ok()) {
      return row_loss.status();
    }
    impl->row_loss = std::move(row_loss).value();
    auto bad_row = DeviceBuffer::allocate(context, sizeof(int));
    if (!bad_row.ok()) {
      return bad_row.status();
    }
    impl->bad_row = std::move(bad_row).value();
    impl->context = std::move(context);
    return Status();
  });
  if (!status.ok()) {
    return status.withContext("SoftmaxCrossEntropy");
  }
  return std::unique_ptr<SoftmaxCrossEntropy>(
      new SoftmaxCrossEntropy(rows, classes, std::move(impl)));
}

Expected<double> SoftmaxCrossEntropy::compute(const float* logits, const std::int64_t* labels,
                                              float* log_probabilities,
                                              float* logits_grad) noexcept {
  Impl& p = *impl_;
  AIMASS_RETURN_IF_ERROR(p.bad_row.upload(&p.no_bad_row, sizeof(int)));
  AIMASS_RETURN_IF_ERROR(p.log_softmax->forward(logits, log_probabilities));
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  AIMASS_RETURN_IF_ERROR(cudaStatus(
      kernels::crossEntropyRows(log_probabilities, labels, rows_, classes_,
                                1.0f / static_cast<float>(rows_), p.row_loss.data<float>(),
                                logits_grad, p.bad_row.data<int>(), p.context->impl().stream),
      "cross-entropy kernel"));
  AIMASS_RETURN_IF_ERROR(p.sum->reduce(p.row_loss.data<float>()));
  int bad_row = p.no_bad_row;
  AIMASS_RETURN_IF_ERROR(p.bad_row.download(&bad_row, sizeof(int)));
  if (bad_row != p.no_bad_row) {
    std::int64_t label = 0;
    AIMASS_RETURN_IF_ERROR(
        cudaStatus(cudaMemcpyAsync(&label, labels + bad_row, sizeof(label), cudaMemcpyDeviceToHost,
                                   p.context->impl().stream),
                   "cudaMemcpyAsync (label to host)"));
    AIMASS_RETURN_IF_ERROR(p.context->synchronize());
    return invalidArgument("row " + std::to_string(bad_row) + " has class " +
                           std::to_string(label) + ", outside [0, " + std::to_string(classes_) +
                           ")");
  }
  auto total = p.sum->result();
  if (!total.ok()) {
    return total.status();
  }
  return *total / static_cast<double>(rows_);
}

struct MeanSquaredError::Impl {
  std::shared_ptr<CudaContext> context;
  std::unique_ptr<Sum> sum;
  DeviceBuffer squared;  // [rows * targets]
};

MeanSquaredError::MeanSquaredError(std::int64_t elements, std::unique_ptr<Impl> impl)
    : elements_(elements), impl_(std::move(impl)) {}

MeanSquaredError::~MeanSquaredError() = default;

Expected<std::unique_ptr<MeanSquaredError>> MeanSquaredError::create(
    std::shared_ptr<CudaContext> context, std::int64_t rows, std::int64_t targets) {
  if (context == nullptr) {
    return invalidArgument("cuda::MeanSquaredError needs a CUDA context");
  }
  if (rows <= 0 || targets <= 0) {
    return invalidArgument("cuda::MeanSquaredError needs positive sizes, got " +
                           std::to_string(rows) + " x " + std::to_string(targets));
  }
  const std::int64_t elements = rows * targets;
  auto impl = std::make_unique<Impl>();
  Status status = guard("cuda::MeanSquaredError", [&]() -> Status {
    auto sum = Sum::create(context, elements);
    if (!sum.ok()) {
      return sum.status();
    }
    impl->sum = std::move(sum).value();
    auto squared = DeviceBuffer::floats(context, static_cast<std::size_t>(elements));
    if (!squared.ok()) {
      return squared.status();
    }
    impl->squared = std::move(squared).value();
    impl->context = std::move(context);
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  return std::unique_ptr<MeanSquaredError>(new MeanSquaredError(elements, std::move(impl)));
}

Expected<double> MeanSquaredError::compute(const float* prediction, const float* target,
                                           float* grad) noexcept {
  Impl& p = *impl_;
  AIMASS_RETURN_IF_ERROR(enterDevice(*p.context));
  const double scale = 1.0 / static_cast<double>(elements_);
  AIMASS_RETURN_IF_ERROR(cudaStatus(
      kernels::squaredError(prediction, target, elements_, static_cast<float>(2.0 * scale),
                            p.squared.data<float>(), grad, p.context->impl().stream),
      "squared error kernel"));
  auto total = p.sum->compute(p.squared.data<float>());
  if (!total.ok()) {
    return total.status();
  }
  return *total * scale;
}

}  // namespace aimass::compute::cuda
