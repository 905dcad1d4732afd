// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace aimass::core::annotation {

/// `text` without the white space outside its strings (JsonWriter indents what it writes).
inline std::string compact(const std::string& text) {
  std::string out;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' && (i == 0 || text[i - 1] != '\\')) quoted = !quoted;
    if (quoted || (c != ' ' && c != '\n')) out += c;
  }
  return out;
}

}  // namespace aimass::core::annotation
