// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace aimass::core {

/// `v` escaped as a Prometheus label value (text format 0.0.4): backslash, double quote and
/// newline become \\, \" and \n.
inline std::string prometheusLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace aimass::core
