// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "aimass/host.h"
#include "aimass/http.h"

namespace aimass::plugins::frontend {

/// The host's model registry, dataset registry and tracking (Host::registry(), datasets(),
/// tracking(); aimass/registry_service.h) as HTTP routes under /api/v1 (docs/rest-api.md):
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
///   GET    /api/v1/jobs                                   jobs list --json; query state,
///                                                         queue, owner
///   POST   /api/v1/jobs                                   body {"config": YAML, "queue",
///                                                         "priority", "threads", "memory",
///                                                         "gpus", "preemptible"}: 201
///   GET    /api/v1/jobs/{id}                              jobs show ID --json
///   POST   /api/v1/jobs/{id}/cancel                       its owner or an admin
///   GET    /api/v1/jobs/{id}/log                          text; query bytes
///   GET    /api/v1/queues                                 the job service's queues
///
/// Reads need Role::kReader, changes Role::kOperator. Bodies of reads are exactly what the
/// CLI prints with --json (both written by aimass/util/registry_json.h). Errors are
/// {"error": "..."}: 400 for a bad body, query parameter, name or number (naming it), 404 for
/// an unknown model, version, alias, dataset, run or experiment, 409 for a refused change
/// (deleting a version an alias points at without force, a rollback with no earlier target),
/// else httpStatusFor().
///
/// The job routes (Host::jobs()): a graph that does not validate is a 400 with its FILE:LINE:COL
/// errors, and so is a job asking for more than its queue could ever give.
/// Only the routes of the services the host offers are returned (none when it offers none).
/// Lifetime: the handlers keep pointers to the host's services, which outlive the frontend.
/// Threading: handlers may run concurrently. `owner` is recorded as each route's owner.
std::vector<Route> registryRoutes(Host& host, const std::string& owner);

}  // namespace aimass::plugins::frontend
