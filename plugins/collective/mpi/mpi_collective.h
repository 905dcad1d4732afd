// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "aimass/status.h"
#include "transport_collective.h"

namespace aimass::plugins::collective {

struct MpiCollectiveOptions {
  /// The most any operation waits for the other ranks before it fails with kUnavailable.
  std::chrono::duration<double> timeout{300.0};
};

/// `collective.mpi`: the ranks of an MPI job (started by mpirun, srun, an MPIJob), over a
/// private duplicate of MPI_COMM_WORLD.
///
/// Every operation is MPI's non-blocking form (MPI_Iallreduce, MPI_Ibcast, MPI_Iallgather,
/// MPI_Ibarrier) completed by an MPI_Test loop that yields and then sleeps briefly, so that
/// it can give up after the timeout: kUnavailable naming the operation and this rank, after
/// which every call fails at once with that error (the pending request cannot be cancelled,
/// and the ranks no longer agree on the next operation). MPI cannot tell which rank did not
/// join; when a rank dies, mpirun ends the whole job and names it. Argument checks, kMean,
/// bf16 (reduced in fp32) and the broken state are TransportCollective's.
///
/// Lifetime: MPI stays initialised for the whole process (MpiProcess); the communicator is
/// freed with the node unless the collective broke (freeing it could wait for the peers).
class MpiCollective final : public TransportCollective {
 public:
  /// Initialises MPI (once per process), duplicates MPI_COMM_WORLD (within the timeout) and
  /// finds the local rank among the ranks sharing this host's memory.
  static Expected<std::unique_ptr<MpiCollective>> create(const MpiCollectiveOptions& options);
  ~MpiCollective() override;
  MpiCollective(const MpiCollective&) = delete;
  MpiCollective& operator=(const MpiCollective&) = delete;

 private:
  explicit MpiCollective(const MpiCollectiveOptions& options)
      : TransportCollective("collective.mpi"), options_(options) {}
  Status connect();
  Status reduceInPlace(void* data, std::size_t count, ElementType type, ReduceOp op,
                       const std::string& what) override;
  Status broadcastBytes(std::span<std::byte> data, int root, const std::string& what) override;
  Status allgatherBytes(std::span<const std::byte> mine, std::span<std::byte> all,
                        const std::string& what) override;
  Status barrierOnce(const std::string& what) override;
  void onBroken() override;
  /// Runs `start(offset, chunk, request)` for chunks of at most INT_MAX of `count` elements,
  /// waiting for each.
  Status inChunks(std::size_t count, const std::string& what,
                  const std::function<int(std::size_t, int, MPI_Request&)>& start);
  /// Waits for the request that an MPI_I* call returning `rc` started.
  Status started(int rc, MPI_Request& request, const std::string& what);
  /// Waits for `request` until the timeout; on failure breaks the collective.
  Status wait(MPI_Request& request, const std::string& what);

  MpiCollectiveOptions options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace aimass::plugins::collective
