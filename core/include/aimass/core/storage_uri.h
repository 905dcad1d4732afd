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
  std::string type;  ///< the type the plugin that declared the scheme named ("storage.sqlite")
  std::vector<std::pair<std::string, std::string>> params;  ///< parameter name, value text
  /// For a local-path scheme, the parameter the path went to (not a query option); else empty.
  std::string path_param;
};

/// The URI forms the loaded plugins declare, one per line ("  FORM   TYPE"), for help texts
/// and errors. Empty when no plugin declares a scheme.
std::string storageUriForms(const TypeRegistry& registry);

/// Parses a storage URI with the scheme declarations of the loaded plugins
/// (aimass/storage_uri.h): splits `SCHEME:[//AUTHORITY]PATH[?QUERY]`, decodes the query, and
/// maps the URI to the parameters of the declaring plugin's storage type. For a local-path
/// scheme (`path_param`), the path is %-decoded and resolved against `base_dir`, a host other
/// than localhost is refused, and each query option becomes a parameter; other schemes are
/// mapped by the plugin's function (its errors are returned with the URI in front).
/// kInvalidArgument, with the URI (password hidden) and what is wrong, for text that is not a
/// URI (listing the declared forms), an unknown scheme (listing the declared schemes), a
/// malformed query or path.
Expected<StorageUri> parseStorageUri(std::string_view uri, const TypeRegistry& registry,
                                     const std::filesystem::path& base_dir);

/// Creates the storage node `uri` names, with the type `registry` holds for it, as a graph
/// would: parameters checked against the type's ParamSpecs by validateNode() (kInvalidArgument
/// naming the parameter), defaults filled in, then TypeRegistry::instantiate() runs the factory
/// (its Status is returned, prefixed with the URI: e.g. kPermissionDenied for a store path that is
/// not writable, kUnavailable for a server that cannot be reached). kNotFound when no plugin
/// provides the type. The node keeps its plugin loaded; `registry` must outlive the call, `host`
/// the node.
Expected<std::shared_ptr<Storage>> openStorageUri(std::string_view uri,
                                                  const TypeRegistry& registry, Host& host,
                                                  const std::filesystem::path& base_dir);

}  // namespace aimass::core
