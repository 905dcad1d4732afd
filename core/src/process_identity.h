// SPDX-License-Identifier: Apache-2.0
// Who a process is, and whether it may still run: tracking's live records and storage leases
// (store_lease.h) name the process that owns them, and a process on this host that is gone
// gives up what it owned at once, without waiting for an expiry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace aimass::core {

/// Who a process is, well enough to tell it from a later process that reuses its pid.
struct ProcessIdentity {
  std::int64_t pid = 0;
  std::string host;
  std::string boot_id;            ///< /proc/sys/kernel/random/boot_id; empty if unreadable
  std::uint64_t start_ticks = 0;  ///< /proc/<pid>/stat starttime, clock ticks after boot
};

struct ProcStat {
  char state = '?';
  std::uint64_t start_ticks = 0;
  /// A zombie (ended, not reaped: in containers whose first process reaps nothing, for good)
  /// or a dead process.
  bool ended() const { return state == 'Z' || state == 'X'; }
};

/// State and start time of process `pid`, from /proc/<pid>/stat; nullopt when it is gone.
std::optional<ProcStat> readProcStat(std::int64_t pid);

/// gethostname(), "localhost" when it fails.
std::string hostName();

/// This process (per process: a fork()ed child is another).
const ProcessIdentity& currentProcess();

/// False only when `owner` certainly no longer runs: it was on this host and this boot, and its
/// pid is gone, ended, or another process's (a different start time). A process on another host
/// may always be alive.
bool mayBeAlive(const ProcessIdentity& owner);

}  // namespace aimass::core
