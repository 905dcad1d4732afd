// SPDX-License-Identifier: Apache-2.0
#include "rmsprop.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/byte_io.h"

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kStateTag = "RMSP1";

bool positiveFinite(double v) { return v > 0 && std::isfinite(v); }

}  // namespace

Expected<std::unique_ptr<RmsPropOptimizer>> RmsPropOptimizer::create(
    const RmsPropOptions& options) {
  const std::string type = "optimizer.rmsprop";
  if (!positiveFinite(options.learning_rate)) {
    return invalidArgument(type + ": learning_rate must be a positive number, got " +
                           std::to_string(options.learning_rate));
  }
  for (auto [name, value] : {std::pair{"alpha", options.alpha}, {"momentum", options.momentum}}) {
    if (!(value >= 0 && value < 1)) {
      return invalidArgument(type + ": " + name + " must lie in [0, 1), got " +
                             std::to_string(value));
    }
  }
  if (!positiveFinite(options.epsilon)) {
    return invalidArgument(type + ": epsilon must be a positive number, got " +
                           std::to_string(options.epsilon));
  }
  if (!(options.weight_decay >= 0) || !std::isfinite(options.weight_decay)) {
    return invalidArgument(type + ": weight_decay must be >= 0, got " +
                           std::to_string(options.weight_decay));
  }
  std::unique_ptr<RmsPropOptimizer> optimizer;
  Status status = guard(type, [&] { optimizer.reset(new RmsPropOptimizer(options)); });
  if (!status.ok()) {
    return status;
  }
  return optimizer;
}

Status RmsPropOptimizer::begin(std::span<Parameter> parameters) {
  AIMASS_RETURN_IF_ERROR(checkParameters("optimizer.rmsprop", parameters));
  std::vector<std::size_t> sizes;
  std::vector<std::vector<float>> square_avg, grad_avg, buffer;
  Status status = guard("optimizer.rmsprop", [&] {
    for (const auto& p : parameters) {
      const auto n = static_cast<std::size_t>(p.value.numel());
      sizes.push_back(n);
      square_avg.emplace_back(n, 0.0f);
      if (options_.centered) {
        grad_avg.emplace_back(n, 0.0f);
      }
      if (options_.momentum > 0) {
        buffer.emplace_back(n, 0.0f);
      }
    }
  });
  if (!status.ok()) {
    return status;
  }
  sizes_ = std::move(sizes);
  square_avg_ = std::move(square_avg);
  grad_avg_ = std::move(grad_avg);
  buffer_ = std::move(buffer);
  steps_ = 0;
  begun_ = true;
  return okStatus();
}

Status RmsPropOptimizer::step(std::span<Parameter> parameters) {
  if (!begun_) {
    return failedPrecondition("optimizer.rmsprop: step() before begin()");
  }
  AIMASS_RETURN_IF_ERROR(checkParametersUnchanged("optimizer.rmsprop", parameters, sizes_));
  const auto lr = static_cast<float>(options_.learning_rate);
  const auto alpha = static_cast<float>(options_.alpha);
  const auto one_minus_alpha = static_cast<float>(1 - options_.alpha);
  const auto eps = static_cast<float>(options_.epsilon);
  const auto decay = static_cast<float>(options_.weight_decay);
  const auto momentum = static_cast<float>(options_.momentum);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    float* __restrict w = parameters[i].value.data<float>();
    const float* __restrict g = parameters[i].grad.data<float>();
    float* __restrict s = square_avg_[i].data();
    const std::size_t n = sizes_[i];
    // Four loop bodies instead of branches inside one, so each stays a straight vector loop.
    if (options_.centered && momentum > 0) {
      float* __restrict a = grad_avg_[i].data();
      float* __restrict b = buffer_[i].data();
      for (std::size_t j = 0; j < n; ++j) {
        const float d = g[j] + decay * w[j];
        s[j] = alpha * s[j] + one_minus_alpha * d * d;
        a[j] = alpha * a[j] + one_minus_alpha * d;
        b[j] = momentum * b[j] + d / (std::sqrt(std::max(s[j] - a[j] * a[j], 0.0f)) + eps);
        w[j] -= lr * b[j];
      }
    } else if (options_.centered) {
      float* __restrict a = grad_avg_[i].data();
      for (std::size_t j = 0; j < n; ++j) {
        const float d = g[j] + decay * w[j];
        s[j] = alpha * s[j] + one_minus_alpha * d * d;
        a[j] = alpha * a[j] + one_minus_alpha * d;
        w[j] -= lr * d / (std::sqrt(std::max(s[j] - a[j] * a[j], 0.0f)) + eps);
      }
    } else if (momentum > 0) {
      float* __restrict b = buffer_[i].data();
      for (std::size_t j = 0; j < n; ++j) {
        const float d = g[j] + decay * w[j];
        s[j] = alpha * s[j] + one_minus_alpha * d * d;
        b[j] = momentum * b[j] + d / (std::sqrt(s[j]) + eps);
        w[j] -= lr * b[j];
      }
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        const float d = g[j] + decay * w[j];
        s[j] = alpha * s[j] + one_minus_alpha * d * d;
        w[j] -= lr * d / (std::sqrt(s[j]) + eps);
      }
    }
  }
  ++steps_;
  return okStatus();
}

