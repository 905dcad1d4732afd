// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "aimass/node.h"

namespace aimass {

/// Types a node parameter can have in a configuration file.
enum class ParamType {
  kBool,        ///< true / false
  kInt,         ///< 64-bit integer
  kFloat,       ///< double; integers are accepted
  kString,      ///< any scalar, taken as text
  kPath,        ///< a file or directory; relative paths resolve against the config file's folder
  kRef,         ///< the name of another node (an edge of the graph)
  kStringList,  ///< a sequence of strings
  kIntList,     ///< a sequence of integers
  kFloatList,   ///< a sequence of numbers
  kRefList,     ///< a sequence of node names
  kRecordList,  ///< a sequence of records (mappings), each checked against ParamSpec::fields
  kRecordMap,   ///< a mapping from free-form names (model names, ...) to records
  kJson,        ///< any YAML value (scalar, sequence or mapping), handed over as JSON text
};

constexpr std::string_view paramTypeName(ParamType t) noexcept {
  switch (t) {
    case ParamType::kBool:
      return "bool";
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kString:
      return "string";
    case ParamType::kPath:
      return "path";
    case ParamType::kRef:
      return "ref";
    case ParamType::kStringList:
      return "list<string>";
    case ParamType::kIntList:
      return "list<int>";
    case ParamType::kFloatList:
      return "list<float>";
    case ParamType::kRefList:
      return "list<ref>";
    case ParamType::kRecordList:
      return "list<record>";
    case ParamType::kRecordMap:
      return "map<string, record>";
    case ParamType::kJson:
      return "json";
  }
  return "unknown";
}

/// The value of one field of a record: what a scalar or list parameter holds. Paths are held as
/// strings (already resolved).
using FieldValue =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::string>,
                 std::vector<std::int64_t>, std::vector<double>>;

/// Typed read access to validated values by name: the getters NodeConfig and ParamRecord share.
///
/// The host fills the values after validation, so for every name the schema declares with a
/// default, or that the config gave, the getter of the declared type cannot fail; a getter of
/// another type, or a name that is absent, throws std::bad_variant_access or std::out_of_range
/// (a bug in the plugin, caught at the plugin boundary). Not synchronised: read it from one
/// thread at a time, or from many once nothing writes.
template <typename Value>
class ParamValues {
 public:
  /// Whether a value is present (given in the config, or a default).
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool getBool(const std::string& name) const { return std::get<bool>(values_.at(name)); }
  std::int64_t getInt(const std::string& name) const {
    return std::get<std::int64_t>(values_.at(name));
  }
  double getFloat(const std::string& name) const { return std::get<double>(values_.at(name)); }
  const std::string& getString(const std::string& name) const {
    return std::get<std::string>(values_.at(name));
  }
  std::filesystem::path getPath(const std::string& name) const { return getString(name); }
  const std::vector<std::string>& getStringList(const std::string& name) const {
    return std::get<std::vector<std::string>>(values_.at(name));
  }
  const std::vector<std::int64_t>& getIntList(const std::string& name) const {
    return std::get<std::vector<std::int64_t>>(values_.at(name));
  }
  const std::vector<double>& getFloatList(const std::string& name) const {
    return std::get<std::vector<double>>(values_.at(name));
  }

  // Filled by the host before the factory runs.
  void setValue(const std::string& name, Value v) { values_[name] = std::move(v); }
  const std::map<std::string, Value>& values() const noexcept { return values_; }

 protected:
  std::map<std::string, Value> values_;
};

/// One validated record of a kRecordList or kRecordMap parameter: its fields, by name, with the
/// typed getters of NodeConfig. Every field the record gave is present, and every field the
/// schema declares with a default; values have the declared type and lie in the declared range.
/// Records hold scalar and list fields only, never records (the types do not nest).
///
/// path() and location() let a plugin name the record in its own errors (a check the schema
/// cannot express), the way the host names it: "api_keys[1]", "config.yaml:12:7".
///
/// Lifetime: a value; copy it out of the NodeConfig like any other parameter.
class ParamRecord : public ParamValues<FieldValue> {
 public:
  /// "api_keys[1]" for the second record of a list, "models.fashion" for a map's entry.
  const std::string& path() const noexcept { return path_; }
  /// "FILE:LINE:COL" of `field`'s value in the config, or of the record itself when the field
  /// is not written there (a default) or `field` is empty; empty for a record not read from a
  /// file.
  std::string location(const std::string& field = {}) const {
    auto found = field_locations_.find(field);
    return found != field_locations_.end() ? found->second : location_;
  }

