// SPDX-License-Identifier: Apache-2.0
#include "sgd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "aimass/byte_io.h"

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kStateTag = "SGD1";

}  // namespace

Expected<std::unique_ptr<SgdOptimizer>> SgdOptimizer::create(const SgdOptions& options) {
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    return invalidArgument("optimizer.sgd: learning_rate must be a positive number, got " +
                           std::to_string(options.learning_rate));
  }
  if (!(options.momentum >= 0 && options.momentum <= 0.999)) {
    return invalidArgument("optimizer.sgd: momentum must lie in [0, 0.999], got " +
                           std::to_string(options.momentum));
  }
  if (!(options.weight_decay >= 0) || !std::isfinite(options.weight_decay)) {
    return invalidArgument("optimizer.sgd: weight_decay must be >= 0, got " +
                           std::to_string(options.weight_decay));
  }
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
  return guard("optimizer.sgd saveState", [&] {
    out.assign(kStateTag);
    ByteWriter writer(out);
    writer.f64(options_.learning_rate);
    writer.u64(steps_);
    writer.u64(sizes_.size());
    for (std::size_t i = 0; i < sizes_.size(); ++i) {
      writer.u64(sizes_[i]);
      const bool has_velocity = !velocities_.empty();
      writer.u8(has_velocity ? 1 : 0);
      if (has_velocity) {
        writer.floats(velocities_[i]);
      }
    }
  });
}

Status SgdOptimizer::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.sgd: loadState() before begin()");
  }
  ByteReader in(state);
  if (in.bytes(kStateTag.size()) != kStateTag) {
    return invalidArgument("optimizer.sgd: the state does not start with '" +
                           std::string(kStateTag) + "'");
  }
  const double rate = in.f64();
  const std::uint64_t steps = in.u64();
  const std::uint64_t count = in.u64();
  if (!in.ok() || count != sizes_.size()) {
    return invalidArgument("optimizer.sgd: the state is for " + std::to_string(count) +
                           " parameters, begin() had " + std::to_string(sizes_.size()));
  }
  if (!(rate > 0) || !std::isfinite(rate)) {
    return invalidArgument("optimizer.sgd: the state holds an invalid learning rate");
  }
  const bool want_velocity = options_.momentum > 0;
  std::vector<std::vector<float>> velocities;
  Status status = guard("optimizer.sgd loadState", [&]() -> Status {
    for (std::size_t i = 0; i < sizes_.size(); ++i) {
      const std::uint64_t size = in.u64();
      const bool has_velocity = in.u8() == 1;
      if (!in.ok() || size != sizes_[i]) {
        return invalidArgument("optimizer.sgd: parameter " + std::to_string(i) + " has " +
                               std::to_string(size) + " values in the state, " +
                               std::to_string(sizes_[i]) + " since begin()");
      }
      if (has_velocity != want_velocity) {
        return invalidArgument(std::string("optimizer.sgd: the state was saved ") +
                               (has_velocity ? "with" : "without") +
                               " momentum, this optimizer runs " +
                               (want_velocity ? "with" : "without"));
      }
      if (has_velocity) {
        if (in.remaining() / 4 < size) {
          return invalidArgument("optimizer.sgd: the state is truncated");
        }
        std::vector<float> v(size);
        in.floats(v);
        velocities.push_back(std::move(v));
      }
    }
    if (!in.ok() || !in.atEnd()) {
      return invalidArgument("optimizer.sgd: the state is truncated or has extra bytes");
    }
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  options_.learning_rate = rate;
  steps_ = steps;
  // Copy into the existing buffers, so step() keeps allocating nothing.
  for (std::size_t i = 0; i < velocities.size(); ++i) {
    std::copy(velocities[i].begin(), velocities[i].end(), velocities_[i].begin());
  }
  return okStatus();
}

}  // namespace aimass::plugins::optimizer
