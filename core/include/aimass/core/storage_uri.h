// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/core/type_registry.h"
#include "aimass/host.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// A store named by a URI (`aimass models ... --storage URI`): the storage node type that
/// serves it and that node's parameters, as configuration text.
struct StorageUri {
  std::string type;  ///< "storage.sqlite", "storage.fs" or "storage.postgres"
  std::vector<std::pair<std::string, std::string>> params;  ///< parameter name, value text
};

/// The URI forms parseStorageUri() accepts, one per line, for help texts and errors.
extern const char kStorageUriForms[];

/// Parses a storage URI:
///
///     sqlite:///abs/store.db   sqlite:relative/store.db      storage.sqlite, path
///     file:///abs/dir  fs:///abs/dir  fs:relative/dir        storage.fs, path
///     postgresql://USER@HOST:PORT/DB  (postgres:// too)      storage.postgres, uri
///
/// Relative paths resolve against `base_dir`; %XX escapes in paths are decoded. A query sets
/// other parameters of the node: `?busy_timeout_ms=1000` (sqlite), and for PostgreSQL
/// `password_env`, `pool_size` and `connect_timeout_s`; the rest of a PostgreSQL query
/// (`sslmode=require`, ...) stays in the URI for libpq. kInvalidArgument, with the URI and what
/// is wrong, for an unknown scheme (listing the known ones), a missing or empty path, a host in
/// a file URI, a bad %-escape or a malformed query.
Expected<StorageUri> parseStorageUri(std::string_view uri, const std::filesystem::path& base_dir);

/// Creates the storage node `uri` names, with the type `registry` holds for it, as a graph
/// would: parameters checked against the type's ParamSpecs (kInvalidArgument naming the
/// parameter), defaults filled in, then the factory runs (its Status is returned, prefixed with
/// the URI: e.g. kPermissionDenied for a store path that is not writable, kUnavailable for a
/// server that cannot be reached). kNotFound when no plugin provides the type. The node keeps
/// its plugin loaded; `registry` must outlive the call, `host` the node.
Expected<std::shared_ptr<Storage>> openStorageUri(std::string_view uri,
                                                  const TypeRegistry& registry, Host& host,
                                                  const std::filesystem::path& base_dir);

}  // namespace aimass::core
