// SPDX-License-Identifier: Apache-2.0
#include "jobs/jobs_cli.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "aimass/util/job_json.h"
#include "aimass/util/memory_size.h"
#include "jobs/jobs_node.h"
#include "jobs/queue_edits.h"
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
    "  aimass jobs schedule create GRAPH --config SERVICE --cron EXPR\n"
    "                     [--overlap skip|queue|replace] [--name N] [--queue Q] [--priority P]\n"
    "                     [--threads N] [--memory SIZE] [--gpus G] [--not-preemptible] [--json]\n"
    "  aimass jobs schedule list|show ID|delete ID --config SERVICE [--json]\n"
    "  aimass jobs queues --config SERVICE [--set NAME key=value ...] [--json]\n"
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
    "schedule create checks GRAPH and the request as submit does and EXPR (5 fields, minute\n"
    "hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly; UTC),\n"
    "then stores a schedule that submits GRAPH as a job at each time. --overlap says what a\n"
    "firing does while an earlier job of the schedule is queued or running: skip (default)\n"
    "submits nothing, queue submits anyway, replace cancels the earlier one and submits.\n"
    "queues prints each queue's quota; --set NAME key=value ... edits it (threads, memory,\n"
    "gpus, borrow_threads, borrow_memory, borrow_gpus, max_running, ordering, strict_fifo;\n"
    "borrow_*=none removes a limit). The edit is stored; a running service applies it within\n"
    "its poll interval, and it lasts while the queue's definition in SERVICE is unchanged.\n"
    "\n"
    "Exit code: 0 success, 2 a bad graph, option, job id or request, 1 the store failed.\n"
    "\n"
    "Examples:\n"
    "  aimass jobs submit configs/iris_softmax.yaml --config configs/jobs_service.yaml\n"
    "  aimass jobs list --config configs/jobs_service.yaml --state running\n"
    "  aimass jobs logs 3 --config configs/jobs_service.yaml\n"
    "  aimass jobs schedule create configs/jobs/train_pumps.yaml \\\n"
    "      --config configs/jobs_service.yaml --cron '0 3 * * mon-fri' --overlap replace\n"
    "  aimass jobs queues --config configs/jobs_service.yaml --set research threads=2 memory=4GiB\n";

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

// The job GRAPH of submit and schedule create, with the command's request.
Expected<JobSubmission> readSubmission(const JobsCommand& command, const JobsContext& context) {
  const std::filesystem::path file = command.arguments.front();
  std::ifstream in(file, std::ios::binary);
  if (!in) return notFound("cannot read the job's graph " + file.string());
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
  return submission;
}

// The queues as a running service has them: the configuration with the stored edits.
Expected<JobScheduler> configuredQueues(const JobsContext& context) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<QueueSpec> specs,
                          effectiveQueues(*context.storage, context.options->queues));
  JobScheduler queues(context.options->capacity);
  for (const QueueSpec& q : specs) (void)queues.addQueue(q);
  return queues;
}

