// SPDX-License-Identifier: Apache-2.0
#include "sgd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/util/denormals.h"
#include "aimass/util/optimizer_state.h"
#include "aimass/util/option_checks.h"

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kStateTag = "SGD1";
// Sgd keeps its one flag, "has a velocity", after each parameter's size.
const OptimizerStateFormat kStateFormat{
    "optimizer.sgd", kStateTag, true, [](std::span<const std::uint8_t> flags) {
      return std::string(flags[0] != 0 ? "with" : "without") + " momentum";
    }};

}  // namespace

Expected<std::unique_ptr<SgdOptimizer>> SgdOptimizer::create(const SgdOptions& options) {
  AIMASS_RETURN_IF_ERROR(requirePositive("optimizer.sgd", "learning_rate", options.learning_rate));
  if (!(options.momentum >= 0 && options.momentum <= 0.999)) {
    return invalidArgument("optimizer.sgd: momentum must lie in [0, 0.999], got " +
                           std::to_string(options.momentum));
  }
  AIMASS_RETURN_IF_ERROR(
      requireNonNegative("optimizer.sgd", "weight_decay", options.weight_decay));
  if (options.nesterov && options.momentum == 0) {
    return invalidArgument(
        "optimizer.sgd: nesterov needs momentum > 0 (momentum is 0); set "
        "momentum, e.g. 0.9, or drop nesterov");
  }
  std::unique_ptr<SgdOptimizer> optimizer;
  Status status = guard("optimizer.sgd", [&] { optimizer.reset(new SgdOptimizer(options)); });
  if (!status.ok()) {
    return status;
  }
  return optimizer;
}

Status SgdOptimizer::begin(std::span<Parameter> parameters) {
  std::vector<std::size_t> sizes;
  std::vector<std::vector<float>> velocities;
  AIMASS_RETURN_IF_ERROR(checkParameters("optimizer.sgd", parameters));
  Status status = guard("optimizer.sgd begin", [&] {
    for (const auto& p : parameters) {
      sizes.push_back(static_cast<std::size_t>(p.value.numel()));
      if (options_.momentum > 0) {
        velocities.emplace_back(sizes.back(), 0.0f);
      }
    }
  });
  if (!status.ok()) {
    return status;
  }
  sizes_ = std::move(sizes);
  velocities_ = std::move(velocities);
  steps_ = 0;
  begun_ = true;
  return okStatus();
}

Status SgdOptimizer::step(std::span<Parameter> parameters) {
  if (!begun_) {
    return failedPrecondition("optimizer.sgd: step() before begin()");
  }
  AIMASS_RETURN_IF_ERROR(checkParametersUnchanged("optimizer.sgd", parameters, sizes_));
  const auto lr = static_cast<float>(options_.learning_rate);
  const auto momentum = static_cast<float>(options_.momentum);
  const auto decay = static_cast<float>(options_.weight_decay);
  const DenormalsAsZero scope;  // velocities of zero gradients decay into denormals (the header)
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    float* w = parameters[i].value.data<float>();
    const float* g = parameters[i].grad.data<float>();
    const std::size_t n = sizes_[i];
    if (momentum == 0) {
      for (std::size_t j = 0; j < n; ++j) {
        w[j] -= lr * (g[j] + decay * w[j]);
      }
      continue;
    }
    float* v = velocities_[i].data();
    if (options_.nesterov) {
      for (std::size_t j = 0; j < n; ++j) {
        const float d = g[j] + decay * w[j];
        v[j] = momentum * v[j] + d;
        w[j] -= lr * (d + momentum * v[j]);
      }
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        const float d = g[j] + decay * w[j];
        v[j] = momentum * v[j] + d;
        w[j] -= lr * v[j];
      }
    }
  }
  ++steps_;
  return okStatus();
}

Status SgdOptimizer::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.sgd: saveState() before begin()");
  }
  const std::uint8_t flags[] = {velocities_.empty() ? std::uint8_t{0} : std::uint8_t{1}};
  return guard("optimizer.sgd saveState", [&] {
    out.clear();
    writeOptimizerState(out, kStateFormat, options_.learning_rate, steps_, flags, sizes_,
                        {velocities_.empty() ? nullptr : &velocities_});
  });
}

Status SgdOptimizer::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.sgd: loadState() before begin()");
  }
  const bool with_velocity = options_.momentum > 0;
  const std::uint8_t flags[] = {with_velocity ? std::uint8_t{1} : std::uint8_t{0}};
  OptimizerStateHead head;
  AIMASS_RETURN_IF_ERROR(guard("optimizer.sgd loadState", [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(head, readOptimizerState(state, kStateFormat, flags, sizes_,
                                                     {with_velocity ? &velocities_ : nullptr}));
    return okStatus();
  }));
  options_.learning_rate = head.learning_rate;
  steps_ = head.steps;
  return okStatus();
}

}  // namespace aimass::plugins::optimizer
