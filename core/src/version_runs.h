// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include "aimass/status.h"
#include "aimass/storage.h"

/// Which tracked run trained a registered model version. job.train records it when it registers
/// a version from a tracked run, at `tracking/model-runs/<model>/<version>` (the run id as
/// decimal text), and `GET /api/v1/models/{name}/versions/{version}/run` reads it: a version's
/// lineage without searching the runs for the one whose artifact names it.
///
/// Threading: stateless functions over `storage`, whose methods are thread-safe.
namespace aimass::core {

/// The key of version `version` of `model`.
std::string versionRunKey(const std::string& model, std::int64_t version);

/// Records that run `run` trained `version` of `model` (one put; a later record replaces it).
Status recordVersionRun(Storage& storage, const std::string& model, std::int64_t version,
                        std::int64_t run);

/// The run that trained `version` of `model`: kNotFound for an unknown model or version (the
/// registry's error) or a version with no recorded run (registered without tracking, or before
/// runs were recorded), saying which; kDataLoss naming the key of a record that is no run id.
Expected<std::int64_t> versionRun(Storage& storage, const std::string& model, std::int64_t version);

}  // namespace aimass::core
