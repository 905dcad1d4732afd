// SPDX-License-Identifier: Apache-2.0
#include "jobs/slurm_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "child_spawn.h"
#include "record_text.h"

extern char** environ;

namespace aimass::core::jobs {
namespace {

constexpr std::int64_t kMiB = 1024 * 1024;

/// `text` in single quotes for the shell.
std::string shellQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string joinQuoted(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + shellQuoted(word);
  return out;
}

std::filesystem::path slurmTool(const SlurmSettings& settings, const char* name) {
  return settings.bin_dir.empty() ? std::filesystem::path(name) : settings.bin_dir / name;
}

/// The states of a batch job that has not ended (the others are final).
bool isLiveState(const std::string& state) {
  for (const char* live : {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
                           "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "STOPPED",
                           "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD", "SPECIAL_EXIT"}) {
    if (state == live) return true;
  }
  return false;
}

}  // namespace

std::string slurmBatchScript(const WorkerCommand& command, std::int64_t job_id) {
  std::string script = "#!/bin/bash\n# Job " + std::to_string(job_id) +
                       " of the aimass job service (docs/jobs.md, Scale-out).\n";
  // The worker outlives a restart of the service that submitted it: it runs on its own.
  script += "export AIMASS_JOB_DETACHED=1\n";
  for (const std::string& variable : command.environment) {
    const std::size_t equals = variable.find('=');
    if (equals == std::string::npos) continue;
    script += "export " + variable.substr(0, equals) + "=" +
              shellQuoted(variable.substr(equals + 1)) + "\n";
  }
  script += "cd " + shellQuoted(command.work_dir.string()) + " || exit 1\n";
  std::vector<std::string> words;
  if (command.ranks > 1) {
    // Open MPI takes the hosts and slots from the allocation: no -np beyond the tasks.
    words = {command.mpiexec.string(), "-np", std::to_string(command.ranks), "--bind-to", "none"};
  }
  words.push_back(command.executable.string());
  for (const std::string& path : command.plugin_paths) {
    words.insert(words.end(), {"--plugin-path", path});
  }
  words.insert(words.end(),
               {"--log-level", command.log_level, "jobs", "worker", "--threads",
                std::to_string(command.threads), "--memory-bytes",
                std::to_string(command.memory_bytes), "--parent", "1", command.config.string()});
  return script + "exec " + joinQuoted(words) + "\n";
}

std::vector<std::string> sbatchArguments(const SlurmSettings& settings,
                                         const WorkerCommand& command, std::int64_t gpus,
                                         std::int64_t job_id, const std::filesystem::path& script) {
  std::vector<std::string> args = {
      slurmTool(settings, "sbatch").string(),
      "--parsable",
      "--job-name=aimass-job-" + std::to_string(job_id),
      "--output=" + command.log_file.string(),
      "--open-mode=append",
      "--chdir=" + command.work_dir.string(),
      "--ntasks=" + std::to_string(command.ranks),
      "--cpus-per-task=" + std::to_string(command.threads),
  };
  if (command.memory_bytes > 0) {
    const std::int64_t per_cpu = (command.memory_bytes / command.threads + kMiB - 1) / kMiB;
    args.push_back("--mem-per-cpu=" + std::to_string(per_cpu) + "M");
  }
  if (gpus > 0) args.push_back("--gpus-per-task=" + std::to_string(gpus));
  if (!settings.partition.empty()) args.push_back("--partition=" + settings.partition);
  args.insert(args.end(), settings.sbatch_args.begin(), settings.sbatch_args.end());
  args.push_back(script.string());
  return args;
}

Expected<std::string> parseSbatchOutput(std::string_view output) {
  std::string text(output);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  const std::size_t line = text.rfind('\n');
  std::string last = line == std::string::npos ? text : text.substr(line + 1);
  last = last.substr(0, last.find(';'));
  if (last.empty() || !record::parseInt(last) || *record::parseInt(last) <= 0) {
    return invalidArgument("sbatch --parsable printed no job id: '" + text + "'");
  }
  return last;
}

bool SlurmJobState::ended() const { return !isLiveState(state); }

WorkerExit SlurmJobState::exit() const {
  WorkerExit exit;
  if (signal != 0) {
    exit.signalled = true;
    exit.code = signal;
  } else if (exit_code != 0 || state == "COMPLETED") {
    exit.code = exit_code;
  } else {
    exit.signalled = true;  // CANCELLED, TIMEOUT, NODE_FAIL, ... with no code of its own
    exit.code = SIGKILL;
  }
  return exit;
}

Expected<SlurmJobState> parseScontrolJob(std::string_view text) {
  std::map<std::string, std::string, std::less<>> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find_first_of(" \n", at), text.size());
    const std::string_view word = text.substr(at, end - at);
    const std::size_t equals = word.find('=');
    if (equals != std::string_view::npos) {
      fields.emplace(std::string(word.substr(0, equals)), std::string(word.substr(equals + 1)));
    }
    at = end + 1;
  }
  auto state = fields.find("JobState");
  if (state == fields.end() || state->second.empty()) {
    return invalidArgument("scontrol show job printed no JobState: '" + std::string(text) + "'");
  }
  SlurmJobState job;
  job.state = state->second;
  if (auto reason = fields.find("Reason"); reason != fields.end()) job.reason = reason->second;
  if (auto code = fields.find("ExitCode"); code != fields.end()) {
    const std::size_t colon = code->second.find(':');
    const auto exit_code = record::parseInt(code->second.substr(0, colon));
    const auto signal = colon == std::string::npos
                            ? std::optional<std::int64_t>(0)
                            : record::parseInt(code->second.substr(colon + 1));
    if (!exit_code || !signal) {
      return invalidArgument("scontrol show job printed ExitCode=" + code->second +
                             ", not CODE:SIGNAL");
    }
    job.exit_code = static_cast<int>(*exit_code);
    job.signal = static_cast<int>(*signal);
  }
  return job;
}

