// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/diagnostics.h"

namespace aimass::core {

/// One parameter as written in the file, after ${VAR} substitution.
struct ParamDecl {
  std::string name;
  SourceLocation where;  ///< where the key is
  /// Scalar or sequence as written (Graph::validate reports any other shape); marks point into
  /// the file it came from. Shares the parsed tree: copy-construct, never assign, a ParamDecl
  /// (assigning a YAML::Node rewrites the node it referred to).
  YAML::Node value;
  SourceLocation value_where;  ///< where the value is written (the key, when the value is empty)
};

/// One node as written: `name: {type: ..., <params>}`.
struct NodeDecl {
  std::string name;
  SourceLocation where;
  std::string type;
  SourceLocation type_where;
  std::vector<ParamDecl> params;
  /// The scalars of this node (its type, values, list elements) whose text holds the value of
  /// an environment variable, by where they are written (line and column, as in their
  /// SourceLocation), each with the words diagnostics name it by instead of quoting it: "the
  /// value of ${AIMASS_HTTP_PORT}", or "the expansion of 'http://${HOST}:${PORT}'" when literal
  /// text or several variables make it up. The value may be a secret; no message prints it.
  std::map<std::pair<int, int>, std::string> from_environment;
  /// Absolute folder of the file that declared the node: its relative `path` parameters resolve
  /// against it (an included file's folder, not the top-level file's).
  std::filesystem::path base_dir;

  /// The words for the scalar written at `where` when its text came from the environment (see
  /// from_environment); nullptr for text written in the file, which messages may quote.
  const std::string* fromEnvironment(const SourceLocation& where) const {
    auto found = from_environment.find({where.line, where.column});
    return found == from_environment.end() ? nullptr : &found->second;
  }
};

/// A configuration file with its includes merged.
///
/// File format (YAML; JSON is valid YAML):
///
///     include: [common/storage.yaml]   # optional; relative to this file; nodes merged in
///     plugins: [../build/lib/aimass/plugins]  # optional extra plugin files or folders
///     threads: 2                       # optional compute threads (default: all cores)
///     nodes:
///       store: {type: storage.fs, path: ./var/store}
///       ...
///
/// `${VAR}` and `${VAR:-default}` are substituted in every scalar value; `$$` is a literal `$`.
/// Diagnostics never print what a variable expanded to (it may be a secret): they name the
/// variable, as in "the value of ${AIMASS_HTTP_PORT} is not ...". Text written in the file,
/// defaults included, may be quoted.
/// A node defined in two files is an error naming both places.
struct ConfigDocument {
  std::filesystem::path file;      ///< the top-level file as given
  std::filesystem::path base_dir;  ///< its folder; relative paths resolve against it
  std::vector<std::filesystem::path> plugin_paths;  ///< resolved against the declaring file
  std::optional<int> threads;
  std::vector<NodeDecl> nodes;  ///< in file order (includes first, at the include point)
};

/// Reads and merges a configuration. Returns nullopt when a file cannot be read or parsed;
/// every problem found (syntax, unknown top-level keys, bad includes and include cycles,
/// undefined variables without a default, malformed nodes) is appended to `diagnostics`, sorted
/// by file, line and column. A document comes back even when it has such problems, so that
/// Graph::validate() can report more; validate() then returns null. Never throws.
///
/// Includes are read once each: a file included again (a diamond of includes) is skipped, and
/// an include that leads back to a file being read is an "include cycle" error. `threads` from
/// the including file wins over its includes; among includes, the first that sets it wins.
/// In flow collections (`{...}`, `[...]`) a value using `${VAR}` must be quoted, since `}` ends
/// the collection in YAML.
std::optional<ConfigDocument> loadConfig(const std::filesystem::path& file,
                                         Diagnostics& diagnostics);

/// Same, from text (for tests and the fuzzer); `file_name` is used in diagnostics and
/// includes resolve against `base_dir`.
std::optional<ConfigDocument> loadConfigFromString(const std::string& text,
                                                   const std::string& file_name,
                                                   const std::filesystem::path& base_dir,
                                                   Diagnostics& diagnostics);

}  // namespace aimass::core
