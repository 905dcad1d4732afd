// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Command-line subcommands a plugin adds to the `aimass` executable (Registrar::addCommand),
/// for what belongs to the plugin alone: frontend.http's `aimass auth hash-key` prints the
/// stored form of its own API keys.

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace aimass {

/// The streams a command reads and writes: the process's stdin, stdout and stderr. Valid only
/// during the handler's call.
struct CommandStreams {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool in_is_terminal = false;  ///< stdin is a terminal (a command reading it may prompt)
};

/// Runs a command. `args` are the words after the command's name, without the host's global
/// options (--plugin-path, --log-level and their values). Returns the exit code: 0 success, 1 a
/// runtime failure, 2 bad input (a usage mistake, an unusable value), as the built-in commands
/// do; a handler prints its own errors on `io.err` ("aimass: NAME: ..."). Called once, on the
/// main thread, while the plugin is loaded. Must not throw: the host catches as a last resort,
/// names the plugin and exits 1.
using CommandHandler = std::function<int(const std::vector<std::string>& args, CommandStreams& io)>;

/// One subcommand. The host lists it in `aimass --help` and prints its help for
/// `aimass help NAME` and `aimass NAME --help`.
struct CliCommand {
  /// One or two words separated by one space ("auth hash-key"), each a lower-case letter then
  /// [a-z0-9-], at most 32 characters. The first word must not be a built-in command (run,
  /// validate, eval, models, datasets, runs, plugins, plugin, help); two commands sharing a
  /// first word form a group (`aimass auth` lists its subcommands).
  std::string name;
  std::string usage;    ///< starts with the name: "auth hash-key < KEYFILE"
  std::string summary;  ///< one line for `aimass --help`
  std::string help;     ///< the details `aimass help NAME` prints after usage and summary
  CommandHandler handler;
};

}  // namespace aimass
