// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "aimass/command.h"

namespace aimass::plugins::frontend {

/// `aimass auth hash-key`, which frontend.http adds to the executable: reads one API key from
/// `io.in` and prints its SHA-256, the stored form an `api_keys` entry or `api_keys_file` line
/// holds ("NAME ROLE SHA256"). A key that an HTTP header cannot carry unchanged (empty, several
/// lines, control characters, leading or trailing blanks) is refused, since no request could
/// present it. Exit 0, or 2 for arguments or a key that cannot be used.
int hashKey(const std::vector<std::string>& args, CommandStreams& io);

/// The command as Registrar::addCommand takes it: name "auth hash-key", its usage and help.
CliCommand hashKeyCommand();

}  // namespace aimass::plugins::frontend
