// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>

#include "aimass/status.h"

namespace aimass::plugins::collective {

/// The failure contract of Collective: once an operation failed (a timeout, a transport error)
/// the collective is broken and every later call returns that first error at once, because the
/// ranks no longer agree on which operation comes next.
///
/// Threading: not synchronised; the collective's own lock guards it.
class BrokenState {
 public:
  /// The first failure, or OK while the collective works.
  const Status& status() const { return status_; }
  bool broken() const { return !status_.ok(); }
  /// Records `failure` (when nothing failed before) and returns the first failure.
  const Status& breakWith(Status failure);

 private:
  Status status_;
};

/// "timed out after 2.5 s in allreduce (fp32, 1024 elements) on rank 0 of 2: ..." style
/// wording shared by the collectives: the operation, the limit and this rank.
std::string timeoutMessage(const std::string& operation, std::chrono::duration<double> limit,
                           int rank, int size);

}  // namespace aimass::plugins::collective
