// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "aimass/collective.h"
#include "aimass/plugin.h"

namespace aimass::core {

/// The built-in `collective.local`: a job of one rank (rank 0 of 1). Reductions and broadcasts
/// over one rank leave the data as it is and the barrier returns at once, so code written for
/// many ranks runs unchanged in a single process.
///
/// Threading: stateless; safe to call from any thread.
class LocalCollective final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int localRank() const override { return 0; }
  Status allreduce(std::span<float> data, ReduceOp op) override;
  Status allreduce(std::span<double> data, ReduceOp op) override;
  Status allreduceBf16(std::span<std::uint16_t> data, ReduceOp op) override;
  /// kInvalidArgument when `root` is not 0, the only rank.
  Status broadcast(std::span<std::byte> data, int root) override;
  /// Copies `mine` into `all` (one rank gathers only itself).
  Status allgather(std::span<const std::byte> mine, std::span<std::byte> all) override;
  Status barrier() override { return Status(); }
};

/// The `collective.local` node type.
NodeType localCollectiveNodeType();

}  // namespace aimass::core
