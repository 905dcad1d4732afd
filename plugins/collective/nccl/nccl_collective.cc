// SPDX-License-Identifier: Apache-2.0
#include "nccl_collective.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "reduce_op.h"
#include "rendezvous_file.h"
#ifdef AIMASS_NCCL_WITH_MPI
#include "mpi_collective.h"
#endif

namespace aimass::plugins::collective {
namespace {

int envInt(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name)) {
      return std::atoi(value);
    }
  }
  return -1;
}

bool startedByMpiLauncher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

std::string cudaText(cudaError_t error) {
  return std::string(cudaGetErrorName(error)) + ": " + cudaGetErrorString(error);
}

std::string ncclText(ncclResult_t result) { return ncclGetErrorString(result); }

}  // namespace

Expected<std::unique_ptr<NcclCollective>> NcclCollective::create(
    const NcclCollectiveOptions& options) {
  int devices = 0;
  if (cudaError_t error = cudaGetDeviceCount(&devices); error != cudaSuccess || devices == 0) {
    return failedPrecondition("collective.nccl needs a CUDA device: " +
                              (error != cudaSuccess ? cudaText(error) : "none found"));
  }
  std::unique_ptr<NcclCollective> collective(new NcclCollective(options));
  ncclUniqueId id{};
  if (Status met = collective->rendezvous(id); !met.ok()) {
    return met;
  }
  collective->device_ = options.device >= 0 ? options.device : collective->local_rank_ % devices;
  if (collective->device_ >= devices) {
    return invalidArgument("collective.nccl: device " + std::to_string(collective->device_) +
                           " does not exist: this host has " + std::to_string(devices));
  }
  if (Status connected = collective->connect(id); !connected.ok()) {
    return connected;
  }
  return collective;
}

