// SPDX-License-Identifier: Apache-2.0
// A node's background pass, every interval on a thread of its own, until stopped: what the
// monitor and the annotation projects run beside serving. A failing pass is logged once per
// distinct error and tried again next interval; the loop never stops on its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "aimass/host.h"
#include "aimass/status.h"

namespace aimass::core {

/// Threading: start() and stop() from one thread (the host's main one); the pass runs on the
/// loop's own thread. Destroying a running loop stops it.
class PeriodicLoop {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    std::string node;    ///< who logs: the node's name
    std::string prefix;  ///< put before each logged error, e.g. "monitor: "
    int nice = 0;        ///< >0: the thread's nice value (below serving's), when the OS allows
  };

  PeriodicLoop() = default;
  PeriodicLoop(const PeriodicLoop&) = delete;
  PeriodicLoop& operator=(const PeriodicLoop&) = delete;
  ~PeriodicLoop() { stop(); }

  /// Runs `pass` every options.interval (first after one interval) until stop(); an exception
  /// it throws counts as a failed pass.
  void start(Host& host, Options options, std::function<Status()> pass);
  /// Wakes the loop and waits for it to end (at once when it is not running).
  void stop();

 private:
  void run(Host& host, const Options& options, const std::function<Status()>& pass);

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace aimass::core
