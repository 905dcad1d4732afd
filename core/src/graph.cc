// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/graph.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <utility>

#include "param_conversion.h"
#include "tune/tune_space.h"
#include "yaml_location.h"

namespace aimass::core {
namespace {

/// Checks a configuration node by node and collects the typed values.
class Validator {
 public:
  /// loadConfig() reports nodes without a type itself; `report_missing_types` makes the
  /// validator report them too, for documents that did not come from loadConfig().
  Validator(const std::vector<NodeDecl>& decls, const TypeRegistry& registry,
            Diagnostics& diagnostics, bool report_missing_types)
      : decls_(decls),
        registry_(registry),
        diagnostics_(diagnostics),
        report_missing_types_(report_missing_types) {}

  /// Fills `nodes` in declaration order; returns each node's dependencies (indices into
  /// `nodes`) with the location of the reference.
  void run(std::vector<GraphNode>& nodes,
           std::vector<std::vector<std::pair<std::size_t, SourceLocation>>>& edges);

 private:
  void error(SourceLocation where, std::string message, std::string hint = {}) {
    diagnostics_.push_back({std::move(where), std::move(message), std::move(hint)});
  }

  /// Checks that `name` exists and has the spec's kind; returns its index.
  std::optional<std::size_t> resolveRef(const std::string& name, const SourceLocation& where,
                                        const ParamSpec& spec, const NodeDecl& decl);
  std::string describeParam(const ParamSpec& spec, const NodeDecl& decl) const {
    return "parameter '" + spec.name + "' of node '" + decl.name + "'";
  }
  const std::vector<NodeDecl>& decls_;
  const TypeRegistry& registry_;
  Diagnostics& diagnostics_;
  bool report_missing_types_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<const RegisteredType*> types_;
  std::vector<std::string> names_;
};

std::optional<std::size_t> Validator::resolveRef(const std::string& name,
                                                 const SourceLocation& where, const ParamSpec& spec,
                                                 const NodeDecl& decl) {
  auto found = index_.find(name);
  if (found == index_.end()) {
    std::string guess = closestMatch(name, names_);
    const std::string* words = decl.fromEnvironment(where);
    error(where,
          describeParam(spec, decl) + " refers to an unknown node" +
              (words != nullptr ? ": " + *words + " names none" : " '" + name + "'"),
          guess.empty() ? std::string() : "did you mean '" + guess + "'?");
    return std::nullopt;
  }
  const RegisteredType* target = types_[found->second];
  if (target != nullptr && spec.ref_kind && target->type.kind != *spec.ref_kind) {
    std::string kind(nodeKindName(*spec.ref_kind));
    std::string actual(nodeKindName(target->type.kind));
    std::string article = [](const std::string& k) {
      return std::string(k.find_first_of("aeiou") == 0 ? "an " : "a ");
    }(kind);
    std::string actual_article = actual.find_first_of("aeiou") == 0 ? "an " : "a ";
    const std::string* words = decl.fromEnvironment(where);
    error(where, describeParam(spec, decl) + " must name " + article + kind + " node, but " +
                     (words != nullptr ? *words + " names " : "'" + name + "' is ") +
                     actual_article + actual + " node (" + target->type.type + ")");
    return std::nullopt;
  }
  if (target == nullptr) {
    return std::nullopt;  // Its type is unknown and already reported: no edge to follow.
  }
  return found->second;
}

void Validator::run(std::vector<GraphNode>& nodes,
                    std::vector<std::vector<std::pair<std::size_t, SourceLocation>>>& edges) {
  // Index first so references can point forward. A name declared twice (possible only in a
  // document built by hand: loadConfig reports it) keeps its first declaration.
  std::vector<const NodeDecl*> unique;
  for (const auto& decl : decls_) {
    auto [it, inserted] = index_.emplace(decl.name, unique.size());
    if (!inserted) {
      error(decl.where, "node '" + decl.name + "' is defined twice; it was first defined at " +
                            formatLocation(unique[it->second]->where));
      continue;
    }
    unique.push_back(&decl);
    names_.push_back(decl.name);
    types_.push_back(decl.type.empty() ? nullptr : registry_.find(decl.type));
  }
  edges.assign(unique.size(), {});
  for (std::size_t i = 0; i < unique.size(); ++i) {
    const NodeDecl& decl = *unique[i];
    GraphNode node{decl, types_[i], {}, {}, nullptr};
    const RegisteredType* type = types_[i];
    if (type == nullptr) {
      if (decl.type.empty() && report_missing_types_) {
        error(decl.where, "node '" + decl.name + "' has no 'type'",
              "every node names its type, for example 'type: model.softmax'");
      } else if (!decl.type.empty()) {
        auto suggestions = registry_.suggest(decl.type);
        std::string hint;
        for (std::size_t k = 0; k < suggestions.size(); ++k) {
          hint += (k == 0                        ? ""
                   : k + 1 == suggestions.size() ? " or "
                                                 : ", ") +
                  ("'" + suggestions[k] + "'");
        }
        hint = hint.empty() ? "no loaded plugin provides it; 'aimass plugins list' shows the "
                              "known types"
                            : "did you mean " + hint + "?";
        const std::string* words = decl.fromEnvironment(decl.type_where);
        error(decl.type_where,
              "node '" + decl.name + "' has unknown type " +
                  (words != nullptr ? "(" + *words + ")" : "'" + decl.type + "'"),
              hint);
      }
      nodes.push_back(std::move(node));
      continue;
    }
    const auto& specs = type->type.params;
    std::vector<std::string> spec_names;
    for (const auto& spec : specs) {
      spec_names.push_back(spec.name);
    }
    std::map<std::string, const ParamDecl*, std::less<>> given;
    for (const auto& param : decl.params) {
      bool known = std::find(spec_names.begin(), spec_names.end(), param.name) != spec_names.end();
      if (!known) {
        std::string guess = closestMatch(param.name, spec_names);
        error(param.where,
              "node '" + decl.name + "' (" + decl.type + ") has no parameter '" + param.name + "'",
              !guess.empty() ? "did you mean '" + guess + "'?"
              : spec_names.empty()
                  ? decl.type + " takes no parameters"
                  : "the parameters of " + decl.type + " are: " + joinNames(spec_names));
        continue;
      }
      given.emplace(param.name, &param);
    }
    std::set<std::size_t> dependencies;
    ParamConverter converter(decl, diagnostics_);
    for (const auto& spec : specs) {
      bool is_ref = spec.type == ParamType::kRef || spec.type == ParamType::kRefList;
      RefSites refs;
      auto found = given.find(spec.name);
      if (found != given.end()) {
        const ParamDecl& param = *found->second;
        auto value = converter.convert(param.value, param.value_where, spec, refs);
        if (value && !is_ref) {
          node.values.emplace_back(spec.name, std::move(*value));
        }
      } else if (spec.required) {
        error(decl.where,
              "node '" + decl.name + "' (" + decl.type + ") is missing the required parameter '" +
                  spec.name + "'",
              spec.name + " (" + std::string(paramTypeName(spec.type)) + "): " + spec.doc);
        continue;
      } else if (!std::holds_alternative<std::monostate>(spec.default_value)) {
        ParamValue value = converter.defaultValue(spec);
        if (is_ref) {
          if (auto* s = std::get_if<std::string>(&value)) {
            refs.emplace_back(*s, decl.where);
          } else if (auto* list = std::get_if<std::vector<std::string>>(&value)) {
            for (const auto& s : *list) {
              refs.emplace_back(s, decl.where);
            }
          }
        } else {
          node.values.emplace_back(spec.name, std::move(value));
        }
      }
      if (!is_ref || (found == given.end() && refs.empty())) {
        continue;
      }
      std::vector<std::string> names;
      for (const auto& [name, where] : refs) {
        names.push_back(name);
        if (auto target = resolveRef(name, where, spec, decl)) {
          if (dependencies.insert(*target).second) {
            edges[i].emplace_back(*target, where);
          }
        }
      }
      node.refs.emplace_back(spec.name, std::move(names));
    }
    nodes.push_back(std::move(node));
  }
}

/// Reports each cycle once, at the reference that closes it (the back edge of a depth-first
/// search that starts from nodes in declaration order). Iterative, so a long chain of
/// references cannot exhaust the stack.
void reportCycles(const std::vector<GraphNode>& nodes,
                  const std::vector<std::vector<std::pair<std::size_t, SourceLocation>>>& edges,
                  Diagnostics& diagnostics) {
  enum class Mark { kNew, kOpen, kDone };
  std::vector<Mark> marks(nodes.size(), Mark::kNew);
  std::vector<std::pair<std::size_t, std::size_t>> path;  // (node, next edge to follow)
  for (std::size_t root = 0; root < nodes.size(); ++root) {
    if (marks[root] != Mark::kNew) {
      continue;
    }
    marks[root] = Mark::kOpen;
    path.emplace_back(root, 0);
    while (!path.empty()) {
      auto& [u, next] = path.back();
      if (next == edges[u].size()) {
        marks[u] = Mark::kDone;
        path.pop_back();
        continue;
      }
      const auto& [v, where] = edges[u][next++];
      if (marks[v] == Mark::kOpen) {
        std::string cycle;
        auto start = std::find_if(path.begin(), path.end(),
                                  [v = v](const auto& step) { return step.first == v; });
        for (auto it = start; it != path.end(); ++it) {
          cycle += nodes[it->first].decl.name + " -> ";
        }
        diagnostics.push_back({where, "dependency cycle: " + cycle + nodes[v].decl.name,
                               "a node cannot depend on itself, directly or through others"});
      } else if (marks[v] == Mark::kNew) {
        marks[v] = Mark::kOpen;
        path.emplace_back(v, 0);  // invalidates u and next; the loop re-reads path.back()
      }
    }
  }
}

/// The host has one serving runtime and offers one job service, so a graph holds at most one
/// node of the serving kind (serving.runtime) and one of the service kind (service.jobs): each
/// further one is reported at its type, naming the first.
void reportSecondServingNodes(const std::vector<GraphNode>& nodes, Diagnostics& diagnostics) {
  const GraphNode* first_serving = nullptr;
  const GraphNode* first_service = nullptr;
  for (const auto& node : nodes) {
    if (node.type == nullptr) continue;
    const NodeKind kind = node.type->type.kind;
    if (kind != NodeKind::kServing &&
        (kind != NodeKind::kService || node.type->type.type != "service.jobs")) {
      continue;  // any number of monitors (service.monitor), one per model
    }
    const GraphNode*& first = kind == NodeKind::kServing ? first_serving : first_service;
    if (first == nullptr) {
      first = &node;
      continue;
    }
    if (kind == NodeKind::kServing) {
      diagnostics.push_back(
          {node.decl.type_where,
           "node '" + node.decl.name + "' is a second serving node; the host has "
           "one serving runtime, already configured by node '" +
               first->decl.name + "' at " + formatLocation(first->decl.where),
           "keep one serving.runtime node; per-model settings go in its `models`"});
    } else {
      diagnostics.push_back(
          {node.decl.type_where,
           "node '" + node.decl.name + "' is a second job service; the host offers one, "
           "already configured by node '" + first->decl.name + "' at " +
               formatLocation(first->decl.where),
           "keep one service.jobs node; give it several `queues`"});
    }
  }
}

/// A transform learns its statistics when the model it preprocesses is trained, so two models
/// cannot share one: each further model naming a transform in `preprocess` is reported at its
/// parameter, naming the first.
void reportSharedTransforms(const std::vector<GraphNode>& nodes, Diagnostics& diagnostics) {
  std::map<std::string, std::string, std::less<>> owner;  // transform -> model
  for (const auto& node : nodes) {
    for (const auto& [param, targets] : node.refs) {
      if (param != "preprocess" || node.type == nullptr ||
          node.type->type.kind != NodeKind::kModel) {
        continue;
      }
      SourceLocation where = node.decl.where;
      for (const auto& decl : node.decl.params) {
        if (decl.name == param) {
          where = decl.value_where;
        }
      }
      for (const auto& target : targets) {
        auto [it, first] = owner.emplace(target, node.decl.name);
        if (!first && it->second != node.decl.name) {
          diagnostics.push_back(
              {where,
               "transform '" + target + "' is already the preprocessing of model '" +
                   it->second + "'; a transform is fitted for the one model it preprocesses",
               "declare another transform node of the same type for model '" + node.decl.name +
                   "'"});
        }
      }
    }
  }
}

/// Dependencies first; among nodes whose dependencies are all placed, declaration order.
std::vector<std::size_t> topologicalOrder(
    const std::vector<std::vector<std::pair<std::size_t, SourceLocation>>>& edges) {
  std::size_t n = edges.size();
  std::vector<std::size_t> waiting(n, 0);
  std::vector<std::vector<std::size_t>> dependents(n);
  for (std::size_t u = 0; u < n; ++u) {
    waiting[u] = edges[u].size();
    for (const auto& edge : edges[u]) {
      dependents[edge.first].push_back(u);
    }
  }
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t u = 0; u < n; ++u) {
    if (waiting[u] == 0) {
      ready.push(u);
    }
  }
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    std::size_t u = ready.top();
    ready.pop();
    order.push_back(u);
    for (std::size_t d : dependents[u]) {
      if (--waiting[d] == 0) {
        ready.push(d);
      }
    }
  }
  return order;
}

