// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "exec_aimass.h"

namespace aimass::testing {

/// What a finished `aimass` process left: its exit code (128 + signal when killed) and output.
struct AimassResult {
  int code = -1;
  std::string out;
  std::string err;
};

/// The whole content of `path` ("" when it cannot be read).
inline std::string readWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs `program` (an aimass executable) with `args` to completion; stdout and
/// stderr are captured through files in `dir`, and `input`, when given, is its standard input
/// (through a file, so nothing can block). AIMASS_PLUGIN_PATH is removed from its environment.
inline AimassResult runProgram(const std::string& program, const std::filesystem::path& dir,
                               std::vector<std::string> args,
                               const std::optional<std::string>& input = std::nullopt) {
  const std::filesystem::path in_path = dir / "stdin", out_path = dir / "stdout",
                              err_path = dir / "stderr";
  if (input) {
    std::ofstream(in_path, std::ios::binary) << *input;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (input) {
      int in = open(in_path.c_str(), O_RDONLY);
      dup2(in, STDIN_FILENO);
    }
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    unsetenv("AIMASS_PLUGIN_PATH");
    execProgram(program, std::move(args));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), readWholeFile(out_path),
          readWholeFile(err_path)};
}

/// runProgram() on the aimass under test (AIMASS_EXECUTABLE).
inline AimassResult runAimass(const std::filesystem::path& dir, std::vector<std::string> args,
                              const std::optional<std::string>& input = std::nullopt) {
  return runProgram(AIMASS_EXECUTABLE, dir, std::move(args), input);
}

/// `aimass run CONFIG` (the executable under test, AIMASS_EXECUTABLE) serving in the background
/// until stop() or destruction; its stderr is read through a pipe. AIMASS_PLUGIN_PATH is
/// removed from its environment so results do not depend on the shell the tests run from.
class AimassServer {
 public:
  /// Not a speed check: only there so a broken build fails instead of blocking the test run.
  static constexpr auto kHangLimit = std::chrono::seconds(120);

  /// Starts `aimass COMMAND CONFIG` (run, or serve).
  explicit AimassServer(const std::string& config, const std::string& command = "run") {
    int err[2];
    if (pipe(err) != 0) {
      ADD_FAILURE() << "pipe() failed";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], STDERR_FILENO);
      close(err[0]);
      close(err[1]);
      unsetenv("AIMASS_PLUGIN_PATH");
      std::string program = AIMASS_EXECUTABLE, run = command, file = config;
      char* argv[] = {program.data(), run.data(), file.data(), nullptr};
      execv(program.c_str(), argv);
      _exit(127);
    }
    close(err[1]);
    err_fd_ = err[0];
  }
  ~AimassServer() {
    stop();
    if (err_fd_ >= 0) {
      close(err_fd_);
    }
  }
  AimassServer(const AimassServer&) = delete;
  AimassServer& operator=(const AimassServer&) = delete;

  /// The port from the "serving http://127.0.0.1:PORT" line ("https" with TLS); 0 if the server
  /// never got there.
  int waitForPort(const std::string& scheme = "http") {
    const std::string marker = "serving " + scheme + "://127.0.0.1:";
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (err_.find(marker) == std::string::npos ||
           err_.find('\n', err_.find(marker)) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || !readSome()) {
        return 0;
      }
    }
    return std::stoi(err_.substr(err_.find(marker) + marker.size()));
  }

  /// Reads the server's log until it holds `text`; false if it exits or the hang limit passes.
  bool waitForLog(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (err_.find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || !readSome()) {
        return false;
      }
    }
    return true;
  }

  /// True while the process has not exited.
  bool alive() {
    if (pid_ <= 0) {
      return false;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  /// SIGTERM, then waits; the exit code (-1 when already stopped).
  int stop() {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    while (readSome()) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// SIGKILL, as a crash or `kill -9` would end it; waits for it to be gone.
  void kill9() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  /// What the server wrote to stderr so far (its log).
  const std::string& err() const { return err_; }

 private:
  // Reads what arrives within 100 ms; false once the pipe is closed.
  bool readSome() {
    if (err_fd_ < 0) {
      return false;
    }
    pollfd fd{err_fd_, POLLIN, 0};
    if (poll(&fd, 1, 100) <= 0) {
      return true;
    }
    char buffer[4096];
    ssize_t n = read(err_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      close(err_fd_);
      err_fd_ = -1;
      return false;
    }
    err_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
};

}  // namespace aimass::testing
