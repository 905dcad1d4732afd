// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "aimass/node.h"
#include "aimass/status.h"

namespace aimass {

enum class ReduceOp { kSum, kMean, kMax, kMin };

/// Communication among the ranks of a distributed job: `collective.mpi` (Open MPI, on CPU),
/// `collective.nccl` (CUDA) or the single-process `collective.local`.
///
/// Every rank must make the same calls in the same order with the same sizes (as in MPI).
/// Threading: one thread per rank calls these; they block until every rank has joined.
///
/// Failures: a rank that dies or stops calling must not hang the others forever. An
/// implementation waits at most its configured timeout in any call and then returns
/// kUnavailable, naming the operation and, where it can tell, the rank that did not join. After such an error the collective is
/// broken: every later call fails at once with the same error.
class Collective : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kCollective; }

  /// This process's rank in [0, size()).
  virtual int rank() const = 0;
  /// The number of ranks.
  virtual int size() const = 0;
  /// This process's rank among the ranks on its host (picks its GPU, its core range).
  virtual int localRank() const = 0;

  /// Reduces `data` element-wise across ranks, in place, leaving the result on every rank.
  virtual Status allreduce(std::span<float> data, ReduceOp op) = 0;
  virtual Status allreduce(std::span<double> data, ReduceOp op) = 0;
  /// The same for bfloat16 values, held as their 16 bits (the top half of an fp32): summed
  /// with fp32 accumulation, rounded to nearest even once at the end.
  virtual Status allreduceBf16(std::span<std::uint16_t> data, ReduceOp op) = 0;
  /// Copies `data` from rank `root` to every other rank.
  virtual Status broadcast(std::span<std::byte> data, int root) = 0;
  /// Gathers every rank's `mine` (the same size on all ranks) into `all`, rank r's bytes at
  /// offset r * mine.size(), on every rank. kInvalidArgument unless all.size() equals
  /// mine.size() * size().
  virtual Status allgather(std::span<const std::byte> mine, std::span<std::byte> all) = 0;
  /// Returns once every rank has called it.
  virtual Status barrier() = 0;
};

}  // namespace aimass
