// SPDX-License-Identifier: Apache-2.0
// `aimass jobs submit|list|show|logs|cancel|schedule|queues`: the job service's store, read and
// written directly (a running service picks up submissions, cancellations, schedules and queue
// edits within its poll interval).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "aimass/job_service.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "jobs/job_service.h"

namespace aimass::core::jobs {

/// One `aimass jobs ...` command line, parsed.
struct JobsCommand {
  std::string action;  ///< submit, list, show, logs, cancel, schedule, queues (or worker)
  std::vector<std::string> arguments;  ///< the positional words after the action
  std::string config;                  ///< --config CONFIG: the graph with the service.jobs node
  bool json = false;                   ///< --json (submit, list, show)
  std::string queue;                   ///< submit: --queue (default: the first queue)
  std::int64_t priority = 0;           ///< submit: --priority
  Resources resources{1, std::int64_t{1} << 30, 0};  ///< submit: --threads, --memory, --gpus
  std::int64_t ranks = 1;              ///< submit: --ranks (MPI ranks, docs/jobs.md)
  bool preemptible = true;             ///< submit: --not-preemptible clears it
  std::string state;                   ///< list: --state
  std::int64_t id = 0;                 ///< show, logs, cancel
  std::int64_t log_bytes = 64 * 1024;  ///< logs: --bytes
  std::string schedule_action;         ///< schedule: create, list, show, delete
  std::string cron;                    ///< schedule create: --cron
  std::string overlap = "skip";        ///< schedule create: --overlap
  std::string name;                    ///< schedule create: --name
  std::string set_queue;               ///< queues: --set NAME (the key=value words follow)
  JobQueueUpdate queue_update;         ///< queues --set: the key=value words, parsed
};

/// The full help of `aimass jobs`.
extern const char kJobsHelp[];

/// Parses the words after "jobs". kInvalidArgument with a message fit for the user.
Expected<JobsCommand> parseJobsCommand(const std::vector<std::string>& words);

/// What a command works on: the service node's store and settings, and the graph check.
struct JobsContext {
  JobStore* store = nullptr;
  Storage* storage = nullptr;
  const JobServiceOptions* options = nullptr;
  GraphCheck check_graph;
  ScheduleStore* schedules = nullptr;
};

/// Runs a parsed command (not worker), printing results on `out` and errors on `err`.
/// Returns the exit code: 0 success; 2 a mistake of the caller (bad graph, unknown job or
/// queue, too large a request); 1 when the store fails.
int runJobsCommand(const JobsCommand& command, const JobsContext& context, std::ostream& out,
                   std::ostream& err);

/// `jobs worker`'s options: --threads N --memory-bytes M --parent PID FILE.
struct WorkerOptions {
  int threads = 1;
  std::int64_t memory_bytes = 0;
  pid_t parent = 0;
  std::string file;
};
Expected<WorkerOptions> parseWorkerOptions(const std::vector<std::string>& words);

}  // namespace aimass::core::jobs
