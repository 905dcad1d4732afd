// SPDX-License-Identifier: Apache-2.0
#include "lbfgs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/util/option_checks.h"

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kStateTag = "LBFGS1";

bool positiveFinite(double v) { return v > 0 && std::isfinite(v); }

/// In-order double accumulation: the same inputs give the same bits on every run.
double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sum += double(a[i]) * double(b[i]);
  }
  return sum;
}

}  // namespace

Expected<std::unique_ptr<LbfgsOptimizer>> LbfgsOptimizer::create(const LbfgsOptions& options) {
  AIMASS_RETURN_IF_ERROR(
      requirePositive("optimizer.lbfgs", "learning_rate", options.learning_rate));
  if (options.memory < 1) {
    return invalidArgument("optimizer.lbfgs: memory must be at least 1");
  }
  std::unique_ptr<LbfgsOptimizer> optimizer;
  Status status = guard("optimizer.lbfgs", [&] { optimizer.reset(new LbfgsOptimizer(options)); });
  if (!status.ok()) {
    return status;
  }
  return optimizer;
}

Status LbfgsOptimizer::begin(std::span<Parameter> parameters) {
  std::size_t total = 0;
  std::vector<std::size_t> sizes;
  AIMASS_RETURN_IF_ERROR(checkParameters("optimizer.lbfgs", parameters));
  Status status = guard("optimizer.lbfgs begin", [&] {
    for (const auto& p : parameters) {
      sizes.push_back(static_cast<std::size_t>(p.value.numel()));
      total += sizes.back();
    }
    const std::size_t memory = options_.memory;
    s_history_.assign(memory, std::vector<float>(total, 0.0f));
    y_history_.assign(memory, std::vector<float>(total, 0.0f));
    rho_.assign(memory, 0.0);
    alpha_.assign(memory, 0.0);
    gradient_.assign(total, 0.0f);
    previous_gradient_.assign(total, 0.0f);
    direction_.assign(total, 0.0f);
    last_step_.assign(total, 0.0f);
    y_scratch_.assign(total, 0.0f);
  });
  if (!status.ok()) {
    begun_ = false;
    return status;
  }
  sizes_ = std::move(sizes);
  total_ = total;
  steps_ = 0;
  has_previous_ = false;
  gamma_ = 1;
  head_ = 0;
  count_ = 0;
  begun_ = true;
  return okStatus();
}

Status LbfgsOptimizer::step(std::span<Parameter> parameters) {
  if (!begun_) {
    return failedPrecondition("optimizer.lbfgs: step() before begin()");
  }
  AIMASS_RETURN_IF_ERROR(checkParametersUnchanged("optimizer.lbfgs", parameters, sizes_));
  // Gather the gradient into one flat vector.
  for (std::size_t i = 0, offset = 0; i < parameters.size(); offset += sizes_[i], ++i) {
    const float* g = parameters[i].grad.data<float>();
    std::copy(g, g + sizes_[i], gradient_.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  const std::size_t n = total_;
  const std::size_t memory = options_.memory;

  // Record the curvature pair of the previous update when it is informative.
  if (has_previous_) {
    float* __restrict y = y_scratch_.data();
    const float* __restrict g = gradient_.data();
    const float* __restrict g_prev = previous_gradient_.data();
    for (std::size_t j = 0; j < n; ++j) {
      y[j] = g[j] - g_prev[j];
    }
    const double ys = dot(y_scratch_, last_step_);
    if (ys > 1e-10) {
      std::size_t target;
      if (count_ < memory) {
        target = slot(count_);
        ++count_;
      } else {
        target = head_;
        head_ = (head_ + 1) % memory;
      }
      // Swapping hands the buffers over without copying or allocating.
      std::swap(y_history_[target], y_scratch_);
      std::swap(s_history_[target], last_step_);
      rho_[target] = 1 / ys;
      gamma_ = ys / dot(y_history_[target], y_history_[target]);
    }
  }

  // Two-loop recursion: direction = -H * gradient.
  {
    float* __restrict d = direction_.data();
    const float* __restrict g = gradient_.data();
    for (std::size_t j = 0; j < n; ++j) {
      d[j] = -g[j];
    }
  }
  for (std::size_t k = count_; k-- > 0;) {
    const std::size_t idx = slot(k);
    alpha_[idx] = rho_[idx] * dot(s_history_[idx], direction_);
    const auto a = static_cast<float>(alpha_[idx]);
    float* __restrict d = direction_.data();
    const float* __restrict y = y_history_[idx].data();
    for (std::size_t j = 0; j < n; ++j) {
      d[j] -= a * y[j];
    }
  }
  {
    const auto gamma = static_cast<float>(gamma_);
    float* __restrict d = direction_.data();
    for (std::size_t j = 0; j < n; ++j) {
      d[j] *= gamma;
    }
  }
  for (std::size_t k = 0; k < count_; ++k) {
    const std::size_t idx = slot(k);
    const double beta = rho_[idx] * dot(y_history_[idx], direction_);
    const auto c = static_cast<float>(alpha_[idx] - beta);
    float* __restrict d = direction_.data();
    const float* __restrict s = s_history_[idx].data();
    for (std::size_t j = 0; j < n; ++j) {
      d[j] += c * s[j];
    }
  }

  bool first_step = !has_previous_;
  if (!(dot(gradient_, direction_) < 0)) {
    // Not a descent direction: forget the history and restart along -g.
    count_ = 0;
    head_ = 0;
    gamma_ = 1;
    first_step = true;
    float* __restrict d = direction_.data();
    const float* __restrict g = gradient_.data();
    for (std::size_t j = 0; j < n; ++j) {
      d[j] = -g[j];
    }
  }
  double t = options_.learning_rate;
  if (first_step) {
    double l1 = 0;
    for (float g : gradient_) {
      l1 += std::abs(double(g));
    }
    t = std::min(1.0, 1.0 / l1) * options_.learning_rate;
  }
  {
    const auto tf = static_cast<float>(t);
    float* __restrict s = last_step_.data();
    const float* __restrict d = direction_.data();
    for (std::size_t j = 0; j < n; ++j) {
      s[j] = tf * d[j];
    }
  }
  for (std::size_t i = 0, offset = 0; i < parameters.size(); offset += sizes_[i], ++i) {
    float* __restrict w = parameters[i].value.data<float>();
    const float* __restrict s = last_step_.data() + offset;
    for (std::size_t j = 0; j < sizes_[i]; ++j) {
      w[j] += s[j];
    }
  }
  std::swap(previous_gradient_, gradient_);
  has_previous_ = true;
  ++steps_;
  return okStatus();
}

Status LbfgsOptimizer::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.lbfgs: saveState() before begin()");
  }
  return guard("optimizer.lbfgs saveState", [&] {
    out.assign(kStateTag);
    ByteWriter writer(out);
    writer.f64(options_.learning_rate);
    writer.u64(steps_);
    writer.u64(options_.memory);
    writer.u64(sizes_.size());
    for (std::size_t size : sizes_) {
      writer.u64(size);
    }
    out += static_cast<char>(has_previous_ ? 1 : 0);
    writer.f64(gamma_);
    writer.u64(count_);
    for (std::size_t k = 0; k < count_; ++k) {
      const std::size_t idx = slot(k);
      writer.f64(rho_[idx]);
      writer.floats(s_history_[idx]);
      writer.floats(y_history_[idx]);
    }
    writer.floats(previous_gradient_);
    writer.floats(last_step_);
  });
}

