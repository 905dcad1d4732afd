// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "aimass/status.h"

namespace aimass::plugins::collective {

/// MPI's per-process state: MPI may be initialised once per process and finalised once, but
/// the host may create and destroy several collective.mpi nodes (a graph, then `aimass eval`'s
/// second graph), so the first node initialises MPI and the process finalises it at exit.
///
/// The host opens plugins with RTLD_LOCAL, which hides libmpi's symbols from the components
/// Open MPI itself dlopen()s (mca_*.so) during MPI_Init; ensureInitialised() first re-opens
/// the libmpi this plugin is linked to with RTLD_GLOBAL (RTLD_NOLOAD: the same copy), found
/// by dladdr() on MPI_Init. The plugin is linked with -z nodelete so that the exit handler
/// that calls MPI_Finalize stays mapped after the host unloads the plugin.
///
/// Threading: ensureInitialised() is safe from any thread (std::call_once); MPI is asked for
/// MPI_THREAD_MULTIPLE and must give at least MPI_THREAD_SERIALIZED, because the trainer may
/// call the collective from a thread other than the one that created the node.
class MpiProcess {
 public:
  /// Initialises MPI unless it already is (by us or by the program embedding the host).
  /// The same Status on every call: an error names what failed (libmpi not found again, the
  /// thread level Open MPI gave).
  static Status ensureInitialised();
  /// After a collective broke (a rank did not join in time), MPI_Finalize could wait forever
  /// for the operations still pending; the exit handler then leaves MPI unfinalised and the
  /// launcher ends the other ranks.
  static void skipFinalize();
};

}  // namespace aimass::plugins::collective