std::string nodeContext(const GraphNode& node) {
  return "node '" + node.decl.name + "' (" + node.decl.type + ") at " +
         formatLocation(node.decl.where);
}

}  // namespace

std::unique_ptr<Graph> Graph::validate(const ConfigDocument& document, const TypeRegistry& registry,
                                       Diagnostics& diagnostics) {
  std::size_t first = diagnostics.size();
  std::vector<GraphNode> declared;
  std::vector<std::vector<std::pair<std::size_t, SourceLocation>>> edges;
  // With no earlier diagnostics, a node without a type cannot have been reported by loadConfig.
  Validator(document.nodes, registry, diagnostics, first == 0).run(declared, edges);
  reportCycles(declared, edges, diagnostics);
  reportSecondServingNodes(declared, diagnostics);
  reportSharedTransforms(declared, diagnostics);
  checkTuneNodes(declared, diagnostics);
  sortDiagnostics(diagnostics, first);
  if (!diagnostics.empty()) {
    return nullptr;
  }
  std::unique_ptr<Graph> graph(new Graph());
  // document_ is empty here, so this copy-constructs every YAML::Node (assigning into existing
  // nodes would rewrite the parsed tree they share).
  graph->document_ = document;
  graph->registry_ = &registry;
  for (std::size_t i : topologicalOrder(edges)) {
    graph->nodes_.push_back(std::move(declared[i]));
  }
  return graph;
}

