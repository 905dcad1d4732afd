// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "aimass/status.h"
#include "transport_collective.h"

namespace aimass::plugins::collective {

struct NcclCollectiveOptions {
  /// The most any operation (and the rendezvous, and creating the communicator) waits.
  std::chrono::duration<double> timeout{300.0};
  /// "mpi": rank, size and the unique id through MPI (needs the plugin built with MPI and a
  /// launcher that starts MPI ranks); "file": through `rendezvous_dir`; "auto": mpi when built
  /// with it and started by an MPI launcher, else file.
  std::string rendezvous = "auto";
  std::filesystem::path rendezvous_dir;
  /// Tells this job's rendezvous file from another's (rendezvousKey()). With the file
  /// rendezvous, rank, size and local rank come from the launcher's environment
  /// (OMPI_COMM_WORLD_*, PMI_*, SLURM_*, or RANK/WORLD_SIZE/LOCAL_RANK), never from the
  /// configuration, which every rank must share (the ranks compare it at start).
  std::string rendezvous_key;
  /// The CUDA device; -1 is the local rank modulo the number of devices.
  int device = -1;
};

/// `collective.nccl`: NCCL among one GPU per rank.
///
/// The Collective interface takes host memory, so each operation copies the span to a device
/// buffer (grown to the largest span and reused), runs the NCCL collective on the node's own
/// stream and copies the result back: correct, not fast. Gradients that live on the device
/// will be reduced in place once the CUDA backend trains on the device.
///
/// bf16 all-reduce widens to fp32 on the host and all-reduces fp32 (NCCL's own bf16 sum
/// rounds at every hop of the ring); kMean is the sum divided by size(). barrier() is an
/// all-reduce of one float (NCCL has no barrier).
///
/// Failures: the communicator is non-blocking; every wait polls the stream and
/// ncclCommGetAsyncError, and after the timeout aborts the communicator (ncclCommAbort) and
/// fails with kUnavailable naming the operation; every later call fails at once.
///
/// Argument checks, kMean, bf16 and the broken state are TransportCollective's.
///
/// Threading: calls are serialised by a mutex; they make the node's device current on the
/// calling thread.
class NcclCollective final : public TransportCollective {
 public:
  static Expected<std::unique_ptr<NcclCollective>> create(const NcclCollectiveOptions& options);
  ~NcclCollective() override;
  NcclCollective(const NcclCollective&) = delete;
  NcclCollective& operator=(const NcclCollective&) = delete;

  /// The CUDA device this rank uses.
  int device() const { return device_; }

 private:
  explicit NcclCollective(const NcclCollectiveOptions& options)
      : TransportCollective("collective.nccl"), options_(options) {}
  Status rendezvous(ncclUniqueId& id);
  Status connect(const ncclUniqueId& id);
  Status reduceInPlace(void* data, std::size_t count, ElementType type, ReduceOp op,
                       const std::string& what) override;
  Status broadcastBytes(std::span<std::byte> data, int root, const std::string& what) override;
  Status allgatherBytes(std::span<const std::byte> mine, std::span<std::byte> all,
                        const std::string& what) override;
  Status barrierOnce(const std::string& what) override;
  void onBroken() override;
  /// Copies `in_bytes` from `in` to the device, runs `launch` on the device buffer, copies
  /// `out_bytes` back to `out`, and waits.
  Status run(const std::string& what, const void* in, std::size_t in_bytes, void* out,
             std::size_t out_bytes, const std::function<ncclResult_t(void*)>& launch);
  Status waitForLaunch(ncclResult_t launched, const std::string& what);
  Status waitForStream(const std::string& what);

  NcclCollectiveOptions options_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* buffer_ = nullptr;
  std::size_t buffer_bytes_ = 0;
  /// The MPI collective of the rendezvous (kept: MPI stays up for the process).
  std::unique_ptr<Collective> mpi_;
};

}  // namespace aimass::plugins::collective
