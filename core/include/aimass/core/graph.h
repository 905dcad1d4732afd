// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/core/type_registry.h"
#include "aimass/host.h"
#include "aimass/node.h"
#include "aimass/params.h"

namespace aimass::core {

/// A validated node: its declaration, its type, its typed parameter values.
struct GraphNode {
  NodeDecl decl;
  const RegisteredType* type = nullptr;
  /// Parameter values converted to the schema's types (defaults filled in, paths resolved).
  std::vector<std::pair<std::string, ParamValue>> values;
  /// For each reference parameter: the names it references.
  std::vector<std::pair<std::string, std::vector<std::string>>> refs;
  /// The created node (after instantiate()); its deleter keeps the plugin loaded.
  std::shared_ptr<Node> instance;
};

/// A configuration checked against the registry, in dependency order.
///
/// validate() reports every problem (unknown type with a "did you mean", unknown or missing
/// parameter, wrong type, out of range, not one of the choices, reference to a missing node or
/// a node of the wrong kind, cycles) with the file, line and column of the offending text.
/// instantiate() then creates nodes in topological order; the destructor destroys them in
/// reverse order.
///
/// Conversion rules: bool takes true/false (True, TRUE, ...); int takes decimal, 0x and 0o
/// integers within int64; float takes any number and .inf; string takes any scalar; paths resolve
/// against the folder of the file that declared the node. A list parameter also takes a single
/// scalar as a list of one. min/max apply to ints, floats and each element of int and float
/// lists; choices apply to strings and each element of string lists.
class Graph {
 public:
  /// Checks `document` and orders its nodes (dependencies first, otherwise declaration order).
  /// Diagnostics it adds are sorted by file, line and column. Null when `diagnostics` holds any
  /// entry afterwards, including ones loadConfig() added before.
  static std::unique_ptr<Graph> validate(const ConfigDocument& document,
                                         const TypeRegistry& registry, Diagnostics& diagnostics);
  ~Graph();

  /// Creates every node in topological order through TypeRegistry::instantiate() with its
  /// validated NodeConfig (the registry given to validate() must still be alive). Stops at the
  /// first failure with a Status naming the node, its type, its location and the factory's message;
  /// nodes already created are destroyed in reverse.
  Status instantiate(Host& host);
  /// For each node that `reuse` answers with an instance, that instance instead of a new one
  /// (a process running many graphs of one configuration keeps its datasets: job.tune's trial
  /// workers). The instance must be one a node of the same type and values would be.
  using ReuseNode = std::function<std::shared_ptr<Node>(const GraphNode& node)>;
  Status instantiate(Host& host, const ReuseNode& reuse);

  /// Sets parameter `name` of every node of `type` to `value`, as if the config said so (a
  /// command line's override: `aimass eval --precision`). Call before instantiate(); `value`
  /// must already be one the type's schema accepts (the caller checks it).
  void overrideParam(std::string_view type, const std::string& name, const ParamValue& value);

  /// Nodes in topological order (dependencies first).
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  /// Null when there is no such node or it is not instantiated.
  std::shared_ptr<Node> node(std::string_view name) const;
  /// Instantiated nodes of one kind, in topological order, with their names.
  std::vector<std::pair<std::string, std::shared_ptr<Node>>> nodesOfKind(NodeKind kind) const;

  const ConfigDocument& document() const { return document_; }
  /// The registry the graph was validated against; it makes the graph's nodes.
  const TypeRegistry& registry() const { return *registry_; }

 private:
  Graph() = default;
  ConfigDocument document_;
  /// Makes the nodes (TypeRegistry::instantiate); its types are the ones nodes_ point to.
  const TypeRegistry* registry_ = nullptr;
  std::vector<GraphNode> nodes_;
};

/// Checks one node declared outside a configuration file (a storage URI's options, a model the
/// serving runtime makes to load a saved version into) the way Graph::validate() checks a node
/// of a file, with the same code: unknown and missing parameters, conversion of each value's
/// text to the declared type, ranges, choices, defaults, paths resolved against
/// `decl.base_dir`. The node may reference no other node. Returns the NodeConfig that
/// TypeRegistry::instantiate() takes, or nullopt with `diagnostics` filled (at the locations
/// `decl` carries).
std::optional<NodeConfig> validateNode(const NodeDecl& decl, const TypeRegistry& registry,
                                       Host& host, Diagnostics& diagnostics);

}  // namespace aimass::core
