// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/status.h"

namespace aimass {

/// Who may call a route when a frontend enforces authentication. Each role may do what the
/// roles before it may: kPublic needs no credentials (health, readiness); kAnnotator may label
/// and review the annotation projects it is assigned to (the project checks the assignment) and
/// nothing else; kReader may infer and read metadata, statistics and the registry; kOperator may
/// also load and unload models and change the registry; kAdmin may do everything. Compare roles
/// with <, >= (the order is the enum's); ABI 13.0 put kAnnotator between kPublic and kReader.
enum class Role : unsigned char { kPublic, kAnnotator, kReader, kOperator, kAdmin };

/// "public", "annotator", "reader", "operator" or "admin".
inline std::string_view roleName(Role role) noexcept {
  switch (role) {
    case Role::kPublic:
      return "public";
    case Role::kAnnotator:
      return "annotator";
    case Role::kReader:
      return "reader";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "admin";
}

/// A request as a frontend hands it to a contributed route, independent of the HTTP library.
struct HttpRequest {
  std::string method;                              ///< "GET", "POST", ...
  std::string path;                                ///< decoded path without the query string
  std::map<std::string, std::string> path_params;  ///< "{name}" segments matched by the route
  std::map<std::string, std::string> query;        ///< decoded query parameters
  std::map<std::string, std::string> headers;      ///< header names in lower case
  std::string body;                                ///< the whole body (already size-limited)
  std::string principal;                           ///< authenticated caller, empty if none
  /// The caller's role: what its credentials hold; kAdmin when the frontend authenticates no
  /// one (every caller may then do everything). The route's own role was checked already; a
  /// handler reads this for finer rules (an operator cancels only its own jobs). ABI 8.0.
  Role role = Role::kPublic;
};

/// The answer a route writes. Errors should use jsonError() so every error body has the same
/// shape: {"error": "..."} with Content-Type application/json.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The HTTP status that best matches a Status code (400, 404, 409, 413, 503, 500, ...).
inline int httpStatusFor(const Status& status) noexcept {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kCancelled:
      return 499;
    default:
      return 500;
  }
}

/// Handles one request. Called from the frontend's worker threads, possibly many at once, so a
/// handler must be thread-safe. It must not throw; the frontend turns an escaped exception
/// into a 500 as a last resort.
using RouteHandler = std::function<void(const HttpRequest&, HttpResponse&)>;


/// An endpoint contributed by a node (e.g. a recommender's top-k) for frontends to serve.
struct Route {
  std::string method;   ///< "GET", "POST", ...
  std::string pattern;  ///< "/v1/recommend/{user}": literal segments and {name} captures
  std::string summary;  ///< one line for the API docs
  std::string owner;    ///< the node that added it (set by the host)
  RouteHandler handler;
  Role role = Role::kReader;  ///< the least role that may call it (see Role)
};

/// Routes that nodes contribute for frontends to serve. Implemented by the host.
///
/// Threading: add() is called while the graph is built (single-threaded); routes() may be
/// called from any thread after that.
class RouteTable {
 public:
  /// Adds a route; kAlreadyExists when the same method and pattern is taken.
  virtual Status add(Route route) = 0;
  /// A snapshot of every route, in the order added.
  virtual std::vector<Route> routes() const = 0;

 protected:
  ~RouteTable() = default;
};

}  // namespace aimass

// Inline helpers, outside the ABI (sdk/include/aimass/util/).
#include "aimass/util/http_text.h"
