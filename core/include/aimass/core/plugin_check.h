// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aimass/core/type_registry.h"
#include "aimass/host.h"
#include "aimass/status.h"

namespace aimass::core {

/// One line of a plugin check: "PASS|FAIL|SKIP <type>: <check>[: detail]".
struct PluginCheckLine {
  enum class Outcome { kPass, kFail, kSkip };
  std::string type;   ///< the node type, or the plugin's name for library-wide checks
  std::string check;  ///< what was checked, e.g. "builds from defaults and examples"
  Outcome outcome = Outcome::kPass;
  std::string detail;  ///< why it failed or was skipped
};

/// What `aimass plugin check LIB.so` found.
struct PluginCheckReport {
  std::string library;                       ///< the path as given, made absolute
  Status refusal;                            ///< not OK when the loader refused the library
  std::shared_ptr<const PluginInfo> plugin;  ///< null when refused
  std::vector<PluginCheckLine> lines;

  std::size_t count(PluginCheckLine::Outcome outcome) const;
  /// True when the library loaded and no check failed (skips are not failures).
  bool passed() const { return refusal.ok() && count(PluginCheckLine::Outcome::kFail) == 0; }
};

/// Checks one plugin library the way a vendor needs before shipping it:
///
/// 1. loads it alone (next to the host's built-in types) with the same checks the host uses;
/// 2. checks each type's schema: a summary, a doc for every parameter, examples that parse as
///    the parameter's type and respect its range and choices;
/// 3. builds each type from its defaults and examples ("{tmp}" in an example becomes a fresh
///    temporary folder, removed afterwards; relative paths resolve against it). A type with a
///    required parameter that has no example, or that needs a reference to another node, is
///    skipped with the reason;
/// 4. runs the conformance suite of its kind (aimass::testing::runConformance) on the node.
///
/// Never throws: exceptions from the plugin are reported as failed checks. Node logs go to
/// stderr at `log_level` and above.
PluginCheckReport checkPlugin(const std::filesystem::path& library, LogLevel log_level);

/// The report as text: one "PASS|FAIL|SKIP <type>: <check>[: detail]" line per check, then
/// "N passed, M failed, K skipped". A refused library prints its reason instead.
std::string formatPluginCheck(const PluginCheckReport& report);

/// The report as JSON: {library, plugin, version, refused, results: [{type, check, outcome,
/// detail}], passed, failed, skipped}.
std::string pluginCheckJson(const PluginCheckReport& report);

}  // namespace aimass::core
