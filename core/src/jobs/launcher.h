// SPDX-License-Identifier: Apache-2.0
// How the job service launches a job of several MPI ranks on its own machine: its worker runs
// under `mpirun -np N`, and the checks that refuse such a job at submission when it could not
// run (no mpirun, no collective.mpi, a graph with no distributed collective). See docs/jobs.md,
// "Scale-out".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "aimass/status.h"
#include "jobs/job_scheduler.h"

namespace aimass::core {
class Graph;
class TypeRegistry;
}  // namespace aimass::core

namespace aimass::core::jobs {

/// How a worker ended.
struct WorkerExit {
  bool signalled = false;
  int code = 0;  ///< the exit code, or the signal's number when signalled
  bool ok() const { return !signalled && code == 0; }
  /// "exit code 1", "killed by signal 9 (SIGKILL)".
  std::string describe() const;
};

/// One attempt of a job, wherever it runs: a worker process of this machine (WorkerProcess,
/// alone or under mpirun) or a Slurm batch job (SlurmJob, slurm_launcher.h).
///
/// Threading: one owner (the service's loop).
class JobRun {
 public:
  virtual ~JobRun() = default;
  /// A file descriptor that becomes readable when it ends, for poll(); -1: none, poll() is
  /// called on the service's poll interval.
  virtual int exitFd() const = 0;
  /// How it ended, once it has; nullopt while it runs.
  virtual std::optional<WorkerExit> poll() = 0;
  /// Asks every process of it to stop cleanly (SIGTERM).
  virtual void terminate() = 0;
  /// Ends it now (SIGKILL).
  virtual void kill() = 0;
  /// The local process id; 0 when it runs elsewhere.
  virtual pid_t pid() const = 0;
  /// The id another system gave it (the Slurm job id); empty for a local process.
  virtual std::string externalId() const = 0;
};

/// What a job of `ranks` ranks takes, each rank having `per_rank`: every amount times `ranks`.
Resources rankTotal(const Resources& per_rank, std::int64_t ranks);

/// The MPI launcher the service uses: `configured` when not empty (it must exist and be
/// executable), else the first `mpirun` or `mpiexec` on PATH; empty when none is found (jobs
/// of one rank still run). kNotFound naming `configured` when it is not an executable file.
Expected<std::filesystem::path> findMpiexec(const std::string& configured);

/// The words put before the worker's command for a job of `ranks` ranks:
/// `MPIEXEC -np N [--oversubscribe] --bind-to none`; --oversubscribe when `ranks` exceeds
/// `slots` (the CPUs of the machine), so that Open MPI starts more ranks than cores.
std::vector<std::string> mpirunPrefix(const std::filesystem::path& mpiexec, std::int64_t ranks,
                                      std::int64_t slots);

/// A job of `ranks` ranks can be launched here: 1 always; more needs `mpiexec` (not empty).
/// kFailedPrecondition naming what is missing.
Status checkLauncher(std::int64_t ranks, const std::filesystem::path& mpiexec);

/// The graph of a job of `ranks` ranks (> 1) spreads over them: the type collective.mpi is
/// registered and the graph has a collective.mpi node that one of its jobs references.
/// kFailedPrecondition naming what is missing. OK for one rank.
Status checkDistributedGraph(std::int64_t ranks, const Graph& graph, const TypeRegistry& registry);

/// True when this process was started by an MPI launcher as one of several ranks
/// (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_SIZE above 1).
bool isRankOfSeveral();

/// True when this process is one of several ranks of Open MPI that all run on this machine
/// (OMPI_COMM_WORLD_LOCAL_SIZE equal to OMPI_COMM_WORLD_SIZE, above 1).
bool isRankOfSeveralOnOneNode();

/// True when isRankOfSeveral() and `ancestor` is one of this process's ancestors (its parent,
/// or the parent's parent...): a worker under mpirun.
bool isMpiRankOf(pid_t ancestor);

}  // namespace aimass::core::jobs
