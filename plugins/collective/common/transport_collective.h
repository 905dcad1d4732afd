// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "aimass/collective.h"
#include "aimass/status.h"
#include "bf16_buffer.h"
#include "broken_state.h"

namespace aimass::plugins::collective {

/// The element types a transport reduces (bf16 is reduced as fp32).
enum class ElementType { kFloat32, kFloat64 };

/// What collective.mpi and collective.nccl share on top of their transport: the checks of each
/// call's arguments (reduce operation, broadcast root, all-gather sizes), the lock that
/// serialises calls, the broken state (after the first transport failure every call returns
/// it at once), kMean as the sum divided by size(), and bf16 widened to fp32, reduced in fp32
/// and rounded once (Bf16Scratch). Operation descriptions in errors read
/// "allreduce (fp32 sum, 16 elements)", "broadcast (64 bytes from rank 1)",
/// "allgather (8 bytes a rank)", "barrier".
///
/// Subclasses set rank_, size_ and local_rank_ when they connect, and implement the
/// primitives, which run with the lock held, only while the collective works, and only on
/// arguments already checked. A primitive that fails because of the transport returns
/// fail(...), which breaks the collective.
///
/// Threading: every public call takes the lock; one thread per rank is the intended use.
class TransportCollective : public Collective {
 public:
  int rank() const final { return rank_; }
  int size() const final { return size_; }
  int localRank() const final { return local_rank_; }
  Status allreduce(std::span<float> data, ReduceOp op) final;
  Status allreduce(std::span<double> data, ReduceOp op) final;
  Status allreduceBf16(std::span<std::uint16_t> data, ReduceOp op) final;
  Status broadcast(std::span<std::byte> data, int root) final;
  Status allgather(std::span<const std::byte> mine, std::span<std::byte> all) final;
  Status barrier() final;

 protected:
  /// `type_name` prefixes every error: "collective.mpi".
  explicit TransportCollective(std::string type_name) : type_name_(std::move(type_name)) {}

  /// Sum, max or min (kMean arrives as kSum) of `count` elements at `data`, in place.
  virtual Status reduceInPlace(void* data, std::size_t count, ElementType type, ReduceOp op,
                               const std::string& what) = 0;
  /// `data` (not empty) from rank `root` (a valid rank) to every rank.
  virtual Status broadcastBytes(std::span<std::byte> data, int root, const std::string& what) = 0;
  /// Every rank's `mine` (not empty) into `all` (mine.size() * size() bytes).
  virtual Status allgatherBytes(std::span<const std::byte> mine, std::span<std::byte> all,
                                const std::string& what) = 0;
  virtual Status barrierOnce(const std::string& what) = 0;
  /// Called once, when the collective breaks (abort the transport, skip MPI_Finalize).
  virtual void onBroken() {}

  /// Breaks the collective with `failure` (prefixed with the type name) unless it is already
  /// broken; returns the first failure.
  Status fail(Status failure);
  /// "TYPE: OPERATION timed out after ... on rank R of N: ..." as a kUnavailable Status.
  Status timedOut(const std::string& what, std::chrono::duration<double> limit);
  /// Calls `poll` until it returns a Status (the operation's end, OK or not) or `limit` has
  /// passed (then timedOut(what, limit)). Between polls it yields the first thousand times
  /// (short operations end within a few) and then sleeps 200 µs.
  Status pollUntilDone(const std::string& what, std::chrono::duration<double> limit,
                       const std::function<std::optional<Status>()>& poll);
  bool broken() const { return broken_.broken(); }
  const std::string& typeName() const { return type_name_; }

  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;

 private:
  template <typename T>
  Status reduceSpan(std::span<T> data, ReduceOp op, ElementType type, const char* dtype);

  const std::string type_name_;
  std::mutex mutex_;
  BrokenState broken_;
  Bf16Scratch bf16_;
};

}  // namespace aimass::plugins::collective