  // Filled by the host before the factory runs.
  void setPath(std::string path, std::string location) {
    path_ = std::move(path);
    location_ = std::move(location);
  }
  void setFieldLocation(const std::string& field, std::string location) {
    field_locations_[field] = std::move(location);
  }

 private:
  std::string path_;
  std::string location_;
  std::map<std::string, std::string> field_locations_;
};

/// The records of a kRecordMap parameter by their names (in name order).
using ParamRecordMap = std::map<std::string, ParamRecord>;

/// A parameter's value after validation: a field's value, or the records of a kRecordList or
/// kRecordMap parameter.
using ParamValue = std::variant<std::monostate, bool, std::int64_t, double, std::string,
                                std::vector<std::string>, std::vector<std::int64_t>,
                                std::vector<double>, std::vector<ParamRecord>, ParamRecordMap>;

/// One parameter of a node type: what the config may say, what the docs print and what the
/// host checks before the node's factory ever runs. Build with the named constructors:
///
///     ParamSpec::integer("epochs", "Passes over the training data.").withDefault(10).atLeast(1)
///
/// Records: a kRecordList or kRecordMap parameter declares its records' fields as ParamSpecs of
/// their own (`fields`), with their own required flag, default, range and choices; a field may
/// be any scalar or list type but a reference, a record list or a record map (records do not
/// nest). Such a parameter has no range or choices, and its default, if any, is empty:
///
///     ParamSpec::records("api_keys", {ParamSpec::string("name", "Who holds the key."), ...},
///                        "API keys.").withDefault(std::vector<ParamRecord>{})
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  std::string doc;
  bool required = true;
  ParamValue default_value;          ///< monostate when there is none
  std::optional<double> min;         ///< inclusive lower bound (ints, floats, list lengths no)
  std::optional<double> max;         ///< inclusive upper bound
  std::vector<std::string> choices;  ///< allowed values of a kString parameter (empty: any)
  std::optional<NodeKind> ref_kind;  ///< the kind a kRef / kRefList parameter must name
  std::string example;               ///< a sample value for docs and `aimass plugin check`;
                                     ///< "{tmp}" is replaced by a fresh temporary folder
  std::vector<ParamSpec> fields;     ///< the fields of a kRecordList / kRecordMap's records

  static ParamSpec boolean(std::string name, std::string doc) {
    return make(std::move(name), ParamType::kBool, std::move(doc));
  }
  static ParamSpec integer(std::string name, std::string doc) {
    return make(std::move(name), ParamType::kInt, std::move(doc));
  }
  static ParamSpec number(std::string name, std::string doc) {
    return make(std::move(name), ParamType::kFloat, std::move(doc));
  }
  static ParamSpec string(std::string name, std::string doc) {
    return make(std::move(name), ParamType::kString, std::move(doc));
  }
  static ParamSpec path(std::string name, std::string doc) {
    return make(std::move(name), ParamType::kPath, std::move(doc));
  }
  static ParamSpec ref(std::string name, NodeKind kind, std::string doc) {
    auto p = make(std::move(name), ParamType::kRef, std::move(doc));
    p.ref_kind = kind;
    return p;
  }
  static ParamSpec refList(std::string name, NodeKind kind, std::string doc) {
    auto p = make(std::move(name), ParamType::kRefList, std::move(doc));
    p.ref_kind = kind;
    return p;
  }
  static ParamSpec list(std::string name, ParamType element_list_type, std::string doc) {
    return make(std::move(name), element_list_type, std::move(doc));
  }
  /// A list of records, written as a YAML sequence of mappings of `fields`.
  static ParamSpec records(std::string name, std::vector<ParamSpec> fields, std::string doc) {
    auto p = make(std::move(name), ParamType::kRecordList, std::move(doc));
    p.fields = std::move(fields);
    return p;
  }
  /// Records by name, written as a YAML mapping from free-form names to mappings of `fields`.
  static ParamSpec map(std::string name, std::vector<ParamSpec> fields, std::string doc) {
    auto p = make(std::move(name), ParamType::kRecordMap, std::move(doc));
    p.fields = std::move(fields);
    return p;
  }

