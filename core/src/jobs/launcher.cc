// SPDX-License-Identifier: Apache-2.0
#include "jobs/launcher.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "aimass/core/graph.h"
#include "aimass/core/type_registry.h"
#include "record_text.h"

namespace aimass::core::jobs {
namespace {

constexpr const char* kMpiCollective = "collective.mpi";

bool isExecutableFile(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

/// The parent of `pid` (field 4 of /proc/PID/stat, after the command's parenthesis); 0 when
/// it cannot be read.
pid_t parentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 1));
  std::string state;
  pid_t parent = 0;
  rest >> state >> parent;
  return parent;
}

}  // namespace

Resources rankTotal(const Resources& per_rank, std::int64_t ranks) {
  return {per_rank.threads * ranks, per_rank.memory_bytes * ranks, per_rank.gpus * ranks};
}

Expected<std::filesystem::path> findMpiexec(const std::string& configured) {
  if (!configured.empty()) {
    if (!isExecutableFile(configured)) {
      return notFound("the MPI launcher '" + configured + "' is not an executable file");
    }
    return std::filesystem::path(configured);
  }
  const char* path = std::getenv("PATH");
  std::istringstream folders(path == nullptr ? "" : path);
  std::string folder;
  while (std::getline(folders, folder, ':')) {
    if (folder.empty()) continue;
    for (const char* name : {"mpirun", "mpiexec"}) {
      const std::filesystem::path candidate = std::filesystem::path(folder) / name;
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return std::filesystem::path();
}

std::vector<std::string> mpirunPrefix(const std::filesystem::path& mpiexec, std::int64_t ranks,
                                      std::int64_t slots) {
  std::vector<std::string> words = {mpiexec.string(), "-np", std::to_string(ranks)};
  if (ranks > slots) words.push_back("--oversubscribe");
  // A rank runs the job's threads: Open MPI's default binding would pin it to one core.
  words.insert(words.end(), {"--bind-to", "none"});
  return words;
}

Status checkLauncher(std::int64_t ranks, const std::filesystem::path& mpiexec) {
  if (ranks < 1) {
    return invalidArgument("a job needs at least 1 rank, not " + std::to_string(ranks));
  }
  if (ranks > 1 && mpiexec.empty()) {
    return failedPrecondition("the job asks for " + std::to_string(ranks) +
                              " ranks but the job service found no MPI launcher (no mpirun or "
                              "mpiexec on PATH; set service.jobs' mpirun: to its path)");
  }
  return okStatus();
}

Status checkDistributedGraph(std::int64_t ranks, const Graph& graph, const TypeRegistry& registry) {
  if (ranks <= 1) return okStatus();
  const std::string asks = "the job asks for " + std::to_string(ranks) + " ranks but ";
  if (registry.find(kMpiCollective) == nullptr) {
    return failedPrecondition(asks + "the job service has no " + kMpiCollective +
                              " (its plugin is not loaded: aimass was built without MPI, or "
                              "plugins/collective/mpi is not on the plugin path)");
  }
  std::vector<std::string> collectives;
  for (const GraphNode& node : graph.nodes()) {
    if (node.type->type.type == kMpiCollective) collectives.push_back(node.decl.name);
  }
  for (const GraphNode& node : graph.nodes()) {
    if (node.type->type.kind != NodeKind::kJob) continue;
    for (const auto& [param, names] : node.refs) {
      for (const std::string& name : names) {
        for (const std::string& collective : collectives) {
          if (name == collective) return okStatus();
        }
      }
    }
  }
  return failedPrecondition(
      asks +
      (collectives.empty() ? std::string("its graph has no ") + kMpiCollective + " node"
                           : "no job of its graph references its " + std::string(kMpiCollective) +
                                 " node '" + collectives.front() + "'") +
      ": every rank would run the whole job alone (give job.train `collective:` a "
      "collective.mpi node, see docs/distributed.md)");
}

bool isRankOfSeveral() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && record::parseInt(value).value_or(0) > 1) return true;
  }
  return false;
}

bool isRankOfSeveralOnOneNode() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (size == nullptr || local == nullptr) return false;
  const std::int64_t world = record::parseInt(size).value_or(0);
  return world > 1 && record::parseInt(local).value_or(0) == world;
}

bool isMpiRankOf(pid_t ancestor) {
  if (!isRankOfSeveral() || ancestor <= 1) return false;
  for (pid_t pid = getppid(); pid > 1; pid = parentOf(pid)) {
    if (pid == ancestor) return true;
  }
  return false;
}

}  // namespace aimass::core::jobs