int submit(const JobsCommand& command, const JobsContext& context, std::ostream& out,
           std::ostream& err) {
  auto submission = readSubmission(command, context);
  if (!submission.ok()) return fail(submission.status(), err);
  auto queues = configuredQueues(context);
  if (!queues.ok()) return fail(queues.status(), err);
  if (Status s = checkSubmission(*submission, *queues, context.check_graph); !s.ok()) {
    return fail(s, err);
  }
  if (Status s = checkLauncher(submission->ranks, context.options->worker.mpiexec); !s.ok()) {
    return fail(s, err);
  }
  auto stored = submitToStore(*context.store, *submission);
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
  for (JobRecord& r : *records) {
    if (context.options != nullptr) addRunsSoFar(r, context.options->work_dir);
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
  if (context.options != nullptr) addRunsSoFar(*record, context.options->work_dir);
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

std::string scheduleTime(std::int64_t unix_ms) { return ageText(unix_ms); }

int scheduleCreate(const JobsCommand& command, const JobsContext& context, std::ostream& out,
                   std::ostream& err) {
  auto submission = readSubmission(command, context);
  if (!submission.ok()) return fail(submission.status(), err);
  auto queues = configuredQueues(context);
  if (!queues.ok()) return fail(queues.status(), err);
  ScheduleSubmission schedule;
  schedule.job = std::move(*submission);
  schedule.name = command.name;
  schedule.cron = command.cron;
  schedule.overlap = parseOverlap(command.overlap).value_or(Overlap::kSkip);
  auto created = createScheduleInStore(*context.schedules, schedule, *queues, context.check_graph,
                                       record::nowUnixMs());
  if (!created.ok()) return fail(created.status(), err);
  if (command.json) {
    out << scheduleJson(scheduleInfo(*created));
  } else {
    out << "schedule " << created->id << " created: '" << created->cron << "' (UTC), next at "
        << scheduleTime(created->next_fire_ms) << "\n";
  }
  return kOk;
}

int scheduleShow(const ScheduleRecord& record, std::ostream& out) {
  const JobScheduleInfo s = scheduleInfo(record);
  out << "schedule " << s.id << (s.name.empty() ? "" : " (" + s.name + ")") << ": '" << s.cron
      << "' UTC, overlap " << s.overlap << "\n"
      << "  graph      " << s.config_name << "\n"
      << "  queue      " << s.queue << ", priority " << s.priority
      << (s.ranks > 1 ? ", " + std::to_string(s.ranks) + " ranks" : std::string()) << "\n"
      << "  owner      " << s.owner << "\n"
      << "  next fire  " << scheduleTime(s.next_fire_unix_ms) << "\n"
      << "  last fire  " << scheduleTime(s.last_fire_unix_ms) << "\n"
      << "  last job   " << (s.last_job > 0 ? std::to_string(s.last_job) : "-") << "\n"
      << "  fired      " << s.fires << " (skipped " << s.skips << ")\n";
  if (!s.last_result.empty()) out << "  last       " << s.last_result << "\n";
  return kOk;
}

int schedule(const JobsCommand& command, const JobsContext& context, std::ostream& out,
             std::ostream& err) {
  if (command.schedule_action == "create") return scheduleCreate(command, context, out, err);
  if (command.schedule_action == "list") {
    auto records = context.schedules->list();
    if (!records.ok()) return fail(records.status(), err);
    std::vector<JobScheduleInfo> infos;
    for (const ScheduleRecord& r : *records) infos.push_back(scheduleInfo(r));
    if (command.json) {
      out << scheduleListJson(infos);
      return kOk;
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "NAME", "CRON (UTC)", "OVERLAP", "QUEUE", "NEXT FIRE", "LAST JOB", "GRAPH"}};
    for (const JobScheduleInfo& s : infos) {
      rows.push_back({std::to_string(s.id), s.name, s.cron, s.overlap, s.queue,
                      scheduleTime(s.next_fire_unix_ms),
                      s.last_job > 0 ? std::to_string(s.last_job) : "-", s.config_name});
    }
    out << textTable(rows);
    return kOk;
  }
  auto record = context.schedules->get(command.id);
  if (!record.ok()) return fail(record.status(), err);
  if (command.schedule_action == "show") {
    if (command.json) {
      out << scheduleJson(scheduleInfo(*record));
      return kOk;
    }
    return scheduleShow(*record, out);
  }
  if (Status s = context.schedules->remove(command.id); !s.ok()) return fail(s, err);
  out << "schedule " << command.id << " deleted (the jobs it submitted stay)\n";
  return kOk;
}

int queues(const JobsCommand& command, const JobsContext& context, std::ostream& out,
           std::ostream& err) {
  if (!command.set_queue.empty()) {
    auto edited = editQueueInStore(*context.storage, context.options->queues,
                                   context.options->capacity, command.set_queue,
                                   command.queue_update);
    if (!edited.ok()) return fail(edited.status(), err);
  }
  auto specs = effectiveQueues(*context.storage, context.options->queues);
  if (!specs.ok()) return fail(specs.status(), err);
  std::vector<JobQueueInfo> infos;
  for (const QueueSpec& spec : *specs) {
    Service::QueueState state;
    state.spec = spec;
    infos.push_back(queueInfo(state));
  }
  if (command.json) {
    out << jobQueueListJson(infos);
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"QUEUE", "COHORT", "QUOTA", "MAX RUNNING", "ORDERING"}};
  for (const QueueSpec& q : *specs) {
    rows.push_back({q.name, q.cohort.empty() ? "-" : q.cohort, q.nominal.toString(),
                    q.max_running > 0 ? std::to_string(q.max_running) : "-",
                    std::string(q.ordering == Ordering::kFairShare ? "fair_share" : "fifo") +
                        (q.strict_fifo ? ", strict" : "")});
  }
  out << textTable(rows);
  return kOk;
}

}  // namespace

