// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Storage URI schemes (ABI 3.1).
///
/// `aimass models|datasets|runs ... --storage URI` opens a store named by a URI instead of a
/// configuration. The host knows no storage engine: a storage plugin declares the schemes it
/// serves with Registrar::addStorageUriScheme(), and how a URI of that scheme becomes the
/// parameters of one of its storage types. The host splits the URI, finds the scheme, asks the
/// plugin for the parameters (as text), then checks and converts them exactly as it would the
/// same parameters written in a configuration, and creates the node.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "aimass/status.h"

namespace aimass {

/// A storage URI as the host split it: `SCHEME:[//AUTHORITY]PATH[?QUERY]`.
///
/// Lifetime: valid only during the StorageUriMapping call that receives it.
struct StorageUriParts {
  std::string uri;             ///< as given; may hold a password, so never copy it into a message
  std::string scheme;          ///< lower case ("postgresql")
  bool has_authority = false;  ///< "//" follows the colon
  std::string authority;       ///< between "//" and the next '/', as written ("me@db:5432")
  std::string path;            ///< after the authority, up to '?', as written (not %-decoded)
  std::string without_query;   ///< `uri` up to the '?'
  /// The query's NAME=VALUE pairs in order, values %-decoded; names are non-empty and unique
  /// (the host refuses other queries before the mapping runs).
  std::vector<std::pair<std::string, std::string>> query;
};

/// The parameters a URI gives, as (parameter name, value text) pairs. The host converts each
/// text to the parameter's declared type, checks its range and choices, and fills defaults,
/// as for a configuration. Runs on the caller's thread; must not throw (the host catches as a
/// last resort and names the plugin). On a malformed URI, return kInvalidArgument saying what
/// is wrong and how to write it ("no database; write postgresql://USER@HOST:PORT/DATABASE");
/// the host puts the URI, password hidden, in front.
using StorageUriMapping = std::function<Expected<std::vector<std::pair<std::string, std::string>>>(
    const StorageUriParts& uri)>;

/// One storage type's URI schemes, as a plugin declares them.
///
/// Either `path_param` or `map` says how a URI maps to parameters:
/// - `path_param`, for stores that live in a local file or folder: the URI is
///   `SCHEME:///abs/path`, `SCHEME://localhost/abs/path` or `SCHEME:relative/path` (relative
///   to the working directory); the host %-decodes the path, refuses a host name, and passes
///   the path as this parameter; each query option `?NAME=VALUE` sets the parameter NAME.
/// - `map`, for anything else (a server address, options a client library reads).
struct StorageUriScheme {
  /// Lower-case scheme names ("postgresql", "postgres"); each may be declared by one plugin
  /// only. Letters, digits, '+', '-' and '.', starting with a letter.
  std::vector<std::string> schemes;
  /// The storage node type the URI makes; the same plugin must register it.
  std::string type;
  /// How to write such a URI, for help texts and errors ("sqlite:///abs/store.db,
  /// sqlite:relative/store.db").
  std::string form;
  /// The parameter (of type path or string) that receives a local path; empty when `map` is
  /// used.
  std::string path_param;
  /// The mapping for URIs that are not local paths; empty when `path_param` is used.
  StorageUriMapping map;
};

}  // namespace aimass
