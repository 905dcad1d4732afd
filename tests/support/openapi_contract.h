// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "http_exchange_log.h"

namespace aimass::testing {

/// docs/openapi.yaml as a contract that HTTP exchanges are checked against: the operation an
/// exchange addressed, its answered status among the documented ones, and the request and
/// response bodies against the document's schemas. Link the object library
/// aimass_openapi_contract (tests/CMakeLists.txt). Immutable after construction, so one
/// contract may check exchanges from several threads.
///
/// The schemas are the OpenAPI 3.0 subset docs/openapi.yaml uses: $ref (to #/components/...),
/// type, properties, required, items, enum, oneOf, anyOf, allOf, additionalProperties (a
/// boolean or a schema), minimum, maximum, nullable; description, format, title and example
/// are documentation. Any other keyword is reported as unsupported rather than passed
/// silently, so the document cannot come to rely on a rule nothing checks.
class OpenApiContract {
 public:
  /// Reads the document at `path`; throws YAML::Exception when it is no YAML file.
  explicit OpenApiContract(const std::string& path);

  /// "POST /v2/models/{model}/infer": the documented operation that `method` and `target`
  /// (a path with an optional query) address, a path with literal segments preferred to a
  /// template (GET /v2/models/stats is modelsStatistics, not modelMetadata); "" when none does.
  std::string operationOf(const std::string& method, const std::string& target) const;

  /// Every documented operation, as operationOf() names them ("GET /v2"), sorted.
  std::set<std::string> operations() const;

  /// What is wrong with `exchange` by the document, one sentence each naming the operation;
  /// empty when it conforms or addresses no documented operation (nor does a 404 whose error
  /// begins "no route for ": the frontend serves no such route in its configuration, as
  /// /api/v1 without a storage node). Checked: a 500 is always
  /// wrong; the status is one the operation documents or one of x-aimass-common-responses;
  /// a request the server accepted (2xx) has only documented path and query parameters, each
  /// of its schema, and its JSON body matches the operation's request body schema
  /// (and an operation that documents no request body accepted none); a response's content
  /// type is a documented one for its status and a JSON body matches its schema (a
  /// text/event-stream body with x-aimass-events: each event's data matches its event's).
  std::vector<std::string> violations(const HttpExchange& exchange) const;

  /// Where `value` breaks `schema` (a node of this document; $refs resolve in it), each
  /// problem prefixed with the JSON path from `where`; empty when it conforms.
  std::vector<std::string> schemaViolations(const YAML::Node& schema,
                                            const Poco::Dynamic::Var& value,
                                            const std::string& where) const;

  /// The document's node at a "#/components/..." reference; an undefined node when there is
  /// none.
  YAML::Node resolve(const std::string& ref) const;

 private:
  /// The operation's path item and method ("post"), or undefined nodes.
  struct Operation {
    std::string name;
    YAML::Node node;
    YAML::Node path_item;  ///< for the parameters of every operation on the path
    std::string pattern;   ///< "/v2/models/{model}/infer"
  };
  Operation find(const std::string& method, const std::string& target) const;
  /// `node` itself, or the node its $ref names (followed until no $ref is left).
  YAML::Node deref(YAML::Node node) const;
  void checkRequest(const Operation& operation, const HttpExchange& exchange,
                    std::vector<std::string>& out) const;
  void checkResponse(const Operation& operation, const HttpExchange& exchange,
                     std::vector<std::string>& out) const;
  /// The path captures and query parameters of an accepted request against the documented
  /// parameters (path-level and the operation's own) and their schemas.
  void checkParameters(const Operation& operation, const HttpExchange& exchange,
                       std::vector<std::string>& out) const;
  /// Server-sent events: each ends with a blank line, its `event:` (default "message") names
  /// its schema in `events` (a text/event-stream media's x-aimass-events) and its `data:` is
  /// JSON that matches it.
  void checkEvents(const YAML::Node& events, const std::string& body,
                   std::vector<std::string>& out) const;
  /// required, properties and additionalProperties of a checked `schema` on an object.
  void checkObject(const YAML::Node& schema, const Poco::JSON::Object::Ptr& object,
                   const std::string& where, std::vector<std::string>& out) const;
  void checkSchema(const YAML::Node& schema, const Poco::Dynamic::Var& value,
                   const std::string& where, std::vector<std::string>& out) const;

  YAML::Node doc_;
};

/// The media type of a Content-Type value without its parameters, in lower case:
/// "application/json" for "application/json; charset=utf-8".
std::string mediaType(const std::string& content_type);

}  // namespace aimass::testing
