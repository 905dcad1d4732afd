// SPDX-License-Identifier: Apache-2.0
// A gate that holds a test model's predict() calls until the test opens it, so that requests
// queue behind a held one in an order the test chooses instead of one it hopes for.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace aimass::testing {

/// Holds every call of pass() while closed (it starts open). Thread-safe.
class Gate {
 public:
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  /// Called by the held code (a model's predict()): waits while the gate is closed.
  void pass() const {
    std::unique_lock lock(mutex_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --waiting_;
  }
  /// True once `n` calls wait at the gate at the same time; false after `patience`, which only
  /// bounds a failure (instead of a hang).
  bool awaitWaiters(int n, std::chrono::seconds patience = std::chrono::seconds(60)) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, patience, [&] { return waiting_ >= n; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  mutable int waiting_ = 0;
  bool open_ = true;
};

}  // namespace aimass::testing
