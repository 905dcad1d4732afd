// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Checking UTF-8 one sequence at a time, for code that reads text from outside (request
/// bodies, log messages) and must tell well-formed UTF-8 from other bytes.

#include <cstddef>
#include <string_view>

namespace aimass {

/// The length (2 to 4) of the well-formed multi-byte UTF-8 sequence at the start of `s`, or 0
/// when there is none there: an ASCII byte, a stray continuation byte, an overlong form, a
/// surrogate, a code point past U+10FFFF or a sequence cut short by the end of `s`. Pure; never
/// reads past `s`.
inline std::size_t utf8SequenceLength(std::string_view s) noexcept {
  if (s.empty()) {
    return 0;
  }
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) {
      return 0;
    }
  }
  return length;
}

}  // namespace aimass
