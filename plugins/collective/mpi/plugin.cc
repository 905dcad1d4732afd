// SPDX-License-Identifier: Apache-2.0
// collective.mpi: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "mpi_collective.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("collective.mpi registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "collective.mpi";
    type.kind = aimass::NodeKind::kCollective;
    type.summary =
        "The ranks of an MPI job (Open MPI's mpirun, Slurm's srun, a Kubernetes MPIJob) for "
        "data-parallel training on CPUs";
    type.params.push_back(
        ParamSpec::number("timeout_seconds",
                          "The most any operation (all-reduce, broadcast, all-gather, barrier, "
                          "and creating the communicator) waits for the other ranks. After it "
                          "the operation fails naming itself and this rank, and every later "
                          "call fails at once: a rank that died or hangs stops the job instead "
                          "of hanging it. Allow for the slowest step between two calls (a "
                          "validation pass, a checkpoint written by rank 0).")
            .withDefault(300.0)
            .range(0.001, 604800));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::collective::MpiCollectiveOptions options;
      options.timeout = std::chrono::duration<double>(config.getFloat("timeout_seconds"));
      auto collective = aimass::plugins::collective::MpiCollective::create(options);
      if (!collective.ok()) {
        return collective.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(collective).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("collective.mpi", "1.0.0", "Collective operations over MPI (Open MPI)",
              &registerTypes)
