// SPDX-License-Identifier: Apache-2.0
// A job's memory limit as a cgroup: the kernel counts what the job's processes really use
// (resident memory and page cache, not address space) and kills the job when it goes over.
// cgroup v2 where the service's cgroup delegates the memory controller, cgroup v1's memory
// hierarchy where that is mounted writable; otherwise the worker limits its address space
// (RLIMIT_AS, worker_process.h). See docs/jobs.md, "Workers and limits".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "aimass/status.h"

namespace aimass::core::jobs {

/// Where this service makes its jobs' memory cgroups.
class MemoryCgroups {
 public:
  enum class Version { kV1, kV2 };

  /// The first that works, trying cgroup v2 (the unified hierarchy at `root`, usually
  /// /sys/fs/cgroup, with the memory controller delegated to this process's cgroup) and then
  /// v1 (`root`/memory): a folder for this service's jobs, `aimass-jobs-PID`, is made under
  /// this process's own cgroup, and the empty ones of services gone from this host are removed. nullopt when neither works (read-only
  /// /sys/fs/cgroup in a container, no memory controller, no permission); `why_not` then says
  /// what was tried.
  static std::optional<MemoryCgroups> detect(const std::filesystem::path& root,
                                             std::string& why_not);

  /// Makes the group of one job attempt, `limit_bytes` its memory limit (swap not allowed
  /// beyond it where the kernel has that knob). Its folder.
  Expected<std::filesystem::path> create(std::int64_t job, std::int64_t attempt,
                                         std::int64_t limit_bytes) const;

  /// Removes this service's folder of job groups (once their processes are gone) and those of
  /// services gone from this host; errors are ignored (the next service here removes what is
  /// left).
  void removeAll() const;

  Version version() const { return version_; }
  const std::filesystem::path& base() const { return base_; }
  /// "cgroup v1" or "cgroup v2".
  const char* versionName() const { return version_ == Version::kV2 ? "cgroup v2" : "cgroup v1"; }
  /// "cgroup v2 (/sys/fs/cgroup/...)".
  std::string describe() const;

 private:
  MemoryCgroups(Version version, std::filesystem::path base)
      : version_(version), base_(std::move(base)) {}
  Version version_;
  std::filesystem::path base_;  ///< the folder job groups are made in
};

/// Moves the process `pid` (0: the caller) into the group at `group`.
/// kFailedPrecondition naming the group and the error.
Status joinCgroup(const std::filesystem::path& group, pid_t pid = 0);

/// How many times the kernel's OOM killer killed a process of the group (0 when unknown).
std::int64_t cgroupOomKills(const std::filesystem::path& group);

/// Removes the group once its processes are gone; errors are ignored (a leftover empty group is
/// removed by the next detect()).
void removeCgroup(const std::filesystem::path& group);

}  // namespace aimass::core::jobs