Graph::~Graph() {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    it->instance.reset();
  }
}

Status Graph::instantiate(Host& host) { return instantiate(host, nullptr); }

Status Graph::instantiate(Host& host, const ReuseNode& reuse) {
  for (const auto& node : nodes_) {
    if (node.instance) {
      return failedPrecondition("the graph is already instantiated");
    }
  }
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    index.emplace(nodes_[i].decl.name, i);
  }
  auto unwind = [&](std::size_t created, Status status) {
    for (std::size_t k = created; k-- > 0;) {
      nodes_[k].instance.reset();
    }
    return status;
  };
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    GraphNode& node = nodes_[i];
    if (node.type == nullptr) {
      return unwind(i, internalError("node '" + node.decl.name + "' has no validated type"));
    }
    if (reuse) {
      if (auto kept = reuse(node)) {
        node.instance = std::move(kept);
        continue;
      }
    }
    NodeConfig config(node.decl.name, node.type->type.type, &host);
    for (const auto& [name, value] : node.values) {
      config.setValue(name, value);
    }
    for (const auto& [name, targets] : node.refs) {
      std::vector<std::string> types;
      std::vector<std::shared_ptr<Node>> instances;
      for (const auto& target : targets) {
        const GraphNode& ref = nodes_[index.at(target)];
        types.push_back(ref.decl.type);
        instances.push_back(ref.instance);
      }
      config.setRefs(name, targets, std::move(types), std::move(instances));
    }
    auto made = registry_->instantiate(config);
    if (!made.ok()) {
      const Status& status = made.status();
      return unwind(i, Status(status.code(), nodeContext(node) + ": " + status.message()));
    }
    node.instance = std::move(made).value();
  }
  return okStatus();
}