Status RmsPropOptimizer::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.rmsprop: saveState() before begin()");
  }
  return guard("optimizer.rmsprop", [&] {
    out.assign(kStateTag);
    ByteWriter writer(out);
    std::uint64_t rate_bits;
    std::memcpy(&rate_bits, &options_.learning_rate, 8);
    writer.u64(rate_bits);
    writer.u64(steps_);
    out += static_cast<char>(options_.centered ? 1 : 0);
    out += static_cast<char>(options_.momentum > 0 ? 1 : 0);
    writer.u64(sizes_.size());
    for (std::size_t i = 0; i < sizes_.size(); ++i) {
      writer.u64(sizes_[i]);
      writer.floats(square_avg_[i]);
      if (options_.centered) {
        writer.floats(grad_avg_[i]);
      }
      if (options_.momentum > 0) {
        writer.floats(buffer_[i]);
      }
    }
  });
}

Status RmsPropOptimizer::loadState(std::string_view state) {
  const std::string type = "optimizer.rmsprop";
  if (!begun_) {
    return failedPrecondition(type + ": loadState() before begin()");
  }
  ByteReader in(state);
  if (in.bytes(kStateTag.size()) != kStateTag) {
    return invalidArgument(type + ": the state does not start with '" + std::string(kStateTag) +
                           "'");
  }
  const std::uint64_t rate_bits = in.u64();
  const std::uint64_t steps = in.u64();
  const bool centered = in.u8() == 1;
  const bool with_momentum = in.u8() == 1;
  const std::uint64_t count = in.u64();
  if (!in.ok()) {
    return invalidArgument(type + ": the state is truncated");
  }
  if (count != sizes_.size()) {
    return invalidArgument(type + ": the state is for " + std::to_string(count) +
                           " parameters, begin() had " + std::to_string(sizes_.size()));
  }
  if (centered != options_.centered || with_momentum != (options_.momentum > 0)) {
    return invalidArgument(
        type + ": the state was saved " + (centered ? "centered" : "uncentered") +
        (with_momentum ? " with" : " without") + " momentum, this optimizer runs " +
        (options_.centered ? "centered" : "uncentered") +
        (options_.momentum > 0 ? " with" : " without") + " momentum");
  }
  double rate;
  std::memcpy(&rate, &rate_bits, 8);
  if (!positiveFinite(rate)) {
    return invalidArgument(type + ": the state holds an invalid learning rate");
  }
  std::vector<std::vector<float>> square_avg, grad_avg, buffer;
  Status status = guard(type, [&]() -> Status {
    for (std::size_t i = 0; i < sizes_.size(); ++i) {
      const std::uint64_t size = in.u64();
      if (!in.ok() || size != sizes_[i]) {
        return invalidArgument(type + ": parameter " + std::to_string(i) + " has " +
                               std::to_string(size) + " values in the state, " +
                               std::to_string(sizes_[i]) + " since begin()");
      }
      square_avg.emplace_back(sizes_[i]);
      bool read = in.floats(square_avg.back());
      if (read && centered) {
        grad_avg.emplace_back(sizes_[i]);
        read = in.floats(grad_avg.back());
      }
      if (read && with_momentum) {
        buffer.emplace_back(sizes_[i]);
        read = in.floats(buffer.back());
      }
      if (!read) {
        return invalidArgument(type + ": the state is truncated");
      }
    }
    if (!in.atEnd()) {
      return invalidArgument(type + ": the state has extra bytes after the averages");
    }
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  options_.learning_rate = rate;
  steps_ = steps;
  // Copy into the existing buffers: step() keeps allocating nothing.
  for (std::size_t i = 0; i < sizes_.size(); ++i) {
    std::copy(square_avg[i].begin(), square_avg[i].end(), square_avg_[i].begin());
    if (centered) {
      std::copy(grad_avg[i].begin(), grad_avg[i].end(), grad_avg_[i].begin());
    }
    if (with_momentum) {
      std::copy(buffer[i].begin(), buffer[i].end(), buffer_[i].begin());
    }
  }
  return okStatus();
}

}  // namespace aimass::plugins::optimizer
