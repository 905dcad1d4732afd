// SPDX-License-Identifier: Apache-2.0
#include "bf16_buffer.h"

#include <bit>
#include <cstddef>

namespace aimass::plugins::collective {

float widenBf16(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t roundToBf16(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0) {
    // NaN: keep the sign and the top of the payload, and set the quiet bit so that truncating
    // never turns it into an infinity.
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  }
  // Adding 0x7fff plus the lowest kept bit rounds to nearest and breaks ties towards an even
  // result; a carry into the exponent is the correct rounding (up to infinity at the top).
  const std::uint32_t lowest_kept = (bits >> 16) & 1u;
  return static_cast<std::uint16_t>((bits + 0x7fffu + lowest_kept) >> 16);
}

std::span<float> Bf16Scratch::widen(std::span<const std::uint16_t> bits) {
  if (values_.size() < bits.size()) {
    values_.resize(bits.size());
  }
  for (std::size_t i = 0; i < bits.size(); ++i) {
    values_[i] = widenBf16(bits[i]);
  }
  return {values_.data(), bits.size()};
}

void Bf16Scratch::narrow(std::span<std::uint16_t> bits, float scale) const {
  for (std::size_t i = 0; i < bits.size(); ++i) {
    bits[i] = roundToBf16(scale == 1.0f ? values_[i] : values_[i] * scale);
  }
}

}  // namespace aimass::plugins::collective