std::optional<NodeConfig> validateNode(const NodeDecl& decl, const TypeRegistry& registry,
                                       Host& host, Diagnostics& diagnostics) {
  const std::size_t first = diagnostics.size();
  std::vector<NodeDecl> decls{decl};
  std::vector<GraphNode> nodes;
  std::vector<std::vector<std::pair<std::size_t, SourceLocation>>> edges;
  Validator(decls, registry, diagnostics, true).run(nodes, edges);
  if (diagnostics.size() == first && !nodes.empty() && !nodes.front().refs.empty()) {
    diagnostics.push_back({decl.where,
                           "node '" + decl.name + "' (" + decl.type +
                               ") references other nodes, which it cannot do here",
                           "declare it in a configuration with the nodes it references"});
  }
  sortDiagnostics(diagnostics, first);
  if (diagnostics.size() != first || nodes.empty()) {
    return std::nullopt;
  }
  NodeConfig config(decl.name, decl.type, &host);
  for (auto& [name, value] : nodes.front().values) {
    config.setValue(name, std::move(value));
  }
  return config;
}

void Graph::overrideParam(std::string_view type, const std::string& name, const ParamValue& value) {
  for (GraphNode& node : nodes_) {
    if (node.type == nullptr || node.type->type.type != type) {
      continue;
    }
    auto it = std::find_if(node.values.begin(), node.values.end(),
                           [&](const auto& entry) { return entry.first == name; });
    if (it != node.values.end()) {
      it->second = value;
    } else {
      node.values.emplace_back(name, value);
    }
  }
}

std::shared_ptr<Node> Graph::node(std::string_view name) const {
  for (const auto& n : nodes_) {
    if (n.decl.name == name) {
      return n.instance;
    }
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::shared_ptr<Node>>> Graph::nodesOfKind(NodeKind kind) const {
  std::vector<std::pair<std::string, std::shared_ptr<Node>>> out;
  for (const auto& n : nodes_) {
    if (n.instance && n.type != nullptr && n.type->type.kind == kind) {
      out.emplace_back(n.decl.name, n.instance);
    }
  }
  return out;
}

}  // namespace aimass::core
