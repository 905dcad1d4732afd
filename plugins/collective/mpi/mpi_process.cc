// SPDX-License-Identifier: Apache-2.0
#include "mpi_process.h"

#include <dlfcn.h>
#include <mpi.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

namespace aimass::plugins::collective {
namespace {

std::atomic<bool> g_skip_finalize{false};

void finalizeAtExit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && !g_skip_finalize.load()) {
    MPI_Finalize();
  }
}

// Makes libmpi's symbols global for the mca_*.so components MPI_Init loads. The handle is
// kept for the life of the process (it only raises the library's reference count).
Status makeLibmpiGlobal() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&MPI_Init), &info) == 0 || info.dli_fname == nullptr) {
    return internalError("collective.mpi: cannot find the file of libmpi (dladdr on MPI_Init)");
  }
  if (dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == nullptr) {
    const char* why = dlerror();
    return internalError(std::string("collective.mpi: cannot re-open ") + info.dli_fname +
                         " with RTLD_GLOBAL: " + (why != nullptr ? why : "unknown error"));
  }
  return Status();
}

Status initialise() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    if (provided < MPI_THREAD_SERIALIZED) {
      return failedPrecondition(
          "collective.mpi: MPI was initialised by the program with thread level " +
          std::to_string(provided) + "; the collective needs MPI_THREAD_SERIALIZED or more");
    }
    return Status();  // not ours to finalise
  }
  if (Status global = makeLibmpiGlobal(); !global.ok()) {
    return global;
  }
  int provided = MPI_THREAD_SINGLE;
  const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  if (rc != MPI_SUCCESS) {
    return unavailable("collective.mpi: MPI_Init_thread failed with error " + std::to_string(rc));
  }
  std::atexit(&finalizeAtExit);
  if (provided < MPI_THREAD_SERIALIZED) {
    return failedPrecondition("collective.mpi: this MPI library gives thread level " +
                              std::to_string(provided) +
                              "; the collective needs MPI_THREAD_SERIALIZED or more");
  }
  return Status();
}

}  // namespace

Status MpiProcess::ensureInitialised() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] { result = initialise(); });
  return result;
}

void MpiProcess::skipFinalize() { g_skip_finalize.store(true); }

}  // namespace aimass::plugins::collective
