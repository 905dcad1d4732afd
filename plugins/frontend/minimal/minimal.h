// SPDX-License-Identifier: Apache-2.0
#pragma once

// frontend.lines — the narrated example frontend.
//
// Read this file, then minimal.cc, then plugin.cc: together they are everything a frontend
// plugin needs. The steps are numbered across the three files.
//
// What it does: reads one request per line, "<model> <v1> <v2> ...", from a file, a pipe or
// stdin, runs the model on that one row and writes one answer per line to a file or stdout:
//
//     iris 5.1 3.5 1.4 0.2      ->  iris setosa 0.97 0.02 0.01
//     prices 3 1200             ->  prices 312000
//     bogus 1 2                 ->  error: unknown model 'bogus'
//
// Step 1: include only the SDK. A plugin never needs core headers, Boost or Poco; the host's
// models and logging reach it through aimass::Host.

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "aimass/frontend.h"
#include "aimass/host.h"

namespace aimass::plugins::frontend {

/// Answers prediction requests read line by line from a stream.
///
/// Input and output: `input` and `output` are file paths; a path whose last part is "-" means
/// stdin or stdout (the host resolves relative paths against the config's folder, so "-"
/// arrives as "<folder>/-"). The output file is created or truncated at start(). Standard
/// streams are never closed.
///
/// Lifecycle: start() opens both ends and starts one reader thread, then returns. The thread
/// answers each line in order and ends at end of input (the frontend stays started until
/// stop()). stop() asks the thread to finish, waits at most one poll interval (100 ms) plus
/// the line being answered, joins it and closes what start() opened. Both are idempotent;
/// a stopped frontend can start again.
///
/// Errors: a line that cannot be answered (unknown model, a word that is not a number, the
/// wrong number of values, a model error) gets "error: <message>" and reading carries on.
///
/// Threading: start() and stop() from the host's main thread; endpoint() from any thread.
class LinesFrontend final : public Frontend {
 public:
  LinesFrontend(std::string node_name, std::string input, std::string output);
  ~LinesFrontend() override;

  /// kUnavailable when a file cannot be opened (naming it and why); kFailedPrecondition when
  /// already started.
  Status start(Host& host) override;
  void stop() noexcept override;
  /// "lines:<input> -> <output>" ("stdin"/"stdout" for the standard streams); empty when
  /// stopped.
  std::string endpoint() const override;

  /// The answer to one request line, without the newline. Public so it can be tested (and
  /// reused) without streams.
  static std::string answer(Host& host, std::string_view line);

 private:
  void readLoop();
  bool writeLine(const std::string& text);

  std::string node_name_;
  std::string input_path_;
  std::string output_path_;

  mutable std::mutex mutex_;  // guards the fields below against endpoint() from other threads
  Host* host_ = nullptr;
  int input_fd_ = -1;
  int output_fd_ = -1;
  bool owns_input_ = false;
  bool owns_output_ = false;
  std::string endpoint_;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
};

}  // namespace aimass::plugins::frontend
