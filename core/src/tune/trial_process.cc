// SPDX-License-Identifier: Apache-2.0
#include "tune/trial_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "child_spawn.h"

extern char** environ;

namespace aimass::core {
namespace {

constexpr std::size_t kErrorTail = 4096;
constexpr std::size_t kMaxLine = 64 * 1024;

bool parseDouble(const std::string& text, double& out) {
  if (text == "nan") {
    out = std::nan("");
    return true;
  }
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

template <typename Int>
bool parseInt(const std::string& text, Int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

/// Sets FD_CLOEXEC or O_NONBLOCK on `fd`.
void setFlag(int fd, int get, int set, int flag) {
  const int flags = fcntl(fd, get);
  if (flags >= 0) {
    fcntl(fd, set, flags | flag);
  }
}

}  // namespace

std::optional<TrialMessage> parseTrialMessage(const std::string& line) {
  std::istringstream in(line);
  std::string kind;
  in >> kind;
  TrialMessage m;
  std::string a, b, c;
  if (kind == "epoch") {
    m.kind = TrialMessage::Kind::kEpoch;
    if (!(in >> a >> b) || !parseInt(a, m.epoch) || m.epoch == 0 || !parseDouble(b, m.value)) {
      return std::nullopt;
    }
  } else if (kind == "done") {
    m.kind = TrialMessage::Kind::kDone;
    if (!(in >> a >> b >> c) || !parseDouble(a, m.value) || !parseInt(b, m.run_id) ||
        (c != "0" && c != "1")) {
      return std::nullopt;
    }
    m.pruned = c == "1";
    in >> m.artifact;
    if (m.artifact == "-") {
      m.artifact.clear();
    }
  } else if (kind == "failed") {
    m.kind = TrialMessage::Kind::kFailed;
    if (!(in >> a) || !parseInt(a, m.run_id)) {
      return std::nullopt;
    }
    std::getline(in >> std::ws, m.reason);
  } else {
    return std::nullopt;
  }
  return m;
}

Expected<std::unique_ptr<TrialProcess>> TrialProcess::start(const TrialCommand& command) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return unavailable(std::string("socketpair: ") + std::strerror(errno));
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    const int e = errno;
    close(sockets[0]);
    close(sockets[1]);
    return unavailable(std::string("pipe: ") + std::strerror(e));
  }
  std::vector<std::string> args = {command.executable.string()};
  for (const auto& path : command.plugin_paths) {
    args.insert(args.end(), {"--plugin-path", path});
  }
  args.insert(args.end(), {"--log-level", command.log_level, "tune", "worker", "--config",
                           command.config.string(), "--node", command.tune_node, "--threads",
                           std::to_string(command.threads), "--study", command.study,
                           "--parent", std::to_string(getpid())});
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], 3);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawnattr_t attributes;
  initChildSpawnAttributes(attributes);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(sockets[1]);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(sockets[0]);
    close(pipe_fds[0]);
    return unavailable("starting a trial worker (" + command.executable.string() +
                       "): " + std::strerror(spawned));
  }
  std::unique_ptr<TrialProcess> process(new TrialProcess());
  process->pid_ = pid;
  process->socket_ = sockets[0];
  process->errors_ = pipe_fds[0];
  setFlag(process->socket_, F_GETFL, F_SETFL, O_NONBLOCK);
  setFlag(process->errors_, F_GETFL, F_SETFL, O_NONBLOCK);
  return process;
}

TrialProcess::~TrialProcess() {
  if (pid_ > 0) {
    kill();
  }
  closeSocket();
  if (errors_ >= 0) {
    close(errors_);
  }
}

void TrialProcess::closeSocket() {
  if (socket_ >= 0) {
    close(socket_);
    socket_ = -1;
  }
}

Status TrialProcess::readMessages(std::vector<TrialMessage>& out) {
  char buffer[4096];
  while (socket_ >= 0) {
    const ssize_t n = read(socket_, buffer, sizeof buffer);
    if (n > 0) {
      pending_.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      closeSocket();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      closeSocket();
    }
  }
  std::size_t start = 0;
  for (std::size_t end; (end = pending_.find('\n', start)) != std::string::npos;
       start = end + 1) {
    const std::string line = pending_.substr(start, end - start);
    auto message = parseTrialMessage(line);
    if (!message) {
      kill();
      return dataLoss("trial " + std::to_string(trial_) + "'s worker sent a malformed line");
    }
    out.push_back(std::move(*message));
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxLine) {
    kill();
    return dataLoss("trial " + std::to_string(trial_) + "'s worker sent an overlong line");
  }
  return Status();
}

void TrialProcess::readErrors() {
  char buffer[4096];
  while (errors_ >= 0) {
    const ssize_t n = read(errors_, buffer, sizeof buffer);
    if (n > 0) {
      error_tail_.append(buffer, static_cast<std::size_t>(n));
      if (error_tail_.size() > kErrorTail) {
        error_tail_.erase(0, error_tail_.size() - kErrorTail);
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      close(errors_);
      errors_ = -1;
    }
  }
}

Status TrialProcess::assign(std::uint64_t trial, const std::string& artifact,
                            const std::string& values_json) {
  trial_ = trial;
  busy_ = true;
  return send("trial " + std::to_string(trial) + " " + (artifact.empty() ? "-" : artifact) + " " +
              values_json + "\n");
}

Status TrialProcess::answer(bool prune) { return send(prune ? "prune\n" : "go\n"); }

Status TrialProcess::send(const std::string& text) {
  const std::size_t size = text.size();
  std::size_t sent = 0;
  while (socket_ >= 0 && sent < size) {
    // A line into a socket buffer the worker keeps empty between lines: EAGAIN is brief.
    const ssize_t n = ::send(socket_, text.data() + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    } else {
      return unavailable("the worker of trial " + std::to_string(trial_) + " went away");
    }
  }
  return socket_ >= 0 ? Status() : unavailable("the worker of trial " + std::to_string(trial_) +
                                                " went away");
}

std::string TrialProcess::reap() {
  if (pid_ <= 0) {
    return "was stopped";
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  readErrors();
  std::string how;
  if (WIFEXITED(status)) {
    how = "exited with code " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    how = "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
          strsignal(WTERMSIG(status)) + ")";
  } else {
    how = "ended";
  }
  std::string tail = error_tail_;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) {
    tail.pop_back();
  }
  const auto last = tail.rfind('\n');
  if (!tail.empty()) {
    how += ": " + (last == std::string::npos ? tail : tail.substr(last + 1));
  }
  return how;
}

void TrialProcess::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace aimass::core
