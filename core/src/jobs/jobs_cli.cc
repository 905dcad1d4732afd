// SPDX-License-Identifier: Apache-2.0
#include "jobs/jobs_cli.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "aimass/util/job_json.h"
#include "aimass/util/memory_size.h"
#include "jobs/jobs_node.h"
#include "jobs/launcher.h"
#include "record_text.h"
#include "store_options.h"
#include "text_format.h"

namespace aimass::core::jobs {

const char kJobsHelp[] =
    "Usage:\n"
    "  aimass jobs submit GRAPH --config SERVICE [--queue Q] [--priority P] [--threads N]\n"
    "                     [--memory SIZE] [--gpus G] [--ranks R] [--not-preemptible] [--json]\n"
    "  aimass jobs list --config SERVICE [--state STATE] [--json]\n"
    "  aimass jobs show ID --config SERVICE [--json]\n"
    "  aimass jobs logs ID --config SERVICE [--bytes N]\n"
    "  aimass jobs cancel ID --config SERVICE\n"
    "\n"
    "SERVICE is the configuration whose service.jobs node runs the jobs (docs/jobs.md); these\n"
    "commands read and write that node's store, so they work whether or not the service runs:\n"
    "a running service picks up what they do within its poll_interval_ms.\n"
    "\n"
    "submit checks GRAPH (every node, with FILE:LINE:COL errors; no frontend or service node:\n"
    "a job must end) and the request against the queue (the default is the first queue), then\n"
    "stores the job. Its relative paths resolve against GRAPH's folder. --threads (default 1)\n"
    "is also the job's thread count; --memory (default 1GiB: 512MiB, 2GiB, ...) limits its\n"
    "worker's address space; --gpus (default 0) sets CUDA_VISIBLE_DEVICES. A higher --priority\n"
    "runs first; --ranks R (default 1) runs R MPI ranks under mpirun, each with --threads,\n"
    "--memory and --gpus; --not-preemptible keeps the job from being stopped to give borrowed\n"
    "quota back.\n"
    "list prints every job (--state queued|running|succeeded|failed|cancelled picks some);\n"
    "show one job with its reason and runs; logs the end of its log (every attempt);\n"
    "cancel cancels a queued job at once and stops a running one (SIGTERM, then SIGKILL after\n"
    "the service's grace period).\n"
    "\n"
    "Exit code: 0 success, 2 a bad graph, option, job id or request, 1 the store failed.\n"
    "\n"
    "Examples:\n"
    "  aimass jobs submit configs/iris_softmax.yaml --config configs/jobs_service.yaml\n"
    "  aimass jobs list --config configs/jobs_service.yaml --state running\n"
    "  aimass jobs logs 3 --config configs/jobs_service.yaml\n";

namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kBadInput = 2;

Expected<std::int64_t> parseNumber(const std::string& text, const std::string& what,
                                   std::int64_t lowest) {
  auto value = record::parseInt(text);
  if (!value || *value < lowest) {
    return invalidArgument(what + " takes a whole number of at least " + std::to_string(lowest) +
                           ", not '" + text + "'");
  }
  return *value;
}

int exitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kResourceExhausted:
    case StatusCode::kFailedPrecondition:
      return kBadInput;
    default:
      return kFailure;
  }
}

int fail(const Status& status, std::ostream& err) {
  err << "aimass: " << status.message() << "\n";
  return exitCodeFor(status);
}

std::string ageText(std::int64_t unix_ms) {
  return unix_ms > 0 ? formatUtcTime(unix_ms) : std::string("-");
}

int submit(const JobsCommand& command, const JobsContext& context, std::ostream& out,
           std::ostream& err) {
  const std::filesystem::path file = command.arguments.front();
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(notFound("cannot read the job's graph " + file.string()), err);
  std::ostringstream text;
  text << in.rdbuf();
  JobSubmission submission;
  submission.config = text.str();
  submission.config_name = file.string();
  submission.base_dir = std::filesystem::absolute(file).parent_path();
  submission.queue = command.queue.empty() ? context.options->queues.front().name : command.queue;
  submission.owner = record::currentUser();
  submission.priority = command.priority;
  submission.resources = command.resources;
  submission.ranks = command.ranks;
  submission.preemptible = command.preemptible;
  JobScheduler queues(context.options->capacity);
  for (const QueueSpec& q : context.options->queues) (void)queues.addQueue(q);
  if (Status s = checkSubmission(submission, queues, context.check_graph); !s.ok()) {
    return fail(s, err);
  }
  if (Status s = checkLauncher(submission.ranks, context.options->worker.mpiexec); !s.ok()) {
    return fail(s, err);
  }
  auto stored = submitToStore(*context.store, submission);
  if (!stored.ok()) return fail(stored.status(), err);
  if (command.json) {
    out << jobJson(jobInfo(*stored));
  } else {
    out << "job " << stored->id << " submitted to queue '" << stored->queue << "'\n";
  }
  return kOk;
}

