// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/activation.h"

namespace aimass::compute {

std::string_view activationName(Activation activation) noexcept {
  switch (activation) {
    case Activation::kNone:
      return "none";
    case Activation::kRelu:
      return "relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kGelu:
      return "gelu";
  }
  return "none";
}

std::optional<Activation> activationFromName(std::string_view name) noexcept {
  for (Activation a : {Activation::kNone, Activation::kRelu, Activation::kTanh,
                       Activation::kSigmoid, Activation::kGelu}) {
    if (activationName(a) == name) {
      return a;
    }
  }
  return std::nullopt;
}

}  // namespace aimass::compute
