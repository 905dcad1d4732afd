// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "aimass/core/type_registry.h"

namespace aimass::core {

// The subcommands plugins add to `aimass` (Registrar::addCommand, aimass/command.h), as the
// command line finds, lists and runs them.

/// True when `word` starts one of the executable's own commands (kBuiltinCommandWords).
bool isBuiltinCommandWord(const std::string& word);

/// The plugin command the command line's words name: the two-word command "W0 W1", else the
/// one-word command "W0". Null when no loaded plugin added either; `name_words` is set to how
/// many words the name took.
const RegisteredCommand* findPluginCommand(const TypeRegistry& registry,
                                           const std::vector<std::string>& words,
                                           std::size_t& name_words);

/// The plugin commands whose first word is `group` ("auth" for "auth hash-key"), by name.
std::vector<const RegisteredCommand*> pluginCommandGroup(const TypeRegistry& registry,
                                                         const std::string& group);

/// The arguments of a command named by `name_words` words: argv after those words, without the
/// global options (--plugin-path, --log-level and their values, in either "--opt VALUE" or
/// "--opt=VALUE" form) wherever they stand.
std::vector<std::string> commandArguments(int argc, char** argv, std::size_t name_words);

/// Runs `command` with `args` on the process's standard streams and returns its exit code; an
/// exception escaping the plugin's handler is reported on stderr, naming the plugin, as exit 1.
int runPluginCommand(const RegisteredCommand& command, const std::vector<std::string>& args);

/// "Usage: aimass [global options] USAGE\n\nSUMMARY\n\nHELP", as for built-in commands, with the
/// plugin that adds it.
void printPluginCommandHelp(const RegisteredCommand& command, std::ostream& out);

}  // namespace aimass::core
