// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/losses.h"

#include <cmath>
#include <string>

namespace aimass::compute {

SoftmaxCrossEntropy::SoftmaxCrossEntropy(std::int64_t rows, std::int64_t classes,
                                         std::unique_ptr<Softmax> softmax)
    : rows_(rows), classes_(classes), log_softmax_(std::move(softmax)) {}

Expected<std::unique_ptr<SoftmaxCrossEntropy>> SoftmaxCrossEntropy::create(
    std::shared_ptr<ComputeContext> context, std::int64_t rows, std::int64_t classes) {
  auto softmax = Softmax::create(std::move(context), rows, classes, /*log=*/true);
  if (!softmax.ok()) {
    return softmax.status().withContext("SoftmaxCrossEntropy");
  }
  return std::unique_ptr<SoftmaxCrossEntropy>(
      new SoftmaxCrossEntropy(rows, classes, std::move(softmax).value()));
}

Expected<double> SoftmaxCrossEntropy::compute(const float* logits, const std::int64_t* labels,
                                              float* log_probabilities,
                                              float* logits_grad) noexcept {
  for (std::int64_t r = 0; r < rows_; ++r) {
    if (labels[r] < 0 || labels[r] >= classes_) {
      return invalidArgument("row " + std::to_string(r) + " has class " +
                             std::to_string(labels[r]) + ", outside [0, " +
                             std::to_string(classes_) + ")");
    }
  }
  AIMASS_RETURN_IF_ERROR(log_softmax_->forward(logits, log_probabilities));
  double loss = 0;
  for (std::int64_t r = 0; r < rows_; ++r) {
    loss -= log_probabilities[r * classes_ + labels[r]];
  }
  if (logits_grad != nullptr) {
    const float scale = 1.0f / static_cast<float>(rows_);
    for (std::int64_t r = 0; r < rows_; ++r) {
      const float* lp = log_probabilities + r * classes_;
      float* g = logits_grad + r * classes_;
      for (std::int64_t c = 0; c < classes_; ++c) {
        g[c] = std::exp(lp[c]) * scale;
      }
      g[labels[r]] -= scale;
    }
  }
  return loss / static_cast<double>(rows_);
}

double meanSquaredError(const float* prediction, const float* target, std::int64_t rows,
                        std::int64_t targets, float* grad) noexcept {
  const std::int64_t n = rows * targets;
  if (n <= 0) {
    return 0;
  }
  const double scale = 1.0 / static_cast<double>(n);
  const auto grad_scale = static_cast<float>(2.0 * scale);
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float d = prediction[i] - target[i];
    sum += static_cast<double>(d) * d;
    if (grad != nullptr) {
      grad[i] = grad_scale * d;
    }
  }
  return sum * scale;
}

}  // namespace aimass::compute
