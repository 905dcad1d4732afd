// SPDX-License-Identifier: Apache-2.0
#include "plugin_commands.h"

#include <unistd.h>

#include <exception>
#include <iostream>
#include <string_view>

namespace aimass::core {

bool isBuiltinCommandWord(const std::string& word) {
  for (std::string_view builtin : kBuiltinCommandWords) {
    if (word == builtin) {
      return true;
    }
  }
  return false;
}

const RegisteredCommand* findPluginCommand(const TypeRegistry& registry,
                                           const std::vector<std::string>& words,
                                           std::size_t& name_words) {
  if (words.empty()) {
    return nullptr;
  }
  if (words.size() > 1) {
    if (const RegisteredCommand* found = registry.findCommand(words[0] + " " + words[1])) {
      name_words = 2;
      return found;
    }
  }
  name_words = 1;
  return registry.findCommand(words[0]);
}

std::vector<const RegisteredCommand*> pluginCommandGroup(const TypeRegistry& registry,
                                                         const std::string& group) {
  std::vector<const RegisteredCommand*> out;
  for (const RegisteredCommand* command : registry.commands()) {
    if (command->command.name.rfind(group + " ", 0) == 0) {
      out.push_back(command);
    }
  }
  return out;
}

std::vector<std::string> commandArguments(int argc, char** argv, std::size_t name_words) {
  std::vector<std::string> args;
  std::size_t skipped_words = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--log-level" || word == "--plugin-path") {
      ++i;  // and its value
      continue;
    }
    if (word.rfind("--log-level=", 0) == 0 || word.rfind("--plugin-path=", 0) == 0) {
      continue;
    }
    if (skipped_words < name_words) {
      ++skipped_words;
      continue;
    }
    args.emplace_back(word);
  }
  return args;
}

int runPluginCommand(const RegisteredCommand& command, const std::vector<std::string>& args) {
  CommandStreams io{std::cin, std::cout, std::cerr, isatty(STDIN_FILENO) == 1};
  const std::string plugin = command.plugin ? command.plugin->name : "unknown";
  try {
    return command.command.handler(args, io);
  } catch (const std::exception& e) {
    std::cerr << "aimass: " << command.command.name << ": plugin '" << plugin
              << "' failed: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "aimass: " << command.command.name << ": plugin '" << plugin
              << "' failed with an unknown exception\n";
  }
  return 1;
}

void printPluginCommandHelp(const RegisteredCommand& command, std::ostream& out) {
  out << "Usage: aimass [global options] " << command.command.usage << "\n\n"
      << command.command.summary << "\n\n"
      << command.command.help;
  if (!command.command.help.empty() && command.command.help.back() != '\n') {
    out << "\n";
  }
  if (command.plugin) {
    out << "\n(added by plugin " << command.plugin->name;
    if (!command.plugin->library.empty()) {
      out << ", " << command.plugin->library;
    }
    out << ")\n";
  }
}

}  // namespace aimass::core
