// SPDX-License-Identifier: Apache-2.0
#include "mpi_collective.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "mpi_process.h"
#include "reduce_op.h"

namespace aimass::plugins::collective {
namespace {

// MPI counts are ints: larger buffers go in chunks of at most this many elements.
constexpr std::size_t kMaxChunk = static_cast<std::size_t>(INT_MAX);

std::string mpiError(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(std::max(length, 0)));
}

}  // namespace

Expected<std::unique_ptr<MpiCollective>> MpiCollective::create(
    const MpiCollectiveOptions& options) {
  if (!(options.timeout.count() > 0)) {
    return invalidArgument("collective.mpi: timeout_seconds must be positive");
  }
  if (Status init = MpiProcess::ensureInitialised(); !init.ok()) {
    return init;
  }
  std::unique_ptr<MpiCollective> collective(new MpiCollective(options));
  if (Status connected = collective->connect(); !connected.ok()) {
    return connected;
  }
  return collective;
}

Status MpiCollective::connect() {
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  // The duplicate is collective over every rank: non-blocking, so a rank that never creates
  // its node fails this one after the timeout instead of hanging it.
  MPI_Request request = MPI_REQUEST_NULL;
  const int rc = MPI_Comm_idup(MPI_COMM_WORLD, &comm_, &request);
  if (Status joined = started(rc, request, "creating the communicator (MPI_Comm_idup)");
      !joined.ok()) {
    comm_ = MPI_COMM_NULL;
    return joined;
  }
  // Errors come back as codes (named in the Status) instead of aborting the job.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  // Every rank has joined by now, so the blocking split cannot wait for an absent one.
  MPI_Comm local = MPI_COMM_NULL;
  if (int split = MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
      split != MPI_SUCCESS) {
    return fail(unavailable("MPI_Comm_split_type failed: " + mpiError(split)));
  }
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_free(&local);
  return Status();
}

MpiCollective::~MpiCollective() {
  if (comm_ != MPI_COMM_NULL && !broken()) {
    MPI_Comm_free(&comm_);
  }
}

void MpiCollective::onBroken() { MpiProcess::skipFinalize(); }

Status MpiCollective::wait(MPI_Request& request, const std::string& what) {
  return pollUntilDone(what, options_.timeout, [&]() -> std::optional<Status> {
    int done = 0;
    if (const int rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE); rc != MPI_SUCCESS) {
      return fail(
          unavailable(what + " failed on rank " + std::to_string(rank_) + ": " + mpiError(rc)));
    }
    return done ? std::optional<Status>(Status()) : std::nullopt;
  });
}

Status MpiCollective::started(int rc, MPI_Request& request, const std::string& what) {
  if (rc != MPI_SUCCESS) {
    return fail(
        unavailable(what + " failed on rank " + std::to_string(rank_) + ": " + mpiError(rc)));
  }
  return wait(request, what);
}

Status MpiCollective::inChunks(std::size_t count, const std::string& what,
                               const std::function<int(std::size_t, int, MPI_Request&)>& start) {
  for (std::size_t done = 0; done < count;) {
    const std::size_t chunk = std::min(count - done, kMaxChunk);
    MPI_Request request = MPI_REQUEST_NULL;
    const int rc = start(done, static_cast<int>(chunk), request);
    if (Status joined = started(rc, request, what); !joined.ok()) {
      return joined;
    }
    done += chunk;
  }
  return Status();
}

Status MpiCollective::reduceInPlace(void* data, std::size_t count, ElementType type, ReduceOp op,
                                    const std::string& what) {
  auto mpi_op = nativeReduceOp<MPI_Op>(op, MPI_SUM, MPI_MAX, MPI_MIN);
  if (!mpi_op.ok()) {
    return mpi_op.status();
  }
  const bool fp32 = type == ElementType::kFloat32;
  const MPI_Datatype mpi_type = fp32 ? MPI_FLOAT : MPI_DOUBLE;
  const std::size_t element_size = fp32 ? sizeof(float) : sizeof(double);
  auto* bytes = static_cast<char*>(data);
  return inChunks(count, what, [&](std::size_t offset, int chunk, MPI_Request& request) {
    return MPI_Iallreduce(MPI_IN_PLACE, bytes + offset * element_size, chunk, mpi_type, *mpi_op,
                          comm_, &request);
  });
}

Status MpiCollective::broadcastBytes(std::span<std::byte> data, int root, const std::string& what) {
  return inChunks(data.size(), what, [&](std::size_t offset, int chunk, MPI_Request& request) {
    return MPI_Ibcast(data.data() + offset, chunk, MPI_BYTE, root, comm_, &request);
  });
}

Status MpiCollective::allgatherBytes(std::span<const std::byte> mine, std::span<std::byte> all,
                                     const std::string& what) {
  if (mine.size() > kMaxChunk) {
    return invalidArgument("collective.mpi: " + what + " is more than MPI's limit of " +
                           std::to_string(kMaxChunk) + " bytes a rank");
  }
  MPI_Request request = MPI_REQUEST_NULL;
  const int count = static_cast<int>(mine.size());
  const int rc =
      MPI_Iallgather(mine.data(), count, MPI_BYTE, all.data(), count, MPI_BYTE, comm_, &request);
  return started(rc, request, what);
}

Status MpiCollective::barrierOnce(const std::string& what) {
  MPI_Request request = MPI_REQUEST_NULL;
  return started(MPI_Ibarrier(comm_, &request), request, what);
}

}  // namespace aimass::plugins::collective