Status LbfgsOptimizer::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.lbfgs: loadState() before begin()");
  }
  ByteReader in(state);
  if (in.bytes(kStateTag.size()) != kStateTag) {
    return invalidArgument("optimizer.lbfgs: the state does not start with '" +
                           std::string(kStateTag) + "'");
  }
  const double rate = in.f64();
  const std::uint64_t steps = in.u64();
  const std::uint64_t memory = in.u64();
  const std::uint64_t parameter_count = in.u64();
  if (!in.ok()) {
    return invalidArgument("optimizer.lbfgs: the state is truncated");
  }
  if (memory != options_.memory) {
    return invalidArgument("optimizer.lbfgs: the state was saved with memory " +
                           std::to_string(memory) + ", this optimizer has " +
                           std::to_string(options_.memory));
  }
  if (parameter_count != sizes_.size()) {
    return invalidArgument("optimizer.lbfgs: the state is for " + std::to_string(parameter_count) +
                           " parameters, begin() had " + std::to_string(sizes_.size()));
  }
  for (std::size_t i = 0; i < sizes_.size(); ++i) {
    const std::uint64_t size = in.u64();
    if (!in.ok() || size != sizes_[i]) {
      return invalidArgument("optimizer.lbfgs: parameter " + std::to_string(i) + " has " +
                             std::to_string(size) + " values in the state, " +
                             std::to_string(sizes_[i]) + " since begin()");
    }
  }
  if (!positiveFinite(rate)) {
    return invalidArgument("optimizer.lbfgs: the state holds an invalid learning rate");
  }
  const bool has_previous = in.u8() == 1;
  const double gamma = in.f64();
  const std::uint64_t count = in.u64();
  if (!in.ok() || count > memory || !std::isfinite(gamma)) {
    return invalidArgument("optimizer.lbfgs: the state is truncated or holds invalid history");
  }
  std::vector<double> rho(count);
  std::vector<std::vector<float>> s(count, std::vector<float>()), y(count, std::vector<float>());
  std::vector<float> previous_gradient, last_step;
  Status status = guard("optimizer.lbfgs loadState", [&]() -> Status {
    bool read = true;
    for (std::size_t k = 0; read && k < count; ++k) {
      rho[k] = in.f64();
      s[k].resize(total_);
      y[k].resize(total_);
      read = in.ok() && in.floats(s[k]) && in.floats(y[k]);
    }
    previous_gradient.resize(total_);
    last_step.resize(total_);
    read = read && in.floats(previous_gradient) && in.floats(last_step);
    if (!read) {
      return invalidArgument("optimizer.lbfgs: the state is truncated");
    }
    if (!in.atEnd()) {
      return invalidArgument("optimizer.lbfgs: the state has extra bytes after the history");
    }
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  options_.learning_rate = rate;
  steps_ = steps;
  has_previous_ = has_previous;
  gamma_ = gamma;
  head_ = 0;
  count_ = count;
  // Copy into the buffers begin() made, oldest pair first at ring index 0.
  for (std::size_t k = 0; k < count; ++k) {
    rho_[k] = rho[k];
    std::copy(s[k].begin(), s[k].end(), s_history_[k].begin());
    std::copy(y[k].begin(), y[k].end(), y_history_[k].begin());
  }
  std::copy(previous_gradient.begin(), previous_gradient.end(), previous_gradient_.begin());
  std::copy(last_step.begin(), last_step.end(), last_step_.begin());
  return okStatus();
}

}  // namespace aimass::plugins::optimizer
