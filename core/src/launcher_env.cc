// SPDX-License-Identifier: Apache-2.0
#include "launcher_env.h"

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace aimass::core {
namespace {

std::optional<int> readInt(const EnvLookup& env, const char* name) {
  const char* text = env(name);
  if (text == nullptr) {
    return std::nullopt;
  }
  const std::string_view value(text);
  int number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size()) {
    return std::nullopt;
  }
  return number;
}

}  // namespace

std::optional<LauncherWorld> launcherWorld(const EnvLookup& env) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (auto size = readInt(env, name); size && *size > 1) {
      return LauncherWorld{std::string(name) + "=" + std::to_string(*size), *size};
    }
  }
  if (auto rank = readInt(env, "PMIX_RANK"); rank && *rank > 0) {
    return LauncherWorld{"PMIX_RANK=" + std::to_string(*rank), 0};
  }
  return std::nullopt;
}

Status checkLauncherWorld(const std::optional<LauncherWorld>& world,
                          const std::vector<std::string>& collective_types,
                          bool mpi_plugin_loaded) {
  if (!world) {
    return Status();
  }
  for (const std::string& type : collective_types) {
    if (type != "collective.local") {
      return Status();
    }
  }
  const std::string ranks =
      world->size > 0 ? "one of " + std::to_string(world->size) + " ranks" : "one of several ranks";
  std::string message = "aimass was started by an MPI launcher as " + ranks + " (" +
                        world->evidence +
                        "), but the configuration has no distributed collective, so every rank "
                        "would run the same jobs on its own. ";
  if (mpi_plugin_loaded) {
    message +=
        "Add a node of type collective.mpi for the jobs to use, or run aimass without the "
        "launcher.";
  } else {
    message +=
        "This aimass has no collective.mpi plugin either: it was built without MPI (install "
        "libopenmpi-dev and openmpi-bin, configure again and rebuild), or the plugin folder "
        "is not where aimass looks. Run aimass without the launcher meanwhile.";
  }
  return failedPrecondition(message);
}

Status checkLauncherEnvironment(const Graph& graph, const EnvLookup& env) {
  const EnvLookup lookup =
      env ? env : [](const char* name) -> const char* { return std::getenv(name); };
  std::vector<std::string> collective_types;
  for (const GraphNode& node : graph.nodes()) {
    if (node.type != nullptr && node.type->type.kind == NodeKind::kCollective) {
      collective_types.push_back(node.type->type.type);
    }
  }
  return checkLauncherWorld(launcherWorld(lookup), collective_types,
                            graph.registry().find("collective.mpi") != nullptr);
}

}  // namespace aimass::core
