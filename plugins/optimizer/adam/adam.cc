// SPDX-License-Identifier: Apache-2.0
#include "adam.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "aimass/util/denormals.h"
#include "aimass/util/optimizer_state.h"
#include "aimass/util/option_checks.h"

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kStateTag = "ADAM1";

// Below this many elements in all, one thread updates everything: waking the team costs more
// than it saves.
constexpr std::size_t kParallelMinimum = 32768;
// Parts split a parameter at multiples of 16 floats (a 64-byte cache line), so two threads
// share at most the one line a split falls in.
constexpr std::size_t kPartAlignment = 16;

// The build targets baseline x86-64, so plain code runs on SSE2 only; the update streams four
// arrays per parameter and runs once per training step, so it is compiled for AVX-512 and AVX2
// as well and the loader picks the widest the CPU has.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AIMASS_ADAM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AIMASS_ADAM_CLONES
#endif

/// The per-step constants of the element-wise update.
struct StepConstants {
  float beta1, beta2, one_minus_beta1, one_minus_beta2;
  float step_size, inverse_sqrt_correction2, eps, coupled_decay, shrink;
};

AIMASS_ADAM_CLONES
void adamUpdate(float* __restrict w, const float* __restrict g, float* __restrict m,
                float* __restrict v, std::size_t n, const StepConstants& k) {
  for (std::size_t j = 0; j < n; ++j) {
    const float d = g[j] + k.coupled_decay * w[j];
    const float wj = w[j] * k.shrink;
    m[j] = k.beta1 * m[j] + k.one_minus_beta1 * d;
    v[j] = k.beta2 * v[j] + k.one_minus_beta2 * d * d;
    w[j] = wj - k.step_size * m[j] / (std::sqrt(v[j]) * k.inverse_sqrt_correction2 + k.eps);
  }
}

AIMASS_ADAM_CLONES
void amsgradUpdate(float* __restrict w, const float* __restrict g, float* __restrict m,
                   float* __restrict v, float* __restrict v_max, std::size_t n,
                   const StepConstants& k) {
  for (std::size_t j = 0; j < n; ++j) {
    const float d = g[j] + k.coupled_decay * w[j];
    const float wj = w[j] * k.shrink;
    m[j] = k.beta1 * m[j] + k.one_minus_beta1 * d;
    v[j] = k.beta2 * v[j] + k.one_minus_beta2 * d * d;
    v_max[j] = std::max(v_max[j], v[j]);
    w[j] = wj - k.step_size * m[j] / (std::sqrt(v_max[j]) * k.inverse_sqrt_correction2 + k.eps);
  }
}

}  // namespace

std::vector<std::vector<AdamOptimizer::Slice>> AdamOptimizer::splitIntoParts(
    std::span<const std::size_t> sizes, int threads) {
  std::size_t total = 0;
  for (std::size_t n : sizes) {
    total += n;
  }
  const std::size_t parts =
      total < kParallelMinimum ? 1 : static_cast<std::size_t>(std::max(threads, 1));
  std::size_t per_part = (total + parts - 1) / parts;
  per_part = (per_part + kPartAlignment - 1) / kPartAlignment * kPartAlignment;
  std::vector<std::vector<Slice>> out(parts);
  std::size_t part = 0, room = per_part;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::size_t begin = 0;
    while (begin < sizes[i]) {
      const std::size_t take = std::min(room, sizes[i] - begin);
      out[part].push_back({i, begin, begin + take});
      begin += take;
      room -= take;
      if (room == 0 && part + 1 < parts) {
        ++part;
        room = per_part;
      }
    }
  }
  return out;
}

Expected<std::unique_ptr<AdamOptimizer>> AdamOptimizer::create(const AdamOptions& options) {
  const std::string type = options.decoupled ? "optimizer.adamw" : "optimizer.adam";
  AIMASS_RETURN_IF_ERROR(requirePositive(type, "learning_rate", options.learning_rate));
  AIMASS_RETURN_IF_ERROR(requireUnitFraction(type, "beta1", options.beta1));
  AIMASS_RETURN_IF_ERROR(requireUnitFraction(type, "beta2", options.beta2));
  AIMASS_RETURN_IF_ERROR(requirePositive(type, "epsilon", options.epsilon));
  AIMASS_RETURN_IF_ERROR(requireNonNegative(type, "weight_decay", options.weight_decay));
  if (options.threads < 1) {
    return invalidArgument(type + ": threads must be at least 1, got " +
                           std::to_string(options.threads));
  }
  std::unique_ptr<AdamOptimizer> optimizer;
  Status status = guard(type, [&] { optimizer.reset(new AdamOptimizer(options)); });
  if (!status.ok()) {
    return status;
  }
  return optimizer;
}

