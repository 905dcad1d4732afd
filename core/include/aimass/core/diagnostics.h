// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace aimass::core {

/// A place in a configuration file; line and column are 1-based (0 when unknown).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

/// "FILE:LINE:COL", as messages cite another place ("it was first given at ...").
std::string formatLocation(const SourceLocation& where);

/// One problem found in a configuration, printed as "FILE:LINE:COL: error: message" followed,
/// when there is one, by an indented "hint: ..." line.
struct Diagnostic {
  SourceLocation where;
  std::string message;
  std::string hint;

  std::string format() const;
};

/// Every problem found, in file order; empty means the configuration is valid.
using Diagnostics = std::vector<Diagnostic>;

/// All diagnostics, one formatted entry per line.
std::string formatDiagnostics(const Diagnostics& diagnostics);

}  // namespace aimass::core
