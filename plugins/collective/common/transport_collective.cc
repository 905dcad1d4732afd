// SPDX-License-Identifier: Apache-2.0
#include "transport_collective.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "reduce_op.h"

namespace aimass::plugins::collective {
namespace {

std::string describe(const char* dtype, std::size_t count, ReduceOp op) {
  return std::string("allreduce (") + dtype + " " + reduceOpName(op) + ", " +
         std::to_string(count) + " elements)";
}

Status checkOp(ReduceOp op) { return nativeReduceOp<int>(op, 0, 0, 0).status(); }

}  // namespace

Status TransportCollective::fail(Status failure) {
  if (broken_.broken()) {
    return broken_.status();
  }
  onBroken();
  return broken_.breakWith(Status(failure.code(), type_name_ + ": " + failure.message()));
}

Status TransportCollective::timedOut(const std::string& what, std::chrono::duration<double> limit) {
  return fail(unavailable(timeoutMessage(what, limit, rank_, size_)));
}

Status TransportCollective::pollUntilDone(const std::string& what,
                                          std::chrono::duration<double> limit,
                                          const std::function<std::optional<Status>()>& poll) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(limit);
  // A collective of a training step ends within a millisecond or so once every rank has come,
  // and the transport often advances only while it is polled (MPI's non-blocking collectives
  // run their rounds inside MPI_Test): so poll without sleeping for a while, as MPI's own
  // blocking calls do, and only then back off, so that a rank waiting long for a slow one
  // (or for its end) does not burn its core.
  constexpr auto kSpin = std::chrono::milliseconds(50);
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    if (std::optional<Status> done = poll()) {
      return *done;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return timedOut(what, limit);
    }
    if (now - start < kSpin) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
}

template <typename T>
Status TransportCollective::reduceSpan(std::span<T> data, ReduceOp op, ElementType type,
                                       const char* dtype) {
  std::lock_guard lock(mutex_);
  if (broken_.broken()) return broken_.status();
  if (Status valid = checkOp(op); !valid.ok()) return valid;
  if (data.empty()) return Status();
  const ReduceOp reduce_op = op == ReduceOp::kMean ? ReduceOp::kSum : op;
  Status status =
      reduceInPlace(data.data(), data.size(), type, reduce_op, describe(dtype, data.size(), op));
  if (status.ok() && op == ReduceOp::kMean) divideBy(data, size_);
  return status;
}

Status TransportCollective::allreduce(std::span<float> data, ReduceOp op) {
  return reduceSpan(data, op, ElementType::kFloat32, "fp32");
}

Status TransportCollective::allreduce(std::span<double> data, ReduceOp op) {
  return reduceSpan(data, op, ElementType::kFloat64, "fp64");
}

Status TransportCollective::allreduceBf16(std::span<std::uint16_t> data, ReduceOp op) {
  std::lock_guard lock(mutex_);
  if (broken_.broken()) return broken_.status();
  if (Status valid = checkOp(op); !valid.ok()) return valid;
  if (data.empty()) return Status();
  std::span<float> wide = bf16_.widen(data);
  const ReduceOp reduce_op = op == ReduceOp::kMean ? ReduceOp::kSum : op;
  Status status = reduceInPlace(wide.data(), wide.size(), ElementType::kFloat32, reduce_op,
                                describe("bf16 in fp32", data.size(), op));
  if (status.ok()) {
    bf16_.narrow(data, op == ReduceOp::kMean ? 1.0f / static_cast<float>(size_) : 1.0f);
  }
  return status;
}

Status TransportCollective::broadcast(std::span<std::byte> data, int root) {
  std::lock_guard lock(mutex_);
  if (broken_.broken()) return broken_.status();
  if (root < 0 || root >= size_) {
    return invalidArgument(type_name_ + ": broadcast root " + std::to_string(root) +
                           " does not exist: ranks are 0 to " + std::to_string(size_ - 1));
  }
  if (data.empty()) return Status();
  return broadcastBytes(data, root,
                        "broadcast (" + std::to_string(data.size()) + " bytes from rank " +
                            std::to_string(root) + ")");
}

Status TransportCollective::allgather(std::span<const std::byte> mine, std::span<std::byte> all) {
  std::lock_guard lock(mutex_);
  if (broken_.broken()) return broken_.status();
  const std::size_t total = mine.size() * static_cast<std::size_t>(size_);
  if (all.size() != total) {
    return invalidArgument(type_name_ + ": allgather needs " + std::to_string(total) +
                           " bytes for " + std::to_string(size_) + " ranks of " +
                           std::to_string(mine.size()) + ", got " + std::to_string(all.size()));
  }
  if (mine.empty()) return Status();
  return allgatherBytes(mine, all, "allgather (" + std::to_string(mine.size()) + " bytes a rank)");
}

Status TransportCollective::barrier() {
  std::lock_guard lock(mutex_);
  if (broken_.broken()) return broken_.status();
  return barrierOnce("barrier");
}

}  // namespace aimass::plugins::collective
