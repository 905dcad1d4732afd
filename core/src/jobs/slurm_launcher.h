// SPDX-License-Identifier: Apache-2.0
// Jobs run by a Slurm cluster instead of on the service's machine: when service.jobs has a
// `slurm:` setting, each attempt of a job is a batch job (`sbatch --parsable` of a script the
// service writes in the job's folder), followed with `scontrol show job` and cancelled with
// `scancel`. The external id is kept on the job's record, so a restarted service re-attaches to
// the batch jobs Slurm still runs. See docs/jobs.md, "Scale-out".
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "jobs/launcher.h"
#include "jobs/worker_process.h"

namespace aimass::core::jobs {

/// service.jobs' `slurm:` setting.
struct SlurmSettings {
  bool enabled = false;
  std::string partition;                          ///< empty: the cluster's default partition
  std::vector<std::string> sbatch_args;           ///< added to every sbatch call, as given
  std::chrono::milliseconds poll_interval{2000};  ///< between two `scontrol show job`
  std::filesystem::path bin_dir;  ///< where sbatch, scontrol and scancel are; empty: PATH
};

/// The batch script of one attempt: exports the worker's environment, changes to its folder
/// and execs the worker (under `mpirun` for several ranks, which takes its hosts from the
/// allocation), so that the batch job's exit code is the worker's.
std::string slurmBatchScript(const WorkerCommand& command, std::int64_t job_id);

/// `sbatch --parsable --job-name=aimass-job-ID --output=LOG --open-mode=append --chdir=DIR
/// --ntasks=RANKS --cpus-per-task=THREADS [--mem-per-cpu=MiB] [--gpus-per-task=G]
/// [--partition=P] [EXTRA...] SCRIPT`.
std::vector<std::string> sbatchArguments(const SlurmSettings& settings,
                                         const WorkerCommand& command, std::int64_t gpus,
                                         std::int64_t job_id, const std::filesystem::path& script);

/// The job id of `sbatch --parsable`'s output ("4242" or "4242;cluster"); kInvalidArgument
/// quoting the output when it holds none.
Expected<std::string> parseSbatchOutput(std::string_view output);

/// A batch job as `scontrol show job -o ID` shows it.
struct SlurmJobState {
  std::string state;   ///< JobState: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...
  std::string reason;  ///< Reason (None, Resources, NonZeroExitCode, ...)
  int exit_code = 0;   ///< ExitCode=CODE:SIGNAL
  int signal = 0;
  /// The job has ended (every state but PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED,
  /// REQUEUED, RESIZING, STOPPED, SIGNALING, STAGE_OUT, PREEMPTED with requeue).
  bool ended() const;
  /// How it ended, as a worker's exit: COMPLETED with its exit code; a signal when one ended it;
  /// CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, ... as SIGKILL when no code says more.
  WorkerExit exit() const;
};

/// Parses the one-line form (`-o`) of `scontrol show job`: space-separated NAME=VALUE fields.
/// kInvalidArgument naming what is missing (JobState) or unreadable (ExitCode).
Expected<SlurmJobState> parseScontrolJob(std::string_view text);

/// One attempt of a job as a Slurm batch job (JobRun, launcher.h).
///
/// Threading: one owner (the service's loop). poll() asks Slurm at most once per
/// `poll_interval` (it runs `scontrol`, which blocks for as long as the controller takes).
/// Destroying it leaves the batch job alone: a later service re-attaches to it.
class SlurmJob final : public JobRun {
 public:
  /// Writes the script into `folder` and submits it; the error of sbatch, with its output.
  static Expected<std::unique_ptr<SlurmJob>> submit(const SlurmSettings& settings,
                                                    const WorkerCommand& command, std::int64_t gpus,
                                                    std::int64_t job_id,
                                                    const std::filesystem::path& folder);
  /// A batch job submitted earlier (by this or a previous service).
  static std::unique_ptr<SlurmJob> attach(const SlurmSettings& settings, std::string id);
  /// Its state now (scontrol, no rate limit); kNotFound when Slurm no longer knows it.
  Expected<SlurmJobState> query() const;

  int exitFd() const override { return -1; }
  std::optional<WorkerExit> poll() override;
  /// `scancel --signal=TERM --full ID`: every process of the job gets SIGTERM.
  void terminate() override;
  /// `scancel ID`: Slurm ends the job (SIGKILL after its KillWait).
  void kill() override;
  pid_t pid() const override { return 0; }
  std::string externalId() const override { return id_; }

 private:
  SlurmJob(const SlurmSettings& settings, std::string id)
      : settings_(settings), id_(std::move(id)) {}
  SlurmSettings settings_;
  std::string id_;
  std::chrono::steady_clock::time_point next_poll_{};
  std::optional<WorkerExit> exit_;
};

/// Runs `argv` (argv[0] a path or a name on PATH) and returns its stdout and stderr together;
/// kUnavailable with that output when it cannot start or exits with a non-zero code.
Expected<std::string> runCommand(const std::vector<std::string>& argv);

}  // namespace aimass::core::jobs
