// SPDX-License-Identifier: Apache-2.0
#include "rmsprop.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/util/denormals.h"
#include "aimass/util/optimizer_state.h"
#include "aimass/util/option_checks.h"

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kStateTag = "RMSP1";
const OptimizerStateFormat kStateFormat{
    "optimizer.rmsprop", kStateTag, false, [](std::span<const std::uint8_t> flags) {
      return std::string(flags[0] != 0 ? "centered" : "uncentered") +
             (flags[1] != 0 ? " with" : " without") + " momentum";
    }};

}  // namespace

Expected<std::unique_ptr<RmsPropOptimizer>> RmsPropOptimizer::create(
    const RmsPropOptions& options) {
  const std::string type = "optimizer.rmsprop";
  AIMASS_RETURN_IF_ERROR(requirePositive(type, "learning_rate", options.learning_rate));
  AIMASS_RETURN_IF_ERROR(requireUnitFraction(type, "alpha", options.alpha));
  AIMASS_RETURN_IF_ERROR(requireUnitFraction(type, "momentum", options.momentum));
  AIMASS_RETURN_IF_ERROR(requirePositive(type, "epsilon", options.epsilon));
  AIMASS_RETURN_IF_ERROR(requireNonNegative(type, "weight_decay", options.weight_decay));
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
  const DenormalsAsZero scope;  // averages of zero gradients decay into denormals (the header)
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
  const bool with_momentum = options_.momentum > 0;
  const std::uint8_t flags[] = {options_.centered ? std::uint8_t{1} : std::uint8_t{0},
                                with_momentum ? std::uint8_t{1} : std::uint8_t{0}};
  return guard("optimizer.rmsprop", [&] {
    out.clear();
    writeOptimizerState(out, kStateFormat, options_.learning_rate, steps_, flags, sizes_,
                        {&square_avg_, options_.centered ? &grad_avg_ : nullptr,
                         with_momentum ? &buffer_ : nullptr});
  });
}

Status RmsPropOptimizer::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.rmsprop: loadState() before begin()");
  }
  const bool with_momentum = options_.momentum > 0;
  const std::uint8_t flags[] = {options_.centered ? std::uint8_t{1} : std::uint8_t{0},
                                with_momentum ? std::uint8_t{1} : std::uint8_t{0}};
  OptimizerStateHead head;
  // The averages are overwritten in place: step() keeps allocating nothing.
  AIMASS_RETURN_IF_ERROR(guard("optimizer.rmsprop", [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(
        head, readOptimizerState(state, kStateFormat, flags, sizes_,
                                 {&square_avg_, options_.centered ? &grad_avg_ : nullptr,
                                  with_momentum ? &buffer_ : nullptr}));
    return okStatus();
  }));
  options_.learning_rate = head.learning_rate;
  steps_ = head.steps;
  return okStatus();
}

}  // namespace aimass::plugins::optimizer