int list(const JobsCommand& command, const JobsContext& context, std::ostream& out,
         std::ostream& err) {
  auto records = context.store->list();
  if (!records.ok()) return fail(records.status(), err);
  std::vector<JobInfo> jobs;
  for (const JobRecord& r : *records) {
    if (command.state.empty() || jobStateName(r.state) == command.state) jobs.push_back(jobInfo(r));
  }
  if (command.json) {
    out << jobListJson(jobs);
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "QUEUE", "OWNER", "PRIORITY", "THREADS", "SUBMITTED", "GRAPH"}};
  for (const JobInfo& j : jobs) {
    rows.push_back({std::to_string(j.id), j.state, j.queue, j.owner, std::to_string(j.priority),
                    std::to_string(j.resources.threads), ageText(j.submitted_unix_ms),
                    j.config_name});
  }
  out << textTable(rows);
  return kOk;
}

int show(const JobsCommand& command, const JobsContext& context, std::ostream& out,
         std::ostream& err) {
  auto record = context.store->get(command.id);
  if (!record.ok()) return fail(record.status(), err);
  const JobInfo job = jobInfo(*record);
  if (command.json) {
    out << jobJson(job);
    return kOk;
  }
  out << "job " << job.id << ": " << job.state << (job.cancel_requested && job.state == "running"
                                                        ? " (cancel requested)"
                                                        : "")
      << "\n"
      << "  graph      " << job.config_name << "\n"
      << "  queue      " << job.queue << ", priority " << job.priority
      << (job.preemptible ? "" : ", not preemptible") << "\n"
      << "  owner      " << job.owner << "\n"
      << "  resources  "
      << Resources{job.resources.threads, job.resources.memory_bytes, job.resources.gpus}
             .toString()
      << (job.ranks > 1 ? " per rank, " + std::to_string(job.ranks) + " ranks" : std::string())
      << "\n"
      << "  attempts   " << job.attempts << "\n"
      << (job.external_id.empty() ? std::string()
                                  : "  slurm job  " + job.external_id + "\n")
      << "  submitted  " << ageText(job.submitted_unix_ms) << "\n"
      << "  started    " << ageText(job.started_unix_ms) << "\n"
      << "  finished   " << ageText(job.finished_unix_ms) << "\n";
  if (!job.reason.empty()) out << "  reason     " << job.reason << "\n";
  if (!job.runs.empty()) {
    out << "  runs      ";
    for (std::int64_t run : job.runs) out << " " << run;
    out << "\n";
  }
  return kOk;
}

int logs(const JobsCommand& command, const JobsContext& context, std::ostream& out,
         std::ostream& err) {
  auto record = context.store->get(command.id);
  if (!record.ok()) return fail(record.status(), err);
  out << logTail(context.options->work_dir / std::to_string(command.id) / "log",
                 static_cast<std::size_t>(command.log_bytes));
  return kOk;
}

int cancel(const JobsCommand& command, const JobsContext& context, std::ostream& out,
           std::ostream& err) {
  auto changed = cancelInStore(*context.store, *context.storage, command.id);
  if (!changed.ok()) return fail(changed.status(), err);
  out << "job " << command.id << ": "
      << (changed->state == JobState::kCancelled ? "cancelled" : "cancel requested (it stops "
                                                                 "within the grace period)")
      << "\n";
  return kOk;
}

}  // namespace