Status NcclCollective::rendezvous(ncclUniqueId& id) {
  const bool use_mpi =
      options_.rendezvous == "mpi" ||
      (options_.rendezvous == "auto" && startedByMpiLauncher() && options_.rendezvous_dir.empty());
  if (use_mpi) {
#ifdef AIMASS_NCCL_WITH_MPI
    MpiCollectiveOptions mpi_options;
    mpi_options.timeout = options_.timeout;
    auto mpi = MpiCollective::create(mpi_options);
    if (!mpi.ok()) {
      return mpi.status();
    }
    mpi_ = std::move(mpi).value();
    rank_ = mpi_->rank();
    size_ = mpi_->size();
    local_rank_ = mpi_->localRank();
    if (rank_ == 0) {
      if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
        return unavailable("collective.nccl: ncclGetUniqueId failed: " + ncclText(r));
      }
    }
    return mpi_->broadcast(std::as_writable_bytes(std::span(&id, 1)), 0);
#else
    return failedPrecondition(
        "collective.nccl: rendezvous 'mpi' needs the plugin built with MPI (libopenmpi-dev); "
        "use rendezvous: file with a rendezvous_dir that every rank shares");
#endif
  }
  rank_ = envInt({"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "RANK"});
  size_ = envInt({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS", "WORLD_SIZE"});
  if (rank_ < 0 && size_ < 0) {
    rank_ = 0;  // started alone
    size_ = 1;
  }
  if (size_ < 1 || rank_ < 0 || rank_ >= size_) {
    return invalidArgument("collective.nccl: the launcher's environment gives rank " +
                           std::to_string(rank_) + " of " + std::to_string(size_) +
                           ", which is not a rank (set OMPI_COMM_WORLD_RANK/_SIZE, PMI_RANK/"
                           "PMI_SIZE, SLURM_PROCID/SLURM_NTASKS or RANK/WORLD_SIZE)");
  }
  local_rank_ =
      envInt({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"});
  if (local_rank_ < 0) local_rank_ = rank_;
  if (rank_ == 0) {
    if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
      return unavailable("collective.nccl: ncclGetUniqueId failed: " + ncclText(r));
    }
  }
  if (size_ == 1 && options_.rendezvous_dir.empty()) {
    return Status();  // a job of one rank has no one to tell
  }
  if (options_.rendezvous_dir.empty()) {
    return invalidArgument("collective.nccl: " + std::to_string(size_) +
                           " ranks meeting through a file need rendezvous_dir, a folder every "
                           "rank shares (or rendezvous: mpi)");
  }
  RendezvousFile file(options_.rendezvous_dir,
                      "nccl-unique-id-" + rendezvousKey(options_.rendezvous_key));
  if (rank_ == 0) {
    return file.publish(std::string_view(reinterpret_cast<const char*>(&id), sizeof id));
  }
  auto bytes = file.await(sizeof id, options_.timeout);
  if (!bytes.ok()) {
    return bytes.status();
  }
  std::memcpy(&id, bytes->data(), sizeof id);
  return Status();
}

Status NcclCollective::connect(const ncclUniqueId& id) {
  if (cudaError_t error = cudaSetDevice(device_); error != cudaSuccess) {
    return unavailable("collective.nccl: cudaSetDevice(" + std::to_string(device_) +
                       ") failed: " + cudaText(error));
  }
  if (cudaError_t error = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
      error != cudaSuccess) {
    return unavailable("collective.nccl: cudaStreamCreate failed: " + cudaText(error));
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // so that a rank that never joins times out instead of hanging
  const ncclResult_t started = ncclCommInitRankConfig(&comm_, size_, id, rank_, &config);
  Status joined = waitForLaunch(started, "creating the communicator (ncclCommInitRank)");
  if (!joined.ok()) {
    return joined;
  }
  if (rank_ == 0 && !options_.rendezvous_dir.empty()) {
    // Every rank has read the id: NCCL's communicator needs them all.
    RendezvousFile(options_.rendezvous_dir,
                   "nccl-unique-id-" + rendezvousKey(options_.rendezvous_key))
        .remove();
  }
  return Status();
}

NcclCollective::~NcclCollective() {
  if (comm_ != nullptr) {
    ncclCommDestroy(comm_);  // a broken collective aborted it already (onBroken)
  }
  if (buffer_ != nullptr) cudaFree(buffer_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void NcclCollective::onBroken() {
  if (comm_ != nullptr) {
    ncclCommAbort(comm_);  // frees what the pending operations hold; the comm is unusable
    comm_ = nullptr;
  }
}

// In non-blocking mode NCCL calls may return ncclInProgress until the communicator has
// finished the call's setup (or, for the init, until every rank joined).
Status NcclCollective::waitForLaunch(ncclResult_t launched, const std::string& what) {
  ncclResult_t state = launched;
  return pollUntilDone(what, options_.timeout, [&]() -> std::optional<Status> {
    if (state == ncclInProgress) {
      if (ncclResult_t r = ncclCommGetAsyncError(comm_, &state); r != ncclSuccess) state = r;
    }
    if (state == ncclInProgress) return std::nullopt;
    if (state == ncclSuccess) return Status();
    return fail(
        unavailable(what + " failed on rank " + std::to_string(rank_) + ": " + ncclText(state)));
  });
}

Status NcclCollective::waitForStream(const std::string& what) {
  return pollUntilDone(what, options_.timeout, [&]() -> std::optional<Status> {
    const cudaError_t state = cudaStreamQuery(stream_);
    if (state == cudaSuccess) return Status();
    if (state != cudaErrorNotReady) {
      return fail(
          unavailable(what + " failed on rank " + std::to_string(rank_) + ": " + cudaText(state)));
    }
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      return fail(
          unavailable(what + " failed on rank " + std::to_string(rank_) + ": " + ncclText(async)));
    }
    return std::nullopt;
  });
}

Status NcclCollective::run(const std::string& what, const void* in, std::size_t in_bytes, void* out,
                           std::size_t out_bytes,
                           const std::function<ncclResult_t(void*)>& launch) {
  cudaSetDevice(device_);
  const std::size_t needed = std::max(in_bytes, out_bytes);
  if (needed > buffer_bytes_) {
    if (buffer_ != nullptr) cudaFree(buffer_);
    buffer_ = nullptr;
    buffer_bytes_ = 0;
    if (cudaError_t error = cudaMalloc(&buffer_, needed); error != cudaSuccess) {
      return resourceExhausted("collective.nccl: " + what + ": cannot allocate " +
                               std::to_string(needed) + " bytes on device " +
                               std::to_string(device_) + ": " + cudaText(error));
    }
    buffer_bytes_ = needed;
  }
  cudaMemcpyAsync(buffer_, in, in_bytes, cudaMemcpyHostToDevice, stream_);
  if (Status launched = waitForLaunch(launch(buffer_), what); !launched.ok()) {
    return launched;
  }
  cudaMemcpyAsync(out, buffer_, out_bytes, cudaMemcpyDeviceToHost, stream_);
  return waitForStream(what);
}

Status NcclCollective::reduceInPlace(void* data, std::size_t count, ElementType type, ReduceOp op,
                                     const std::string& what) {
  auto nccl_op = nativeReduceOp<ncclRedOp_t>(op, ncclSum, ncclMax, ncclMin);
  if (!nccl_op.ok()) {
    return nccl_op.status();
  }
  const bool fp32 = type == ElementType::kFloat32;
  const std::size_t bytes = count * (fp32 ? sizeof(float) : sizeof(double));
  return run(what, data, bytes, data, bytes, [&](void* device) {
    return ncclAllReduce(device, device, count, fp32 ? ncclFloat32 : ncclFloat64, *nccl_op, comm_,
                         stream_);
  });
}

Status NcclCollective::broadcastBytes(std::span<std::byte> data, int root,
                                      const std::string& what) {
  return run(what, data.data(), data.size(), data.data(), data.size(), [&](void* device) {
    return ncclBroadcast(device, device, data.size(), ncclUint8, root, comm_, stream_);
  });
}

Status NcclCollective::allgatherBytes(std::span<const std::byte> mine, std::span<std::byte> all,
                                      const std::string& what) {
  // This rank's bytes go to their own place in the device buffer (in-place all-gather).
  const std::size_t offset = static_cast<std::size_t>(rank_) * mine.size();
  std::memcpy(all.data() + offset, mine.data(), mine.size());
  return run(what, all.data(), all.size(), all.data(), all.size(), [&](void* device) {
    auto* base = static_cast<std::byte*>(device);
    return ncclAllGather(base + offset, base, mine.size(), ncclUint8, comm_, stream_);
  });
}

Status NcclCollective::barrierOnce(const std::string& what) {
  float token = 0.0f;
  return run(what, &token, sizeof token, &token, sizeof token, [&](void* device) {
    return ncclAllReduce(device, device, 1, ncclFloat32, ncclSum, comm_, stream_);
  });
}

}  // namespace aimass::plugins::collective
