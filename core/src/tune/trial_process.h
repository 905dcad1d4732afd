// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

/// How the tuner starts a worker process: `aimass [--plugin-path P]... tune worker` with these
/// as its options (see runTrialWorker()).
struct TrialCommand {
  std::filesystem::path executable;  ///< the running aimass (/proc/self/exe)
  std::vector<std::string> plugin_paths;
  std::filesystem::path config;  ///< the configuration file the study runs
  std::string tune_node;         ///< the job.tune node
  int threads = 1;
  std::string study;
  std::string log_level = "warning";
};

/// One message a worker sends, as a line on its socket:
///
///     epoch E VALUE                  the objective after epoch E (waits for "go" or "prune")
///     done VALUE RUN PRUNED ARTIFACT  the job ended: last objective, tracked run, 0/1, key or -
///     failed RUN REASON              the job (or its set-up) failed
///
/// The tuner answers each epoch line with "go" or "prune". Values are written so that they
/// read back exactly (formatNumber); NaN as "nan".
struct TrialMessage {
  enum class Kind { kEpoch, kDone, kFailed };
  Kind kind = Kind::kEpoch;
  std::uint64_t epoch = 0;
  double value = 0;
  std::int64_t run_id = 0;
  bool pruned = false;
  std::string artifact;
  std::string reason;
};

/// Parses one line; nullopt for a line that is none of the forms above.
std::optional<TrialMessage> parseTrialMessage(const std::string& line);

/// A worker process running trials one after another, seen from the tuner: started with posix_spawn in a
/// process group of its own (so the terminal's Ctrl-C reaches the tuner alone, which then
/// stops its workers), with the default signal dispositions and an empty signal mask, a
/// socket on its fd 3 and its stderr on a pipe whose last 4 KiB are kept for failure
/// messages. The worker dies with the tuner (PR_SET_PDEATHSIG), even after kill -9.
///
/// Threading: one thread (the tuner's loop). The destructor kills a worker still running.
class TrialProcess {
 public:
  static Expected<std::unique_ptr<TrialProcess>> start(const TrialCommand& command);
  ~TrialProcess();
  TrialProcess(const TrialProcess&) = delete;
  TrialProcess& operator=(const TrialProcess&) = delete;

  /// The descriptors to poll for input: the socket and the stderr pipe (-1 once closed).
  int socket() const noexcept { return socket_; }
  int errors() const noexcept { return errors_; }
  /// Reads what is available on the socket without blocking and appends whole messages. A
  /// malformed line ends the worker (kDataLoss). Sets closed() at the end of the stream.
  Status readMessages(std::vector<TrialMessage>& out);
  /// Reads what is available on the stderr pipe into the kept tail.
  void readErrors();
  bool closed() const noexcept { return socket_ < 0; }
  /// Gives an idle worker trial `trial`: its model is saved under `artifact` (empty: not
  /// saved), `values_json` holds the optimizer's values, one per dimension (null: inactive).
  Status assign(std::uint64_t trial, const std::string& artifact, const std::string& values_json);
  /// The trial ended (a done or failed message came): the worker is idle again.
  void release() noexcept { busy_ = false; }
  bool busy() const noexcept { return busy_; }
  /// Answers an epoch message.
  Status answer(bool prune);
  /// Waits for the process to end (after closed()), and says how it ended: "exited with code
  /// 3", "was killed by signal 9 (Killed)", with the last line of its stderr.
  std::string reap();
  /// SIGKILLs the process and reaps it.
  void kill();
  /// The trial assigned last.
  std::uint64_t trial() const noexcept { return trial_; }

 private:
  TrialProcess() = default;
  void closeSocket();
  Status send(const std::string& text);

  pid_t pid_ = -1;
  int socket_ = -1;
  int errors_ = -1;
  std::uint64_t trial_ = 0;
  bool busy_ = false;
  std::string pending_;      ///< an incomplete line from the socket
  std::string error_tail_;   ///< the last 4 KiB of stderr
};

}  // namespace aimass::core
