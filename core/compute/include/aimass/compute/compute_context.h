// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute {

/// The CPU engine, the execution stream and the number of threads the ops built on this context
/// run with (oneDNN inside; none of it shows in this header).
///
/// Ops keep a shared_ptr to their context, so it lives as long as the longest-lived op.
///
/// Threading: an op sets the calling thread's OpenMP thread count to threads() before it runs,
/// so two contexts of 1 thread used from two threads run on 2 cores, and one context of N
/// threads runs on N: nothing oversubscribes as long as the thread counts of the contexts that
/// run at once add up to the cores. Executing ops of one context from two threads at once is
/// not allowed (the stream is not thread-safe); give each thread its own context.
class AIMASS_COMPUTE_API ComputeContext {
 public:
  /// A CPU context running ops on `threads` threads (>= 1). kInvalidArgument for threads < 1;
  /// kInternal when oneDNN cannot create a CPU engine.
  static Expected<std::shared_ptr<ComputeContext>> create(int threads);

  ~ComputeContext();
  ComputeContext(const ComputeContext&) = delete;
  ComputeContext& operator=(const ComputeContext&) = delete;

  int threads() const noexcept { return threads_; }

  /// The oneDNN objects, for the ops in this library only.
  struct Impl;
  Impl& impl() const noexcept { return *impl_; }

  /// Makes the calling thread's parallel regions use threads() threads. Cheap; ops call it.
  void enterThreads() const noexcept;
  /// The same with at most `limit` threads (>= 1): ops too small to gain from more threads
  /// than that run on fewer, and skip waking and joining the rest.
  void enterThreads(int limit) const noexcept;

 private:
  ComputeContext(int threads, std::unique_ptr<Impl> impl);

  int threads_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::compute
