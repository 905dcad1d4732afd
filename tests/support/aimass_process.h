// SPDX-License-Identifier: Apache-2.0
#pragma once

// The aimass executable as a child process for integration tests (AIMASS_EXECUTABLE), with its
// stdout and stderr in files, signals, a wait bounded by kHangLimit.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exec_aimass.h"

namespace aimass::testing {

namespace fs = std::filesystem;

inline std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// How long a test waits for a process or a file before calling the build broken. Not a speed
/// check: generous, so a hang fails instead of blocking the test run.
inline constexpr auto kHangLimit = std::chrono::seconds(300);

inline void writeFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// The aimass executable as a child process, stdout and stderr going to files in `dir`.
class AimassProcess {
 public:
  AimassProcess(const fs::path& dir, std::vector<std::string> args) : dir_(dir) {
    pid_ = fork();
    if (pid_ == 0) {
      int out = open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      unsetenv("AIMASS_PLUGIN_PATH");
      aimass::testing::execProgram(AIMASS_EXECUTABLE, std::move(args));
    }
  }
  ~AimassProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  AimassProcess(const AimassProcess&) = delete;
  AimassProcess& operator=(const AimassProcess&) = delete;

  void signal(int sig) { kill(pid_, sig); }
  /// True while the process has not exited.
  bool running() {
    if (reaped_) {
      return false;
    }
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return !reaped_;
  }
  /// Waits for the exit; the exit code, 128 + signal when killed, -1 when it hung.
  int wait() {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "aimass did not finish; stderr so far:\n" << err();
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return code_;
  }
  std::string err() const { return readFile(dir_ / "stderr"); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int code_ = -1;
};

/// How a run of the aimass executable ended, with what it wrote.
struct AimassResult {
  int code = -1;  ///< exit code; 128 + signal when killed; -1 when it hung
  std::string out;
  std::string err;
};

/// Runs aimass with `args` to its end, its stdout and stderr through files in `dir`.
inline AimassResult runAimass(const fs::path& dir, std::vector<std::string> args) {
  AimassProcess process(dir, std::move(args));
  AimassResult result;
  result.code = process.wait();
  result.out = readFile(dir / "stdout");
  result.err = process.err();
  return result;
}

}  // namespace aimass::testing
