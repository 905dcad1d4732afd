// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "aimass/host.h"
#include "aimass/storage.h"

namespace aimass::core {

/// Adds the routes that serve job.evaluate's recorded reports (evaluation_record.h) from
/// `storage`, the frontends' API storage, to the host's RouteTable, role reader:
///   GET /api/v1/runs/{id}/evaluation
///       the stored report (evaluationJson()) of run {id}; 400 for an id that is not a whole
///       number from 1, 404 when the run does not exist or has no evaluation, saying which.
///   GET /api/v1/models/{name}/versions/{version}/evaluations
///       {"evaluations": [{"run_id", "dataset", "dataset_version" (null when the data was not
///       a registered version), "unix_ms", "metrics": {NAME: number}}]}, newest first; 400 for
///       a bad name or version, 404 for an unknown model or version.
/// Other storage failures are 500s naming the key. Every error is {"error": "..."}.
/// A route that is already taken is logged as an error and left out; nothing fails.
/// Threading: call while the graph is set up, before frontends start; the handlers run on the
/// frontends' threads and share `storage`, whose methods are thread-safe.
void addEvaluationRoutes(Host& host, std::shared_ptr<Storage> storage);

}  // namespace aimass::core
