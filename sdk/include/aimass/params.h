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
  }
  return "unknown";
}

/// A parameter's value after validation. Paths are held as strings (already resolved).
using ParamValue =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::string>,
                 std::vector<std::int64_t>, std::vector<double>>;

/// One parameter of a node type: what the config may say, what the docs print and what the
/// host checks before the node's factory ever runs. Build with the named constructors:
///
///     ParamSpec::integer("epochs", "Passes over the training data.").withDefault(10).atLeast(1)
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
class NodeConfig {
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
    return values_.count(name) != 0 || refs_.count(name) != 0;
  }
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
  void setValue(const std::string& name, ParamValue v) { values_[name] = std::move(v); }
  void setRefs(const std::string& name, std::vector<std::string> names,
               std::vector<std::string> types, std::vector<std::shared_ptr<Node>> nodes) {
    ref_names_[name] = std::move(names);
    ref_types_[name] = std::move(types);
    refs_[name] = std::move(nodes);
  }
  const std::map<std::string, ParamValue>& values() const noexcept { return values_; }

 private:
  std::string node_name_;
  std::string type_;
  Host* host_;
  std::map<std::string, ParamValue> values_;
  std::map<std::string, std::vector<std::string>> ref_names_;
  std::map<std::string, std::vector<std::string>> ref_types_;
  std::map<std::string, std::vector<std::shared_ptr<Node>>> refs_;
};

}  // namespace aimass