  /// Any YAML value, which the node receives as JSON text (getString()): plain scalars become
  /// numbers, true/false or null where they read as such, quoted ones strings. The host checks
  /// only that it is valid YAML; the node checks its shape. For free-form settings (a search
  /// space) that no fixed schema describes.
  static ParamSpec json(std::string name, std::string doc) {
    return make(std::move(name), ParamType::kJson, std::move(doc));
  }

  /// Makes the parameter optional with this default.
  ParamSpec withDefault(ParamValue value) && {
    default_value = std::move(value);
    required = false;
    return std::move(*this);
  }
  /// Makes the parameter optional with no default (the node checks ConfigView::has()).
  ParamSpec optional() && {
    required = false;
    return std::move(*this);
  }
  ParamSpec atLeast(double v) && {
    min = v;
    return std::move(*this);
  }
  ParamSpec atMost(double v) && {
    max = v;
    return std::move(*this);
  }
  ParamSpec range(double lo, double hi) && {
    min = lo;
    max = hi;
    return std::move(*this);
  }
  ParamSpec oneOf(std::vector<std::string> values) && {
    choices = std::move(values);
    return std::move(*this);
  }
  ParamSpec withExample(std::string value) && {
    example = std::move(value);
    return std::move(*this);
  }

 private:
  static ParamSpec make(std::string name, ParamType type, std::string doc) {
    ParamSpec p;
    p.name = std::move(name);
    p.type = type;
    p.doc = std::move(doc);
    return p;
  }
};

class Host;

/// The validated parameters of one node, handed to its factory.
///
/// Every parameter the schema declares with a default is present; required ones are present;
/// values already have the declared type and lie within the declared range, so the typed
/// getters cannot fail for declared names. Reference parameters are resolved to the referenced
/// nodes, which the host created first and keeps alive longer than this node.
///
/// Lifetime: valid during the factory call. Copy out what the node needs.
class NodeConfig : public ParamValues<ParamValue> {
 public:
  NodeConfig(std::string node_name, std::string type, Host* host)
      : node_name_(std::move(node_name)), type_(std::move(type)), host_(host) {}

  /// The node's name in the graph ("train", "store").
  const std::string& nodeName() const noexcept { return node_name_; }
  /// The node's type ("model.softmax").
  const std::string& type() const noexcept { return type_; }
  /// Host services (logging, threads, routes, models). Outlives every node.
  Host& host() const noexcept { return *host_; }

  bool has(const std::string& name) const {
    return ParamValues::has(name) || refs_.count(name) != 0;
  }
  /// The records of a kRecordList parameter, in config order.
  const std::vector<ParamRecord>& getRecords(const std::string& name) const {
    return std::get<std::vector<ParamRecord>>(values_.at(name));
  }
  /// The records of a kRecordMap parameter by name.
  const ParamRecordMap& getMap(const std::string& name) const {
    return std::get<ParamRecordMap>(values_.at(name));
  }
  /// The node a kRef parameter names, as its interface T (T must match the declared ref_kind).
  template <typename T>
  std::shared_ptr<T> getRef(const std::string& name) const {
    const auto& nodes = refs_.at(name);
    return nodes.empty() ? nullptr : std::static_pointer_cast<T>(nodes.front());
  }
  /// The nodes a kRefList parameter names, in config order.
  template <typename T>
  std::vector<std::shared_ptr<T>> getRefs(const std::string& name) const {
    std::vector<std::shared_ptr<T>> out;
    for (const auto& n : refs_.at(name)) {
      out.push_back(std::static_pointer_cast<T>(n));
    }
    return out;
  }
  /// The names the reference parameter held in the config.
  const std::vector<std::string>& refNames(const std::string& name) const {
    return ref_names_.at(name);
  }
  /// The node types ("model.softmax") of the nodes a reference parameter names, in order.
  const std::vector<std::string>& refTypes(const std::string& name) const {
    return ref_types_.at(name);
  }

  // Filled by the host before the factory runs.
  void setRefs(const std::string& name, std::vector<std::string> names,
               std::vector<std::string> types, std::vector<std::shared_ptr<Node>> nodes) {
    ref_names_[name] = std::move(names);
    ref_types_[name] = std::move(types);
    refs_[name] = std::move(nodes);
  }

 private:
  std::string node_name_;
  std::string type_;
  Host* host_;
  std::map<std::string, std::vector<std::string>> ref_names_;
  std::map<std::string, std::vector<std::string>> ref_types_;
  std::map<std::string, std::vector<std::shared_ptr<Node>>> refs_;
};

}  // namespace aimass
