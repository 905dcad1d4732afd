// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/http.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// The model registry, dataset registry and tracking of `storage` as HTTP routes under
/// /api/v1, for the frontends to serve (see docs/rest-api.md):
///
///   GET    /api/v1/models                                 models list --json
///   GET    /api/v1/models/{name}                          models show NAME --json
///   GET    /api/v1/models/{name}/versions/{version}       models show NAME/VERSION --json
///   DELETE /api/v1/models/{name}/versions/{version}       ?force=true also deletes its aliases
///   PUT    /api/v1/models/{name}/versions/{version}/tags  body {"KEY": "VALUE", ...}: the tags
///   PATCH  /api/v1/models/{name}/versions/{version}/tags  body {"set": {...}, "remove": [...]}
///   POST   /api/v1/models/{name}/aliases/{alias}          body {"version": N}: promote
///   POST   /api/v1/models/{name}/aliases/{alias}/rollback
///   GET    /api/v1/datasets[/{name}[/versions/{version}]] datasets list|show --json
///   GET    /api/v1/runs                                   runs list --json; query experiment,
///                                                         filter, status, sort, desc, limit
///   GET    /api/v1/runs/{id}                              runs show ID --json
///
/// Reads need Role::kReader, changes Role::kOperator. Bodies of reads are exactly what the
/// CLI prints with --json. Errors are {"error": "..."}: 400 for a bad body, query parameter,
/// name or number (naming it), 404 for an unknown model, version, alias, dataset, run or
/// experiment, 409 for a refused change (deleting a version an alias points at without force,
/// a rollback with no earlier target), else httpStatusFor().
///
/// Lifetime: the handlers keep a reference to `storage`, which must outlive every frontend
/// serving them. Threading: handlers may run concurrently (the registry and tracking are
/// written for concurrent processes). `owner` is recorded as each route's owner.
std::vector<Route> registryApiRoutes(Storage& storage, const std::string& owner);

/// The storage node whose registry a graph's frontends serve under /api/v1: the storage that
/// the first frontend naming one in its `repository` parameter names, else the graph's only
/// storage node. nullptr when the graph has no frontend, no storage node, or several storage
/// nodes and no frontend `repository` (the reason is written to `why`).
const GraphNode* apiStorageNode(const Graph& graph, std::string& why);

}  // namespace aimass::core
