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

#include "aimass/job_service.h"
#include "aimass/status.h"
#include "jobs/launcher.h"

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
  /// Above 1: the worker runs under `MPIEXEC -np RANKS ...` (launcher.h), each rank with
  /// `threads` threads and the `memory_bytes` limit; `slots` is the machine's CPUs.
  std::int64_t ranks = 1;
  std::filesystem::path mpiexec;
  std::int64_t slots = 1;
};

/// One running worker (for several ranks: mpirun and its ranks), in a process group of its own
/// (signals to the service's terminal do not reach it). It dies with the service, even after
/// kill -9 (PR_SET_PDEATHSIG in the worker; under mpirun, mpirun outlives it: docs/jobs.md).
///
/// Threading: one owner (the service's loop). The destructor kills a worker still running and
/// reaps it.
class WorkerProcess final : public JobRun {
 public:
  static Expected<std::unique_ptr<WorkerProcess>> start(const WorkerCommand& command);
  ~WorkerProcess() override;
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const override { return pid_; }
  std::string externalId() const override { return {}; }
  /// A file descriptor that becomes readable when the worker exits (a pidfd), for poll().
  int exitFd() const override { return pidfd_; }
  /// The exit, once the worker has ended (reaped then); nullopt while it runs.
  std::optional<WorkerExit> poll() override;
  /// SIGTERM to the worker's process group: it stops its jobs cleanly (training checkpoints).
  void terminate() override;
  /// SIGKILL to the worker's process group.
  void kill() override;

 private:
  WorkerProcess() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<WorkerExit> exit_;
};

/// The last `max_bytes` of a log file (from a line start where possible); empty if unreadable.
std::string logTail(const std::filesystem::path& file, std::size_t max_bytes);

/// At most `max_bytes` of a log file from byte `offset` on, and the file's size; a missing file
/// (a job that has not run yet) is an empty log. kOutOfRange for an offset past the end.
Expected<JobLogChunk> logRange(const std::filesystem::path& file, std::uint64_t offset,
                               std::size_t max_bytes);

/// What `aimass jobs worker` does first: joins the job's memory cgroup when the service named
/// one (AIMASS_JOB_CGROUP; every rank of a job joins it); a rank of several on one machine
/// appends its stdout and stderr to the job's log itself (AIMASS_JOB_LOG_FILE; through mpirun
/// when it cannot be opened or the ranks span machines); dies with its parent (and exits now if
/// `parent` is already gone; a rank under mpirun checks that `parent` is an ancestor; a Slurm
/// batch job, AIMASS_JOB_DETACHED=1, does neither).
/// kFailedPrecondition naming the failed call.
Status prepareWorker(pid_t parent);

/// What `aimass jobs worker` does once its plugins are loaded: limits its address space to what
/// is mapped now (the program, its libraries and plugins) plus `memory_bytes` (0: no limit), so
/// that a job's memory is what its data and model may take, whatever plugins are installed.
/// kFailedPrecondition naming the failed call.
Status limitWorkerMemory(std::int64_t memory_bytes);

}  // namespace aimass::core::jobs
