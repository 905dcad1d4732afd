// SPDX-License-Identifier: Apache-2.0
#include "jobs/worker_process.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "child_spawn.h"
#include "jobs/launcher.h"
#include "jobs/memory_cgroup.h"

extern char** environ;

namespace aimass::core::jobs {

std::string WorkerExit::describe() const {
  if (!signalled) return "exit code " + std::to_string(code);
  const char* name = sigabbrev_np(code);
  return "killed by signal " + std::to_string(code) +
         (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
}

namespace {

std::vector<std::string> workerArguments(const WorkerCommand& command) {
  std::vector<std::string> args;
  if (command.ranks > 1) args = mpirunPrefix(command.mpiexec, command.ranks, command.slots);
  args.push_back(command.executable.string());
  for (const std::string& path : command.plugin_paths) {
    args.insert(args.end(), {"--plugin-path", path});
  }
  args.insert(args.end(),
              {"--log-level", command.log_level, "jobs", "worker", "--threads",
               std::to_string(command.threads), "--memory-bytes",
               std::to_string(command.memory_bytes), "--parent", std::to_string(getpid()),
               command.config.string()});
  return args;
}

std::vector<std::string> workerEnvironment(const WorkerCommand& command) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), command.environment.begin(), command.environment.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Expected<std::unique_ptr<WorkerProcess>> WorkerProcess::start(const WorkerCommand& command) {
  const int log = open(command.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    return unavailable("opening the job log " + command.log_file.string() + ": " +
                       std::strerror(errno));
  }
  std::vector<std::string> args = workerArguments(command);
  std::vector<std::string> env = workerEnvironment(command);
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log, 1);
  posix_spawn_file_actions_adddup2(&actions, log, 2);
  posix_spawn_file_actions_addchdir_np(&actions, command.work_dir.c_str());
  posix_spawnattr_t attributes;
  initChildSpawnAttributes(attributes);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(log);
  if (spawned != 0) {
    return unavailable("starting a job worker (" + command.executable.string() + " in " +
                       command.work_dir.string() + "): " + std::strerror(spawned));
  }
  std::unique_ptr<WorkerProcess> process(new WorkerProcess());
  process->pid_ = pid;
  process->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (process->pidfd_ < 0) {
    const int error = errno;
    process->kill();
    return unavailable(std::string("pidfd_open: ") + std::strerror(error));
  }
  fcntl(process->pidfd_, F_SETFD, FD_CLOEXEC);
  return process;
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && !exit_) {
    kill();
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
}

std::optional<WorkerExit> WorkerProcess::poll() {
  if (exit_ || pid_ <= 0) return exit_;
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid_, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped != pid_) return std::nullopt;
  WorkerExit exit;
  exit.signalled = WIFSIGNALED(status);
  exit.code = exit.signalled ? WTERMSIG(status) : WEXITSTATUS(status);
  exit_ = exit;
  return exit_;
}

void WorkerProcess::terminate() {
  if (pid_ > 0 && !exit_) ::kill(-pid_, SIGTERM);
}

void WorkerProcess::kill() {
  if (pid_ > 0 && !exit_) ::kill(-pid_, SIGKILL);
}

std::string logTail(const std::filesystem::path& file, std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                                   ? size - static_cast<std::streamoff>(max_bytes)
                                   : 0;
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (start > 0) {
    const std::size_t line = text.find('\n');
    if (line != std::string::npos && line + 1 < text.size()) text.erase(0, line + 1);
  }
  return text;
}

Expected<JobLogChunk> logRange(const std::filesystem::path& file, std::uint64_t offset,
                               std::size_t max_bytes) {
  JobLogChunk chunk;
  chunk.offset = offset;
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (in) {
    chunk.size = static_cast<std::uint64_t>(in.tellg());
  }
  if (offset > chunk.size) {
    return outOfRange("offset " + std::to_string(offset) + " is past the end of the log (" +
                      std::to_string(chunk.size) + " bytes)");
  }
  const std::uint64_t length = std::min<std::uint64_t>(chunk.size - offset, max_bytes);
  chunk.text.resize(static_cast<std::size_t>(length));
  if (length > 0) {
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(chunk.text.data(), static_cast<std::streamsize>(length));
    chunk.text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  }
  return chunk;
}

namespace {

/// The address space mapped now (code of aimass, its libraries and plugins, their data), read
/// from /proc/self/statm; 0 when it cannot be read.
std::int64_t mappedBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0;
  if (!(statm >> pages)) return 0;
  return pages * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Status limitWorkerMemory(std::int64_t memory_bytes) {
  if (memory_bytes <= 0) return okStatus();
  // Fewer malloc arenas: each thread's arena reserves 64 MiB of address space, which an
  // address-space limit counts although little of it is ever used.
  mallopt(M_ARENA_MAX, 2);
  const std::int64_t limit_bytes = mappedBytes() + memory_bytes;
  const rlimit limit{static_cast<rlim_t>(limit_bytes), static_cast<rlim_t>(limit_bytes)};
  if (setrlimit(RLIMIT_AS, &limit) != 0) {
    return failedPrecondition("setrlimit(RLIMIT_AS, " + std::to_string(limit_bytes) +
                              "): " + std::strerror(errno));
  }
  return okStatus();
}

namespace {

/// A rank's output goes through mpirun, which stops forwarding it once mpirun itself is
/// signalled (as Slurm's `scancel --full` does to every process of a batch job): the last lines
/// of a rank stopping on SIGTERM (its checkpoint) would be lost. A rank of several on one
/// machine appends to the job's log itself instead (O_APPEND: the lines of several writers on
/// one machine do not overwrite each other; appends from several machines to a shared file
/// system may, so ranks spread over machines still write through mpirun). Called before any
/// thread starts.
void writeRankOutputToJobLog() {
  const char* log_file = std::getenv("AIMASS_JOB_LOG_FILE");
  if (log_file == nullptr || *log_file == '\0' || !isRankOfSeveralOnOneNode()) return;
  const int log = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    std::fprintf(stderr, "aimass jobs worker: writing through mpirun: opening %s: %s\n", log_file,
                 std::strerror(errno));
    return;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(log, STDOUT_FILENO);
  dup2(log, STDERR_FILENO);
  close(log);
}

}  // namespace

Status prepareWorker(pid_t parent) {
  // The job's memory cgroup first, before the worker allocates what it should count.
  const char* cgroup = std::getenv("AIMASS_JOB_CGROUP");
  if (cgroup != nullptr && *cgroup != '\0') AIMASS_RETURN_IF_ERROR(joinCgroup(cgroup));
  writeRankOutputToJobLog();
  // A Slurm batch job runs on its own: a restarted service re-attaches to it (slurm_launcher.h).
  const char* detached = std::getenv("AIMASS_JOB_DETACHED");
  if (detached != nullptr && std::string(detached) == "1") return okStatus();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    return failedPrecondition(std::string("prctl(PR_SET_PDEATHSIG): ") + std::strerror(errno));
  }
  // The service may have died before prctl: then this worker was adopted by another process.
  // A rank under mpirun has mpirun as its parent, the service further up (docs/jobs.md).
  if (getppid() != parent && !isMpiRankOf(parent)) {
    return failedPrecondition("the job service (pid " + std::to_string(parent) +
                              ") is gone; not running the job");
  }
  return okStatus();
}

}  // namespace aimass::core::jobs
