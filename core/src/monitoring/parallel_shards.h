// SPDX-License-Identifier: Apache-2.0
#pragma once

// A parallel loop for the batch drift report: numbered pieces of work (chunks of a CSV, the
// features of a window) run on a few threads, each piece once.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace aimass::core {

/// The threads to use for `threads` (0: the host's hardware threads, at least 1).
inline std::size_t shardThreads(std::size_t threads) {
  if (threads > 0) return threads;
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

/// Runs work(worker, i) for every i in [0, count), each once, on min(shardThreads(threads),
/// count) threads: the calling one and the rest started here and joined before it returns.
/// `worker` (in [0, threads)) names the thread, so work can keep scratch per worker; pieces are
/// taken in increasing order but finish in any order, so work writes only what piece i owns.
/// `work` must not throw.
inline void forEachShard(std::size_t count, std::size_t threads,
                         const std::function<void(std::size_t worker, std::size_t i)>& work) {
  const std::size_t workers = std::min(shardThreads(threads), count);
  std::atomic<std::size_t> next{0};
  auto loop = [&](std::size_t worker) {
    for (std::size_t i = next++; i < count; i = next++) work(worker, i);
  };
  std::vector<std::thread> started;
  for (std::size_t w = 1; w < workers; ++w) started.emplace_back(loop, w);
  if (workers > 0) loop(0);
  for (auto& t : started) t.join();
}

}  // namespace aimass::core
