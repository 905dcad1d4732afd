// SPDX-License-Identifier: Apache-2.0
#include "process_identity.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace aimass::core {

std::optional<ProcStat> readProcStat(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) {
    return std::nullopt;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from the last ')'. starttime is field 22; the state is field 3.
  const auto close = text.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(text.substr(close + 1));
  ProcStat stat;
  std::string field;
  for (int number = 3; fields >> field; ++number) {
    if (number == 3) {
      stat.state = field.empty() ? '?' : field[0];
    } else if (number == 22) {
      auto parsed = std::from_chars(field.data(), field.data() + field.size(), stat.start_ticks);
      if (parsed.ec != std::errc()) {
        return std::nullopt;
      }
      return stat;
    }
  }
  return std::nullopt;
}

namespace {

std::string readBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

}  // namespace

std::string hostName() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') {
    return "localhost";
  }
  return buffer;
}

const ProcessIdentity& currentProcess() {
  // Per process: a fork()ed child is another process, so the pid is checked on every call.
  static thread_local ProcessIdentity identity;
  const std::int64_t pid = ::getpid();
  if (identity.pid != pid) {
    identity.pid = pid;
    identity.host = hostName();
    identity.boot_id = readBootId();
    auto stat = readProcStat(pid);
    identity.start_ticks = stat ? stat->start_ticks : 0;
  }
  return identity;
}

bool mayBeAlive(const ProcessIdentity& owner) {
  const ProcessIdentity& self = currentProcess();
  if (owner.host != self.host) {
    return true;
  }
  if (!owner.boot_id.empty() && !self.boot_id.empty() && owner.boot_id != self.boot_id) {
    return false;
  }
  auto stat = readProcStat(owner.pid);
  if (!stat || stat->ended()) {
    return false;
  }
  return owner.start_ticks == 0 || stat->start_ticks == owner.start_ticks;
}

}  // namespace aimass::core
