// SPDX-License-Identifier: Apache-2.0
// collective.nccl: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "nccl_collective.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("collective.nccl registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "collective.nccl";
    type.kind = aimass::NodeKind::kCollective;
    type.summary = "NCCL among one CUDA GPU per rank, for data-parallel training on GPUs";
    type.params.push_back(
        ParamSpec::number("timeout_seconds",
                          "The most any operation, the rendezvous and creating the "
                          "communicator wait for the other ranks. After it the communicator is "
                          "aborted, the operation fails naming itself and this rank, and every "
                          "later call fails at once.")
            .withDefault(300.0)
            .range(0.001, 604800));
    type.params.push_back(
        ParamSpec::string("rendezvous",
                          "How the ranks meet and share NCCL's unique id. mpi: through MPI "
                          "(rank, size and local rank from MPI; needs the plugin built with "
                          "MPI and an MPI launcher). file: rank 0 writes the id into "
                          "rendezvous_dir and the others wait for it. auto: mpi when started "
                          "by an MPI launcher and no rendezvous_dir is given, else file.")
            .withDefault("auto")
            .oneOf({"auto", "mpi", "file"}));
    type.params.push_back(
        ParamSpec::path("rendezvous_dir",
                        "A folder every rank can read and rank 0 can write (on several hosts, "
                        "a shared file system), for the file rendezvous. A job of one rank "
                        "needs none.")
            .optional());
    type.params.push_back(
        ParamSpec::string("rendezvous_key",
                          "Names this job's id file (nccl-unique-id-KEY) so that jobs sharing "
                          "the folder do not meet each other. Empty: the launcher's job id "
                          "(PMIX_NAMESPACE, SLURM_JOB_ID.SLURM_STEP_ID), else 'job'.")
            .withDefault(""));
    type.params.push_back(
        ParamSpec::integer("device",
                           "The CUDA device of this rank. -1: the local rank modulo the number "
                           "of devices, so ranks on one host take one GPU each.")
            .withDefault(-1)
            .atLeast(-1));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::collective::NcclCollectiveOptions options;
      options.timeout = std::chrono::duration<double>(config.getFloat("timeout_seconds"));
      options.rendezvous = config.getString("rendezvous");
      if (config.has("rendezvous_dir")) {
        options.rendezvous_dir = config.getPath("rendezvous_dir");
      }
      options.rendezvous_key = config.getString("rendezvous_key");
      options.device = static_cast<int>(config.getInt("device"));
      auto collective = aimass::plugins::collective::NcclCollective::create(options);
      if (!collective.ok()) {
        return collective.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(collective).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("collective.nccl", "1.0.0", "Collective operations over NCCL (CUDA GPUs)",
              &registerTypes)
