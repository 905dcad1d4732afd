// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/diagnostics.h"

namespace aimass::core {

std::string formatLocation(const SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

// Parts of the location that are unknown (empty file, line 0, column 0) are left out, so a
// problem with a whole file prints as "FILE: error: ..." rather than "FILE:0:0: error: ...".
std::string Diagnostic::format() const {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line > 0) {
      out += ':' + std::to_string(where.line);
      if (where.column > 0) {
        out += ':' + std::to_string(where.column);
      }
    }
    out += ": ";
  }
  out += "error: " + message;
  if (!hint.empty()) {
    out += "\n  hint: " + hint;
  }
  return out;
}

std::string formatDiagnostics(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    if (!out.empty()) {
      out += '\n';
    }
    out += d.format();
  }
  return out;
}

}  // namespace aimass::core
