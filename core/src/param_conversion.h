// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/params.h"

namespace aimass::core {

/// The node names a reference parameter holds, each with where it is written.
using RefSites = std::vector<std::pair<std::string, SourceLocation>>;

/// "a, b, c".
std::string joinNames(const std::vector<std::string>& names);

/// "FILE:LINE:COL: models.iris" for `field` of `record` (the record's own place when `field` is
/// empty or not written; just the path when the record was not read from a file), for errors
/// a node finds in a record that the schema could not.
std::string placeOf(const ParamRecord& record, const std::string& field = {});

/// `value` as a record's field holds it (FieldValue has every alternative of ParamValue but the
/// record ones, which become monostate).
FieldValue fieldValueOf(ParamValue value);

/// A YAML value as JSON text (ParamType::kJson): mappings become objects (keys as strings),
/// sequences arrays; a plain scalar that reads as an integer or a finite number becomes a
/// number, true/false (any case) a boolean, ~/null or nothing null; every other scalar, and
/// every quoted one, a string. nullopt (with `error` set) for nesting deeper than 64 levels or a
/// number that JSON cannot hold (.inf, .nan).
std::optional<std::string> yamlToJson(const YAML::Node& value, std::string& error);

/// Converts the YAML values of one node's parameters to their declared types, as
/// Graph::validate() describes, and reports every problem as a diagnostic at the FILE:LINE:COL
/// of the offending YAML node. A value whose text came from the environment (${VAR}) is never
/// quoted: messages name the variable instead.
///
/// Records (kRecordList, kRecordMap) are checked field by field against ParamSpec::fields and
/// named by their path in messages: "parameter 'api_keys[1].role' of node 'web'",
/// "parameter 'models.fashion.max_batch_size' of node 'web'". Unknown fields, missing
/// required fields and names given twice are errors; fields left out take their defaults.
///
/// Lifetime: holds references to `decl` and `diagnostics`, which must outlive it.
class ParamConverter {
 public:
  ParamConverter(const NodeDecl& decl, Diagnostics& diagnostics)
      : decl_(decl), diagnostics_(diagnostics) {}

  /// Converts `value`, written at `where`, to `spec`'s type. For references, `refs` receives the
  /// names (the value holds them too). nullopt after adding at least one diagnostic.
  std::optional<ParamValue> convert(const YAML::Node& value, const SourceLocation& where,
                                    const ParamSpec& spec, RefSites& refs);

  /// `spec`'s default as a node receives it: paths resolved against the node's folder, integer
  /// defaults of float parameters as doubles. monostate when there is none.
  ParamValue defaultValue(const ParamSpec& spec) const;

  /// "parameter 'NAME' of node 'NODE'"; `name` may be a path such as "api_keys[1].role".
  std::string describe(const std::string& name) const {
    return "parameter '" + name + "' of node '" + decl_.name + "'";
  }

 private:
  void error(SourceLocation where, std::string message, std::string hint = {}) {
    diagnostics_.push_back({std::move(where), std::move(message), std::move(hint)});
  }

  /// Converts one scalar to the element type of `spec`; `what` names it in messages.
  std::optional<ParamValue> convertScalar(const YAML::Node& value, const ParamSpec& spec,
                                          const std::string& what, const SourceLocation& where);
  /// Converts a scalar or list parameter (or field) whose path is `name`.
  std::optional<ParamValue> convertValue(const YAML::Node& value, const SourceLocation& where,
                                         const ParamSpec& spec, const std::string& name,
                                         RefSites& refs);
  /// Converts a sequence of records (param_records.cc).
  std::optional<ParamValue> convertRecordList(const YAML::Node& value, const SourceLocation& where,
                                              const ParamSpec& spec);
  /// Converts a mapping from names to records (param_records.cc).
  std::optional<ParamValue> convertRecordMap(const YAML::Node& value, const SourceLocation& where,
                                             const ParamSpec& spec);
  /// Converts one record whose path is `path` ("api_keys[1]", "models.fashion").
  std::optional<ParamRecord> convertRecord(const YAML::Node& value, const SourceLocation& where,
                                           const ParamSpec& spec, const std::string& path);

  /// Where each name of a map was given.
  using Sites = std::map<std::string, SourceLocation, std::less<>>;
  /// Records that `name` is given at `where`; false, after the diagnostic "`twice`; it was first
  /// given at FILE:LINE:COL", when it was given before.
  bool isFirst(Sites& sites, const std::string& name, const SourceLocation& where,
               const std::string& twice);

  /// "but is 'TEXT'", or "but the value of ${VAR} is not" when it came from the environment.
  std::string butIs(const std::string& text, const SourceLocation& where) const;
  /// 'TEXT' quoted, or the words naming it when it came from the environment.
  std::string quoted(const std::string& text, const SourceLocation& where) const;

  const NodeDecl& decl_;
  Diagnostics& diagnostics_;
};

}  // namespace aimass::core
