// SPDX-License-Identifier: Apache-2.0
#include "retrain_job.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "aimass/host.h"

namespace aimass::core {

std::vector<ParamSpec> retrainJobParams() {
  return {
      ParamSpec::string("queue", "The job service queue retrainings go to.")
          .withDefault(std::string("default")),
      ParamSpec::integer("retrain_threads", "Threads a retraining job asks for.")
          .atLeast(1)
          .withDefault(std::int64_t{1}),
  };
}

Expected<RetrainGraph> readRetrainGraph(const NodeConfig& config, const std::string& given) {
  std::filesystem::path path(given);
  if (path.is_relative()) path = config.host().baseDir() / path;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return invalidArgument("retrain_graph '" + path.string() + "' cannot be read or is empty");
  }
  return RetrainGraph{text.str(), path.string()};
}

}  // namespace aimass::core
