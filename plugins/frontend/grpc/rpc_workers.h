// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aimass::plugins::frontend {

/// The threads frontend.grpc runs inference on: ModelInfer may block (a batched model's
/// request waits for its batch; a slow model computes), which gRPC's own callback threads must
/// not, so each call is queued here and answered from a worker.
///
/// Lifecycle: the constructor starts `threads` workers; stop() (or the destructor) refuses new
/// tasks, runs every task already queued, and joins the workers.
///
/// Threading: submit() from any thread; stop() from one thread (the frontend's stop()).
class RpcWorkers {
 public:
  RpcWorkers(int threads, std::size_t max_queued);
  ~RpcWorkers();
  RpcWorkers(const RpcWorkers&) = delete;
  RpcWorkers& operator=(const RpcWorkers&) = delete;

  /// Queues `task`; false (and `task` not run) when max_queued tasks already wait or stop()
  /// has begun.
  bool submit(std::function<void()> task);
  /// Runs what is queued, then joins every worker. Idempotent.
  void stop();

 private:
  void work();

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aimass::plugins::frontend
