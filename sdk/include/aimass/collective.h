// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <span>

#include "aimass/node.h"
#include "aimass/status.h"

namespace aimass {

enum class ReduceOp { kSum, kMean, kMax, kMin };

/// Communication among the ranks of a distributed job (MPI on CPU, NCCL on CUDA, or the
/// single-process "local" collective).
///
/// Every rank must make the same calls in the same order with the same sizes (as in MPI).
/// Threading: one thread per rank calls these; they block until every rank has joined.
class Collective : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kCollective; }

  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Reduces `data` element-wise across ranks, in place, leaving the result on every rank.
  virtual Status allreduce(std::span<float> data, ReduceOp op) = 0;
  virtual Status allreduce(std::span<double> data, ReduceOp op) = 0;
  /// Copies `data` from rank `root` to every other rank.
  virtual Status broadcast(std::span<std::byte> data, int root) = 0;
  /// Returns once every rank has called it.
  virtual Status barrier() = 0;
};

}  // namespace aimass
