// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>
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

}  // namespace aimass::testing
