// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.

#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

namespace aimass {

/// Appends the one text form of a floating-point number everywhere aimass writes one (records,
/// metric points, error messages, generated docs, JSON, the minimal frontend's replies) to
/// `out`: the shortest text that reads back as exactly `value` (std::to_chars), with whole
/// numbers below 1e15 written out without an exponent ("1", "100000", "-3", "0.5", "1e-08",
/// "2.5e+20"). Non-finite values are "inf", "-inf" and "nan"; callers that need JSON map them
/// themselves. Allocates only to grow `out`, so loops writing many numbers stay cheap.
/// Thread-safe for distinct `out`.
template <typename Number>
void appendNumber(std::string& out, Number value) {
  static_assert(std::is_floating_point_v<Number>, "appendNumber takes a float or a double");
  char buffer[64];
  const bool whole = std::isfinite(value) && std::trunc(value) == value &&
                     std::fabs(value) < static_cast<Number>(1e15);
  const auto result =
      whole ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
            : std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

/// appendNumber()'s text of `value` as a new string.
template <typename Number>
std::string formatNumber(Number value) {
  std::string out;
  appendNumber(out, value);
  return out;
}

}  // namespace aimass
