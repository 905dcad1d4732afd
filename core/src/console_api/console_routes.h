// SPDX-License-Identifier: Apache-2.0
// The read-only JSON API the web console needs beyond the frontends' own /api/v1 (docs/
// openapi.yaml): tuning studies, monitoring records, the loaded node types and a graph's static
// validation. Core adds these routes to the host's RouteTable (aimass/http.h) before the
// frontends start; a frontend serves them after its built-in routes and the registry's, so
// they must not take a pattern those use (none of them starts /api/v1/studies, /monitoring,
// /plugins or /graphs).
#pragma once

#include <filesystem>
#include <memory>

#include "aimass/host.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

class TypeRegistry;

/// What the console's routes read.
struct ConsoleApiSources {
  /// The node types loaded (GET /api/v1/plugins) and validated against (POST
  /// /api/v1/graphs/validate). Must outlive the routes (the graph's registry does).
  const TypeRegistry* types = nullptr;
  /// The graph's API storage (api_storage.h): the studies and monitoring records it holds.
  /// Null: the storage-backed routes are not added.
  std::shared_ptr<const Storage> storage;
  /// Where a validated graph's `include:`s resolve, as a job submitted here would have them
  /// (the configuration's folder).
  std::filesystem::path base_dir;
};

/// Adds the routes, each with role reader except validate (operator, as submitting a job):
///   GET  /api/v1/plugins                          every loaded node type and its parameters
///   POST /api/v1/graphs/validate                  a YAML graph's static validation
/// and, with a storage:
///   GET  /api/v1/studies, /api/v1/studies/{name}  `aimass tune list|show --json`
///   GET  /api/v1/monitoring, /api/v1/monitoring/{model}, /api/v1/monitoring/{model}/windows
/// A route a node took first (kAlreadyExists) is left out and the others are added; the first
/// such refusal is returned. Threading: call while the graph is set
/// up (before the frontends start); the handlers are then safe from any thread.
Status addConsoleApiRoutes(Host& host, const ConsoleApiSources& sources);

}  // namespace aimass::core
