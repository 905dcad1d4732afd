// SPDX-License-Identifier: Apache-2.0
#include "local_collective.h"

#include <algorithm>
#include <memory>
#include <string>

namespace aimass::core {
namespace {

Status checkOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
    case ReduceOp::kMax:
    case ReduceOp::kMin:
      return Status();
  }
  return invalidArgument("unknown reduce operation " + std::to_string(static_cast<int>(op)));
}

}  // namespace

// With one rank the sum, mean, maximum and minimum of each element is the element itself.
Status LocalCollective::allreduce(std::span<float> /*data*/, ReduceOp op) { return checkOp(op); }

Status LocalCollective::allreduce(std::span<double> /*data*/, ReduceOp op) { return checkOp(op); }

Status LocalCollective::allreduceBf16(std::span<std::uint16_t> /*data*/, ReduceOp op) {
  return checkOp(op);
}

Status LocalCollective::allgather(std::span<const std::byte> mine, std::span<std::byte> all) {
  if (all.size() != mine.size()) {
    return invalidArgument("allgather needs " + std::to_string(mine.size()) +
                           " bytes for 1 rank, got " + std::to_string(all.size()));
  }
  std::copy(mine.begin(), mine.end(), all.begin());
  return Status();
}

Status LocalCollective::broadcast(std::span<std::byte> /*data*/, int root) {
  if (root != 0) {
    return invalidArgument("broadcast root " + std::to_string(root) +
                           " does not exist: the local collective has only rank 0");
  }
  return Status();
}

NodeType localCollectiveNodeType() {
  NodeType type;
  type.type = "collective.local";
  type.kind = NodeKind::kCollective;
  type.summary = "A single-process collective (rank 0 of 1) for running distributed jobs locally";
  type.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    return std::unique_ptr<Node>(std::make_unique<LocalCollective>());
  };
  return type;
}

}  // namespace aimass::core
