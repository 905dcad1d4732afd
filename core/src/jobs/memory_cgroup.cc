// SPDX-License-Identifier: Apache-2.0
#include "jobs/memory_cgroup.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "record_text.h"

namespace aimass::core::jobs {
namespace {

namespace fs = std::filesystem;

std::string readFirstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

/// Writes `text` to a cgroup control file; the errno text on failure.
Status writeControl(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  out.flush();
  if (!out) {
    return failedPrecondition("writing '" + text + "' to " + file.string() + ": " +
                              std::strerror(errno));
  }
  return okStatus();
}

/// This process's cgroup path in the hierarchy whose /proc/self/cgroup line has `controllers`
/// ("" for v2's "0::/path" line, "memory" for v1's "N:memory:/path"); nullopt when absent.
std::optional<std::string> ownCgroup(const std::string& controllers) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string names = line.substr(first + 1, second - first - 1);
    std::istringstream list(names);
    std::string name;
    bool match = controllers.empty() && names.empty();
    while (!match && !controllers.empty() && std::getline(list, name, ',')) {
      match = name == controllers;
    }
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

bool hasWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

/// Removes the empty job groups in `base`, then `base` itself if it is left empty.
void removeJobGroups(const fs::path& base) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(base, error)) {
    if (entry.is_directory() && entry.path().filename().string().starts_with("job-")) {
      removeCgroup(entry.path());
    }
  }
  removeCgroup(base);
}

/// Removes the folders of services gone from this host (aimass-jobs-PID in `parent`, PID no
/// longer running) once their jobs' processes are gone too.
void removeGoneServices(const fs::path& parent) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(parent, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with("aimass-jobs-")) continue;
    const auto pid = record::parseInt(name.substr(std::string("aimass-jobs-").size()));
    if (pid && *pid > 0 && ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH) {
      removeJobGroups(entry.path());
    }
  }
}

/// Makes `base` (this service's folder of job groups), removing those of services gone.
Status prepareBase(const fs::path& base) {
  removeGoneServices(base.parent_path());
  std::error_code error;
  fs::create_directories(base, error);
  if (error) return failedPrecondition("creating " + base.string() + ": " + error.message());
  return okStatus();
}

}  // namespace

std::optional<MemoryCgroups> MemoryCgroups::detect(const fs::path& root, std::string& why_not) {
  const std::string folder = "aimass-jobs-" + std::to_string(getpid());
  // cgroup v2: the memory controller must be enabled for this process's cgroup's children.
  // Its own processes stay where they are, so jobs go in a child group, `folder`, which
  // delegates memory to the job groups below it.
  if (auto own = ownCgroup(""); own && fs::exists(root / "cgroup.controllers")) {
    const fs::path mine = root / fs::path(*own).relative_path();
    const fs::path base = mine / folder;
    if (!hasWord(readFirstLine(mine / "cgroup.subtree_control"), "memory")) {
      (void)writeControl(mine / "cgroup.subtree_control", "+memory");
    }
    if (hasWord(readFirstLine(mine / "cgroup.subtree_control"), "memory") &&
        prepareBase(base).ok() && writeControl(base / "cgroup.subtree_control", "+memory").ok()) {
      return MemoryCgroups(Version::kV2, base);
    }
    why_not = "cgroup v2 at " + mine.string() + " does not delegate the memory controller";
  } else {
    why_not = "no cgroup v2 hierarchy at " + root.string();
  }
  // cgroup v1: the memory hierarchy, mounted at ROOT/memory.
  if (auto own = ownCgroup("memory"); own && fs::exists(root / "memory" / "memory.limit_in_bytes")) {
    const fs::path base = root / "memory" / fs::path(*own).relative_path() / folder;
    if (Status s = prepareBase(base); s.ok()) return MemoryCgroups(Version::kV1, base);
    why_not += "; cgroup v1's memory hierarchy is not writable here";
  } else {
    why_not += "; no cgroup v1 memory hierarchy at " + (root / "memory").string();
  }
  return std::nullopt;
}

Expected<fs::path> MemoryCgroups::create(std::int64_t job, std::int64_t attempt,
                                         std::int64_t limit_bytes) const {
  const fs::path group =
      base_ / ("job-" + std::to_string(job) + "-" + std::to_string(attempt));
  std::error_code error;
  fs::create_directory(group, error);
  if (error) return failedPrecondition("creating " + group.string() + ": " + error.message());
  const std::string limit = std::to_string(limit_bytes);
  Status set = version_ == Version::kV2 ? writeControl(group / "memory.max", limit)
                                        : writeControl(group / "memory.limit_in_bytes", limit);
  if (!set.ok()) {
    removeCgroup(group);
    return set;
  }
  // Over the limit means killed, not swapped out (where the kernel has these knobs).
  if (version_ == Version::kV2) {
    (void)writeControl(group / "memory.swap.max", "0");
  } else if (fs::exists(group / "memory.memsw.limit_in_bytes")) {
    (void)writeControl(group / "memory.memsw.limit_in_bytes", limit);
  }
  return group;
}

void MemoryCgroups::removeAll() const {
  removeJobGroups(base_);
  // A service killed with -9 leaves its folder until the processes of its jobs are gone, which
  // may be after the next service started: sweep again on the way out.
  removeGoneServices(base_.parent_path());
}

std::string MemoryCgroups::describe() const {
  return std::string(versionName()) + " (" + base_.string() + ")";
}

Status joinCgroup(const fs::path& group, pid_t pid) {
  return writeControl(group / "cgroup.procs", std::to_string(pid == 0 ? getpid() : pid));
}

std::int64_t cgroupOomKills(const fs::path& group) {
  // v2: memory.events; v1 (kernels since 4.13): memory.oom_control. Both have "oom_kill N".
  for (const char* name : {"memory.events", "memory.oom_control"}) {
    std::ifstream in(group / name);
    std::string key;
    std::string value;
    while (in >> key >> value) {
      if (key == "oom_kill") return record::parseInt(value).value_or(0);
    }
  }
  return 0;
}

void removeCgroup(const fs::path& group) {
  // A cgroup folder is removed with rmdir even though it lists control files.
  (void)::rmdir(group.c_str());
}

}  // namespace aimass::core::jobs
