// SPDX-License-Identifier: Apache-2.0
#include "version_runs.h"

#include <charconv>

#include "aimass/core/registry.h"
#include "record_text.h"

namespace aimass::core {

std::string versionRunKey(const std::string& model, std::int64_t version) {
  return "tracking/model-runs/" + model + "/" + record::versionSegment(version);
}

Status recordVersionRun(Storage& storage, const std::string& model, std::int64_t version,
                        std::int64_t run) {
  const std::string key = versionRunKey(model, version);
  return storage.put(key, std::to_string(run))
      .withContext("recording the run of " + model + " version " + std::to_string(version) +
                   " at '" + key + "' in " + storage.describe());
}

Expected<std::int64_t> versionRun(Storage& storage, const std::string& model,
                                  std::int64_t version) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry(storage).getVersion(model, version).status());
  const std::string key = versionRunKey(model, version);
  auto text = storage.get(key);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return notFound("version " + std::to_string(version) + " of model '" + model +
                      "' has no recorded training run (it was registered without run tracking, "
                      "or before job.train recorded its run)");
    }
    return text.status().withContext("reading '" + key + "' in " + storage.describe());
  }
  std::int64_t run = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), run);
  if (error != std::errc() || end != text->data() + text->size() || run < 1) {
    return dataLoss("'" + key + "' in " + storage.describe() + " is not a run id");
  }
  return run;
}

}  // namespace aimass::core
