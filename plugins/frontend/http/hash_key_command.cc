// SPDX-License-Identifier: Apache-2.0
#include "hash_key_command.h"

#include <istream>
#include <ostream>
#include <sstream>

#include "authenticator.h"

namespace aimass::plugins::frontend {
namespace {

constexpr char kUsage[] = "auth hash-key < KEYFILE";

constexpr char kHelp[] =
    "Reads one API key from standard input (one trailing line break is dropped) and prints\n"
    "its SHA-256 as 64 lower-case hex digits: the `sha256` field of a frontend.http\n"
    "`api_keys` record, or the third of an `api_keys_file` line, \"NAME ROLE SHA256\". The\n"
    "key itself is never stored in the configuration; the server hashes each presented key\n"
    "and compares the hashes.\n"
    "A key that an HTTP header cannot carry as it is (empty, several lines, control\n"
    "characters, leading or trailing spaces) is refused.\n"
    "\n"
    "Exit code: 0, or 2 for a key that cannot be used.\n"
    "\n"
    "Examples:\n"
    "  head -c 32 /dev/urandom | base64 | tr -d '/+=' > deployer.key\n"
    "  aimass auth hash-key < deployer.key\n"
    "  printf %s \"$KEY\" | aimass auth hash-key\n";

constexpr int kExitBadInput = 2;

/// Why `key` cannot travel in an HTTP header unchanged; empty when it can. The server trims
/// header values and no header carries a line break, so such a key's hash could never match.
std::string unusable(const std::string& key) {
  if (key.empty()) {
    return "the key read from standard input is empty";
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    const std::string at = " (byte " + std::to_string(i + 1) + ")";
    if (c == '\n' || c == '\r') {
      return "the key read from standard input has more than one line" + at +
             "; an HTTP header cannot carry it";
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return "the key read from standard input has a control character" + at +
             "; an HTTP header cannot carry it";
    }
  }
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  if (blank(key.front()) || blank(key.back())) {
    return "the key read from standard input starts or ends with a space or tab, which HTTP "
           "drops from header values, so no request could present it";
  }
  return {};
}

}  // namespace

int hashKey(const std::vector<std::string>& args, CommandStreams& io) {
  if (!args.empty()) {
    io.err << "aimass: 'aimass auth hash-key' takes no arguments; it reads the key from standard "
              "input (usage: aimass "
           << kUsage << ")\nRun 'aimass help auth hash-key' for usage.\n";
    return kExitBadInput;
  }
  if (io.in_is_terminal) {
    io.err << "aimass: reading the API key from standard input (end with Ctrl-D)\n";
  }
  std::ostringstream buffer;
  buffer << io.in.rdbuf();
  std::string key = buffer.str();
  if (!key.empty() && key.back() == '\n') {
    key.pop_back();
    if (!key.empty() && key.back() == '\r') {
      key.pop_back();
    }
  }
  if (std::string why = unusable(key); !why.empty()) {
    io.err << "aimass: auth hash-key: " << why << "\n";
    return kExitBadInput;
  }
  io.out << sha256Hex(key) << "\n";
  return 0;
}

CliCommand hashKeyCommand() {
  CliCommand command;
  command.name = "auth hash-key";
  command.usage = kUsage;
  command.summary = "Print the stored form (SHA-256) of an API key read from stdin.";
  command.help = kHelp;
  command.handler = hashKey;
  return command;
}

}  // namespace aimass::plugins::frontend
