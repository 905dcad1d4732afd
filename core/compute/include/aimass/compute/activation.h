// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string_view>

#include "aimass/compute/export.h"

namespace aimass::compute {

/// Element-wise activation functions the compute ops apply (GELU is the tanh approximation).
enum class Activation { kNone, kRelu, kTanh, kSigmoid, kGelu };

/// "none", "relu", "tanh", "sigmoid", "gelu".
AIMASS_COMPUTE_API std::string_view activationName(Activation activation) noexcept;
/// The activation named `name` (as activationName() spells it); nullopt when unknown.
AIMASS_COMPUTE_API std::optional<Activation> activationFromName(std::string_view name) noexcept;

}  // namespace aimass::compute
