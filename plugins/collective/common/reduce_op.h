// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>

#include "aimass/collective.h"
#include "aimass/status.h"

namespace aimass::plugins::collective {

/// "sum", "mean", "max", "min" for messages.
inline const char* reduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return "sum";
    case ReduceOp::kMean:
      return "mean";
    case ReduceOp::kMax:
      return "max";
    case ReduceOp::kMin:
      return "min";
  }
  return "unknown";
}

/// The library's own operation for `op` (MPI_Op, ncclRedOp_t): kMean reduces with `sum` and
/// the collective divides by the number of ranks afterwards (divideBy), so that fp32, fp64 and
/// bf16 means are computed the same way on every library. kInvalidArgument for a value
/// outside the enum.
template <typename Native>
Expected<Native> nativeReduceOp(ReduceOp op, Native sum, Native max, Native min) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
      return sum;
    case ReduceOp::kMax:
      return max;
    case ReduceOp::kMin:
      return min;
  }
  return invalidArgument("unknown reduce operation " + std::to_string(static_cast<int>(op)));
}

/// Divides every element by `ranks` (a sum made a mean).
template <typename T>
void divideBy(std::span<T> data, int ranks) {
  const T n = static_cast<T>(ranks);
  for (T& x : data) x /= n;
}

}  // namespace aimass::plugins::collective
