// SPDX-License-Identifier: Apache-2.0
#include "periodic_loop.h"

#include <sys/resource.h>
#include <unistd.h>

#include <exception>

namespace aimass::core {

void PeriodicLoop::start(Host& host, Options options, std::function<Status()> pass) {
  stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this, &host, options = std::move(options), pass = std::move(pass)] {
    run(host, options, pass);
  });
}

void PeriodicLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicLoop::run(Host& host, const Options& options, const std::function<Status()>& pass) {
  // Background work: on a machine that serving saturates, requests come first and the pass
  // catches up when the load eases (Linux: a thread's own nice value).
  if (options.nice > 0 &&
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options.nice) != 0) {
    host.log(LogLevel::kDebug, options.node,
             options.prefix + "could not lower its thread's priority; it runs at serving's");
  }
  std::string last_error;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, options.interval, [this] { return stopping_; })) return;
    }
    Status status;
    try {
      status = pass();
    } catch (const std::exception& e) {
      status = internalError(std::string("the pass failed: ") + e.what());
    }
    if (!status.ok() && status.message() != last_error) {
      host.log(LogLevel::kWarning, options.node, options.prefix + status.message());
    }
    last_error = status.ok() ? std::string() : status.message();
  }
}

}  // namespace aimass::core
