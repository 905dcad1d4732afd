// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/status.h"

namespace aimass::core {

/// What the environment tells about an MPI launcher (mpirun, srun, an MPIJob) that started
/// this process as one of several ranks.
struct LauncherWorld {
  /// The variable that told it: "OMPI_COMM_WORLD_SIZE=2", "PMI_SIZE=4", "PMIX_RANK=1".
  std::string evidence;
  /// The number of ranks; 0 when only a rank above 0 was seen (PMIx gives no size).
  int size = 0;
};

/// Reads an environment variable; null when unset (std::getenv by default).
using EnvLookup = std::function<const char*(const char* name)>;

/// The launcher that started this process as one rank of several: OMPI_COMM_WORLD_SIZE (Open
/// MPI) or PMI_SIZE (MPICH's Hydra, Slurm's PMI) above 1, or PMIX_RANK above 0. nullopt for a
/// process started alone, or as the only rank.
std::optional<LauncherWorld> launcherWorld(const EnvLookup& env);

/// Refuses to run a graph as N independent copies: when `world` says this process is one of
/// several ranks but `collective_types` (the types of the graph's collective nodes) holds no
/// distributed one (anything but collective.local), kFailedPrecondition saying so, and, when
/// `mpi_plugin_loaded` is false, that this aimass has no collective.mpi plugin (it was built
/// without MPI). OK otherwise.
Status checkLauncherWorld(const std::optional<LauncherWorld>& world,
                          const std::vector<std::string>& collective_types, bool mpi_plugin_loaded);

/// checkLauncherWorld() for `graph` in this process's environment. Runtime::run() calls it
/// before creating any node.
Status checkLauncherEnvironment(const Graph& graph, const EnvLookup& env = {});

}  // namespace aimass::core
