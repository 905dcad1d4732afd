// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.
//
// Memory sizes as people write them ("512MiB", "2GiB", "1.5GiB", or bytes), read the same way
// by the job service's configuration, `aimass jobs` and frontend.http's /api/v1/jobs.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "aimass/status.h"

namespace aimass {

/// `text` as bytes: a decimal number (a fraction allowed) followed by nothing or B (bytes),
/// KiB, MiB, GiB or TiB. kInvalidArgument naming `what` for anything else, or a size of an
/// exabyte or more.
inline Expected<std::int64_t> parseMemorySize(std::string_view text, const std::string& what) {
  std::size_t digits = 0;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "KiB") scale = 1024.0;
  if (unit == "MiB") scale = 1024.0 * 1024;
  if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  if (unit == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  // The number: digits with at most one point, at least one digit.
  double value = 0, fraction = 0.1;
  bool point = false, any_digit = false, ok = !number.empty();
  for (char c : number) {
    if (c == '.') {
      ok = ok && !point;
      point = true;
    } else if (point) {
      value += (c - '0') * fraction;
      fraction /= 10;
      any_digit = true;
    } else {
      value = value * 10 + (c - '0');
      any_digit = true;
    }
  }
  const double bytes = value * scale;
  if (!ok || !any_digit || scale == 0 || !(bytes < 1e18)) {
    return invalidArgument(what + ": '" + std::string(text) +
                           "' is not a memory size (e.g. 512MiB, 2GiB, 1.5GiB or bytes)");
  }
  return static_cast<std::int64_t>(std::llround(bytes));
}

}  // namespace aimass