Expected<std::unique_ptr<SlurmJob>> SlurmJob::submit(const SlurmSettings& settings,
                                                     const WorkerCommand& command,
                                                     std::int64_t gpus, std::int64_t job_id,
                                                     const std::filesystem::path& folder) {
  const std::filesystem::path script = folder / "slurm-batch.sh";
  {
    std::ofstream out(script, std::ios::trunc);
    out << slurmBatchScript(command, job_id);
    out.close();
    if (!out) return unavailable("writing " + script.string() + ": " + std::strerror(errno));
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add);
  auto output = runCommand(sbatchArguments(settings, command, gpus, job_id, script));
  if (!output.ok()) return output.status();
  AIMASS_ASSIGN_OR_RETURN(std::string id, parseSbatchOutput(*output));
  return attach(settings, std::move(id));
}

std::unique_ptr<SlurmJob> SlurmJob::attach(const SlurmSettings& settings, std::string id) {
  return std::unique_ptr<SlurmJob>(new SlurmJob(settings, std::move(id)));
}

Expected<SlurmJobState> SlurmJob::query() const {
  auto output = runCommand({slurmTool(settings_, "scontrol").string(), "show", "job", "-o", id_});
  if (!output.ok()) {
    if (output.status().message().find("Invalid job id") != std::string::npos) {
      return notFound("Slurm no longer knows batch job " + id_);
    }
    return output.status();
  }
  return parseScontrolJob(*output);
}

std::optional<WorkerExit> SlurmJob::poll() {
  const auto now = std::chrono::steady_clock::now();
  if (exit_ || now < next_poll_) return exit_;
  next_poll_ = now + settings_.poll_interval;
  auto state = query();
  if (state.ok() && state->ended()) {
    exit_ = state->exit();
  } else if (!state.ok() && state.status().code() == StatusCode::kNotFound) {
    exit_ = WorkerExit{true, SIGKILL};  // gone before it was seen ending: no outcome known
  }
  return exit_;
}

void SlurmJob::terminate() {
  (void)runCommand({slurmTool(settings_, "scancel").string(), "--signal=TERM", "--full", id_});
  next_poll_ = {};
}

void SlurmJob::kill() {
  (void)runCommand({slurmTool(settings_, "scancel").string(), id_});
  next_poll_ = {};
}

Expected<std::string> runCommand(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0)
    return unavailable(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attributes;
  initChildSpawnAttributes(attributes);
  std::vector<std::string> words = argv;
  std::vector<char*> pointers;
  for (std::string& word : words) pointers.push_back(word.data());
  pointers.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawnp(&pid, pointers[0], &actions, &attributes, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  std::string output;
  if (spawned == 0) {
    char buffer[4096];
    ssize_t got;
    while ((got = read(pipe_fds[0], buffer, sizeof buffer)) != 0) {
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) break;
      output.append(buffer, static_cast<std::size_t>(got));
    }
  }
  close(pipe_fds[0]);
  if (spawned != 0) {
    return unavailable("starting " + argv[0] + ": " + std::strerror(spawned));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return unavailable(argv[0] + " " + (argv.size() > 1 ? argv[1] : std::string()) + " failed (" +
                       WorkerExit{WIFSIGNALED(status),
                                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)}
                           .describe() +
                       "): " + output);
  }
  return output;
}

}  // namespace aimass::core::jobs