Status AdamOptimizer::begin(std::span<Parameter> parameters) {
  AIMASS_RETURN_IF_ERROR(checkParameters(typeName(), parameters));
  std::vector<std::size_t> sizes;
  std::vector<std::vector<float>> m, v, v_max;
  std::vector<std::vector<Slice>> parts;
  Status status = guard(typeName(), [&] {
    for (const auto& p : parameters) {
      const auto n = static_cast<std::size_t>(p.value.numel());
      sizes.push_back(n);
      m.emplace_back(n, 0.0f);
      v.emplace_back(n, 0.0f);
      if (options_.amsgrad) {
        v_max.emplace_back(n, 0.0f);
      }
    }
    parts = splitIntoParts(sizes, options_.threads);
  });
  if (!status.ok()) {
    return status;
  }
  sizes_ = std::move(sizes);
  m_ = std::move(m);
  v_ = std::move(v);
  v_max_ = std::move(v_max);
  parts_ = std::move(parts);
  steps_ = 0;
  begun_ = true;
  return okStatus();
}

Status AdamOptimizer::step(std::span<Parameter> parameters) {
  if (!begun_) {
    return failedPrecondition(std::string(typeName()) + ": step() before begin()");
  }
  AIMASS_RETURN_IF_ERROR(checkParametersUnchanged(typeName(), parameters, sizes_));
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double correction1 = 1 - std::pow(options_.beta1, t);
  const double correction2 = 1 - std::pow(options_.beta2, t);
  // The per-element work is then: m, v updates and w -= step_size * m / (sqrt(v) * scale + eps).
  StepConstants k;
  k.step_size = static_cast<float>(options_.learning_rate / correction1);
  k.inverse_sqrt_correction2 = static_cast<float>(1 / std::sqrt(correction2));
  k.beta1 = static_cast<float>(options_.beta1);
  k.beta2 = static_cast<float>(options_.beta2);
  k.one_minus_beta1 = static_cast<float>(1 - options_.beta1);
  k.one_minus_beta2 = static_cast<float>(1 - options_.beta2);
  k.eps = static_cast<float>(options_.epsilon);
  k.coupled_decay = static_cast<float>(options_.decoupled ? 0 : options_.weight_decay);
  k.shrink = static_cast<float>(
      options_.decoupled ? 1 - options_.learning_rate * options_.weight_decay : 1);
  const bool amsgrad = options_.amsgrad;
  auto update = [&](const std::vector<Slice>& slices) {
    const DenormalsAsZero scope;  // moments of zero gradients decay into denormals (the header)
    for (const Slice& s : slices) {
      const std::size_t i = s.parameter, n = s.end - s.begin;
      float* w = parameters[i].value.data<float>() + s.begin;
      const float* g = parameters[i].grad.data<float>() + s.begin;
      float* m = m_[i].data() + s.begin;
      float* v = v_[i].data() + s.begin;
      if (amsgrad) {
        amsgradUpdate(w, g, m, v, v_max_[i].data() + s.begin, n, k);
      } else {
        adamUpdate(w, g, m, v, n, k);
      }
    }
  };
#ifdef _OPENMP
  if (const auto parts = static_cast<int>(parts_.size()); parts > 1) {
    // The team may come out smaller than asked (nested or limited OpenMP); each thread then
    // takes every team-size-th part, so every part still runs exactly once.
#pragma omp parallel num_threads(parts)
    {
      const int team = omp_get_num_threads();
      for (int part = omp_get_thread_num(); part < parts; part += team) {
        update(parts_[static_cast<std::size_t>(part)]);
      }
    }
    return okStatus();
  }
#endif
  for (const auto& slices : parts_) {
    update(slices);
  }
  return okStatus();
}

OptimizerStateFormat AdamOptimizer::stateFormat() const {
  return {typeName(), kStateTag, false, [](std::span<const std::uint8_t> flags) {
            return std::string(flags[0] != 0 ? "with" : "without") + " amsgrad";
          }};
}

Status AdamOptimizer::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition(std::string(typeName()) + ": saveState() before begin()");
  }
  const std::uint8_t flags[] = {options_.amsgrad ? std::uint8_t{1} : std::uint8_t{0}};
  return guard(typeName(), [&] {
    out.clear();
    writeOptimizerState(out, stateFormat(), options_.learning_rate, steps_, flags, sizes_,
                        {&m_, &v_, options_.amsgrad ? &v_max_ : nullptr});
  });
}

Status AdamOptimizer::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition(std::string(typeName()) + ": loadState() before begin()");
  }
  const std::uint8_t flags[] = {options_.amsgrad ? std::uint8_t{1} : std::uint8_t{0}};
  OptimizerStateHead head;
  // The moments are overwritten in place, so their addresses (and step()'s no-allocation
  // promise) stay as begin() made them.
  AIMASS_RETURN_IF_ERROR(guard(typeName(), [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(head,
                            readOptimizerState(state, stateFormat(), flags, sizes_,
                                               {&m_, &v_, options_.amsgrad ? &v_max_ : nullptr}));
    return okStatus();
  }));
  options_.learning_rate = head.learning_rate;
  steps_ = head.steps;
  return okStatus();
}

}  // namespace aimass::plugins::optimizer
