// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

namespace aimass::testing {

/// In a forked child: replaces the process with `program` (the aimass under test, a test's
/// AIMASS_EXECUTABLE) run with `args`; exits 127 when it cannot be started.
[[noreturn]] inline void execProgram(std::string program, std::vector<std::string> args) {
  std::vector<char*> argv{program.data()};
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  execv(program.c_str(), argv.data());
  _exit(127);
}

}  // namespace aimass::testing
