// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"

namespace aimass::testing {

/// The hex of the state `optimizer` saves after begin() on two parameters ("a" with 3 values,
/// "b" with 2) and two steps with fixed gradients; "" when a call fails. The optimizers' tests
/// compare it with the bytes earlier versions wrote, so checkpoints made then still load.
inline std::string stateHexAfterTwoSteps(GradientOptimizer& optimizer) {
  std::vector<Parameter> parameters(2);
  parameters[0] = {"a", Tensor::fromVector(std::vector<float>{0.5f, -1.0f, 2.0f}, {3}),
                   Tensor::fromVector(std::vector<float>{0.25f, -0.5f, 1.0f}, {3})};
  parameters[1] = {"b", Tensor::fromVector(std::vector<float>{1.5f, 0.0f}, {2}),
                   Tensor::fromVector(std::vector<float>{-2.0f, 0.125f}, {2})};
  std::string state;
  if (!optimizer.begin(parameters).ok() || !optimizer.step(parameters).ok() ||
      !optimizer.step(parameters).ok() || !optimizer.saveState(state).ok()) {
    return "";
  }
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : state) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

/// How many of the float slots in a saved optimizer state (util/optimizer_state.h: the tag,
/// f64 learning rate, u64 steps, `head_flags` u8 flags, u64 parameter count, then per
/// parameter its u64 size n, `parameter_flags` u8 flags and `slots` x n floats) are denormal;
/// -1 when the bytes do not have that layout.
inline int denormalsInState(std::string_view state, std::size_t tag_size, std::size_t head_flags,
                            std::size_t parameter_flags, std::size_t slots) {
  std::size_t at = tag_size + 8 + 8 + head_flags;
  auto u64 = [&](std::uint64_t& x) {
    if (at + 8 > state.size()) return false;
    std::memcpy(&x, state.data() + at, sizeof x);
    at += 8;
    return true;
  };
  std::uint64_t count = 0;
  if (!u64(count)) return -1;
  int denormals = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t n = 0;
    if (!u64(n) || n > state.size()) return -1;
    at += parameter_flags;
    if (at + 4 * slots * n > state.size()) return -1;
    for (std::uint64_t j = 0; j < slots * n; ++j, at += 4) {
      float x;
      std::memcpy(&x, state.data() + at, sizeof x);
      denormals += std::fpclassify(x) == FP_SUBNORMAL ? 1 : 0;
    }
  }
  return at == state.size() ? denormals : -1;
}

}  // namespace aimass::testing
