// SPDX-License-Identifier: Apache-2.0
// A job's worker: `aimass jobs worker` running the job's graph in a process of its own, so that
// a crash or an out-of-memory of one job takes nothing else down.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aimass/status.h"

namespace aimass::core::jobs {

/// How the service starts a worker:
/// `aimass [--plugin-path P]... --log-level L jobs worker --threads T --memory-bytes M
///  --parent PID CONFIG`, in `work_dir`, with stdout and stderr appended to `log_file`.
struct WorkerCommand {
  std::filesystem::path executable;  ///< the running aimass (/proc/self/exe)
  std::vector<std::string> plugin_paths;
  std::string log_level = "info";
  std::filesystem::path config;    ///< the job's graph
  std::filesystem::path work_dir;  ///< relative paths in the graph resolve here
  std::filesystem::path log_file;
  int threads = 1;
  std::int64_t memory_bytes = 0;  ///< the worker's address-space limit (RLIMIT_AS); 0: none
  std::vector<std::string> environment;  ///< "NAME=value" added to the service's environment
};

/// How a worker ended.
struct WorkerExit {
  bool signalled = false;
  int code = 0;  ///< the exit code, or the signal's number when signalled
  bool ok() const { return !signalled && code == 0; }
  /// "exit code 1", "killed by signal 9 (SIGKILL)".
  std::string describe() const;
};

/// One running worker, in a process group of its own (signals to the service's terminal do
/// not reach it). It dies with the service, even after kill -9 (PR_SET_PDEATHSIG in the worker).
///
/// Threading: one owner (the service's loop). The destructor kills a worker still running and
/// reaps it.
class WorkerProcess {
 public:
  static Expected<std::unique_ptr<WorkerProcess>> start(const WorkerCommand& command);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// A file descriptor that becomes readable when the worker exits (a pidfd), for poll().
  int exitFd() const { return pidfd_; }
  /// The exit, once the worker has ended (reaped then); nullopt while it runs.
  std::optional<WorkerExit> poll();
  /// SIGTERM to the worker's process group: it stops its jobs cleanly (training checkpoints).
  void terminate();
  /// SIGKILL to the worker's process group.
  void kill();

 private:
  WorkerProcess() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<WorkerExit> exit_;
};

/// The last `max_bytes` of a log file (from a line start where possible); empty if unreadable.
std::string logTail(const std::filesystem::path& file, std::size_t max_bytes);

/// What `aimass jobs worker` does before it runs the graph: dies with `parent` (and exits now
/// if `parent` is already gone), and limits its address space to `memory_bytes` (0: no limit).
/// kFailedPrecondition naming the failed call.
Status prepareWorker(pid_t parent, std::int64_t memory_bytes);

}  // namespace aimass::core::jobs