Expected<JobsCommand> parseJobsCommand(const std::vector<std::string>& words) {
  JobsCommand command;
  auto handle = [&](const std::string& option, const std::string& value) -> Status {
    if (option == "--json") {
      command.json = true;
    } else if (option == "--not-preemptible") {
      command.preemptible = false;
    } else if (option == "--queue") {
      command.queue = value;
    } else if (option == "--priority") {
      auto p = record::parseInt(value);
      if (!p) return invalidArgument("--priority takes a whole number, not '" + value + "'");
      command.priority = *p;
    } else if (option == "--threads") {
      AIMASS_ASSIGN_OR_RETURN(command.resources.threads, parseNumber(value, "--threads", 1));
    } else if (option == "--memory") {
      AIMASS_ASSIGN_OR_RETURN(command.resources.memory_bytes, parseMemorySize(value, "--memory"));
    } else if (option == "--gpus") {
      AIMASS_ASSIGN_OR_RETURN(command.resources.gpus, parseNumber(value, "--gpus", 0));
    } else if (option == "--ranks") {
      AIMASS_ASSIGN_OR_RETURN(command.ranks, parseNumber(value, "--ranks", 1));
    } else if (option == "--state") {
      if (!parseJobState(value)) {
        return invalidArgument("unknown job state '" + value +
                               "' for --state: use queued, running, succeeded, failed or "
                               "cancelled");
      }
      command.state = value;
    } else {  // --bytes
      AIMASS_ASSIGN_OR_RETURN(command.log_bytes, parseNumber(value, "--bytes", 1));
    }
    return okStatus();
  };
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(words,
                        {.command = "jobs",
                         .flags = {"--json", "--not-preemptible"},
                         .valued = {"--queue", "--priority", "--threads", "--memory", "--gpus",
                                    "--ranks", "--state", "--bytes"}},
                        handle));
  command.config = options.config;
  if (!options.storage_uri.empty() || !options.storage_node.empty()) {
    return invalidArgument(
        "'aimass jobs' reads the store of the service.jobs node in --config CONFIG; "
        "--storage and --storage-node do not apply");
  }
  if (options.positional.empty()) {
    return invalidArgument("'jobs' needs a subcommand: submit, list, show, logs or cancel");
  }
  command.action = options.positional.front();
  command.arguments.assign(options.positional.begin() + 1, options.positional.end());
  const std::string usage = " (see aimass help jobs)";
  if (command.action == "submit") {
    if (command.arguments.size() != 1) {
      return invalidArgument("'aimass jobs submit' takes one GRAPH file" + usage);
    }
  } else if (command.action == "list") {
    if (!command.arguments.empty()) {
      return invalidArgument("'aimass jobs list' takes no arguments" + usage);
    }
  } else if (command.action == "show" || command.action == "logs" ||
             command.action == "cancel") {
    if (command.arguments.size() != 1) {
      return invalidArgument("'aimass jobs " + command.action + "' takes one job ID" + usage);
    }
    AIMASS_ASSIGN_OR_RETURN(command.id, parseNumber(command.arguments.front(), "a job ID", 1));
  } else {
    return invalidArgument("unknown subcommand 'jobs " + command.action +
                           "': use submit, list, show, logs or cancel");
  }
  if (command.config.empty()) {
    return invalidArgument("'aimass jobs " + command.action +
                           "' needs --config CONFIG, the configuration with the service.jobs "
                           "node");
  }
  return command;
}

int runJobsCommand(const JobsCommand& command, const JobsContext& context, std::ostream& out,
                   std::ostream& err) {
  if (command.action == "submit") return submit(command, context, out, err);
  if (command.action == "list") return list(command, context, out, err);
  if (command.action == "show") return show(command, context, out, err);
  if (command.action == "logs") return logs(command, context, out, err);
  return cancel(command, context, out, err);
}

Expected<WorkerOptions> parseWorkerOptions(const std::vector<std::string>& words) {
  WorkerOptions options;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    const bool valued = word == "--threads" || word == "--memory-bytes" || word == "--parent";
    if (valued && i + 1 >= words.size()) return invalidArgument(word + " needs a value");
    if (word == "--threads") {
      AIMASS_ASSIGN_OR_RETURN(std::int64_t threads, parseNumber(words[++i], "--threads", 1));
      options.threads = static_cast<int>(threads);
    } else if (word == "--memory-bytes") {
      AIMASS_ASSIGN_OR_RETURN(options.memory_bytes, parseNumber(words[++i], "--memory-bytes", 0));
    } else if (word == "--parent") {
      AIMASS_ASSIGN_OR_RETURN(std::int64_t parent, parseNumber(words[++i], "--parent", 1));
      options.parent = static_cast<pid_t>(parent);
    } else if (word.starts_with("--") || !options.file.empty()) {
      return invalidArgument("'aimass jobs worker' does not take '" + word + "'");
    } else {
      options.file = word;
    }
  }
  if (options.file.empty() || options.parent == 0) {
    return invalidArgument(
        "'aimass jobs worker' (started by the job service) needs --parent PID and a FILE");
  }
  return options;
}

}  // namespace aimass::core::jobs