namespace {

// `schedule create GRAPH --cron EXPR`, `schedule list`, `schedule show|delete ID`.
Status parseScheduleWords(JobsCommand& command) {
  const std::string usage = " (see aimass help jobs)";
  if (command.arguments.empty()) {
    return invalidArgument("'aimass jobs schedule' needs create, list, show or delete" + usage);
  }
  command.schedule_action = command.arguments.front();
  command.arguments.erase(command.arguments.begin());
  const std::string& action = command.schedule_action;
  if (action == "create") {
    if (command.arguments.size() != 1) {
      return invalidArgument("'aimass jobs schedule create' takes one GRAPH file" + usage);
    }
    if (command.cron.empty()) {
      return invalidArgument("'aimass jobs schedule create' needs --cron EXPR, e.g. --cron "
                             "'0 3 * * *' (UTC)");
    }
  } else if (action == "list") {
    if (!command.arguments.empty()) {
      return invalidArgument("'aimass jobs schedule list' takes no arguments" + usage);
    }
  } else if (action == "show" || action == "delete") {
    if (command.arguments.size() != 1) {
      return invalidArgument("'aimass jobs schedule " + action + "' takes one schedule ID" +
                             usage);
    }
    AIMASS_ASSIGN_OR_RETURN(command.id,
                            parseNumber(command.arguments.front(), "a schedule ID", 1));
  } else {
    return invalidArgument("unknown subcommand 'jobs schedule " + action +
                           "': use create, list, show or delete");
  }
  return okStatus();
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
    } else if (option == "--cron") {
      command.cron = value;
    } else if (option == "--overlap") {
      if (!parseOverlap(value)) {
        return invalidArgument("--overlap takes skip, queue or replace, not '" + value + "'");
      }
      command.overlap = value;
    } else if (option == "--name") {
      command.name = value;
    } else if (option == "--set") {
      command.set_queue = value;
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
                                    "--ranks", "--state", "--bytes", "--cron", "--overlap", "--name",
                                    "--set"}},
                        handle));
  command.config = options.config;
  if (!options.storage_uri.empty() || !options.storage_node.empty()) {
    return invalidArgument(
        "'aimass jobs' reads the store of the service.jobs node in --config CONFIG; "
        "--storage and --storage-node do not apply");
  }
  if (options.positional.empty()) {
    return invalidArgument(
        "'jobs' needs a subcommand: submit, list, show, logs, cancel, schedule or queues");
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
  } else if (command.action == "schedule") {
    AIMASS_RETURN_IF_ERROR(parseScheduleWords(command));
  } else if (command.action == "queues") {
    if (command.set_queue.empty() && !command.arguments.empty()) {
      return invalidArgument("'aimass jobs queues' takes key=value words only after --set NAME" +
                             usage);
    }
    if (!command.set_queue.empty() && command.arguments.empty()) {
      return invalidArgument("--set " + command.set_queue + " needs key=value words" + usage);
    }
    for (const std::string& word : command.arguments) {
      AIMASS_RETURN_IF_ERROR(parseQueueSetting(word, command.queue_update));
    }
  } else {
    return invalidArgument("unknown subcommand 'jobs " + command.action +
                           "': use submit, list, show, logs, cancel, schedule or queues");
  }
  if (!command.set_queue.empty() && command.action != "queues") {
    return invalidArgument("--set applies to 'aimass jobs queues' only");
  }
  if (!command.cron.empty() && command.schedule_action != "create") {
    return invalidArgument("--cron applies to 'aimass jobs schedule create' only");
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
  if (command.action == "schedule") return schedule(command, context, out, err);
  if (command.action == "queues") return queues(command, context, out, err);
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
