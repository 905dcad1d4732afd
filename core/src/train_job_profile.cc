// SPDX-License-Identifier: Apache-2.0
// job.train's training-data profile (data_profile.h): made from the training rows, saved
// beside the artifact, handed to serving for input validation.
#include "aimass/core/graph.h"
#include "aimass/core/model_artifact.h"
#include "train_job.h"

namespace aimass::core {

void TrainJob::profileTraining(Host& host, const std::vector<std::uint64_t>& rows) {
  profile_.reset();
  profile_key_.clear();
  if (!parallel_->leader()) {
    return;
  }
  auto profile = profileRows(*targets_.dataset, rows);
  if (!profile.ok()) {
    host.log(LogLevel::kInfo, name_,
             "no training-data profile for model '" + targets_.model_name +
                 "' (input validation will not apply): " + profile.status().message());
    return;
  }
  host.log(LogLevel::kInfo, name_,
           "profiled " + std::to_string(profile->rows) + " training rows of " +
               std::to_string(profile->features.size()) + " features for input validation");
  profile_ = std::make_shared<const DataProfile>(std::move(profile).value());
}

Expected<std::string> TrainJob::saveProfile(const std::string& key) {
  profile_key_.clear();
  if (!profile_) {
    return std::string();
  }
  const std::string profile_key = dataProfileKey(key);
  AIMASS_RETURN_IF_ERROR(writeBlob(*targets_.storage, profile_key, encodeDataProfile(*profile_))
                             .withContext("saving the training-data profile to '" + profile_key +
                                          "' in " + targets_.storage->describe()));
  tracker_.artifact("profile", profile_key);
  return profile_key;
}

std::map<std::string, std::shared_ptr<const DataProfile>> trainedProfiles(const Graph& graph) {
  std::map<std::string, std::shared_ptr<const DataProfile>> out;
  for (const GraphNode& node : graph.nodes()) {
    if (const auto* job = dynamic_cast<const TrainJob*>(node.instance.get())) {
      if (job->profile()) {
        out[job->modelName()] = job->profile();
      }
    }
  }
  return out;
}

}  // namespace aimass::core
