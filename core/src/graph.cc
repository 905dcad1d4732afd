// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/graph.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <system_error>
#include <utility>

#include "aimass/util/number_text.h"
#include "yaml_location.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

std::string formatLocation(const SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

/// The element type of a list parameter type (the type itself for scalars).
ParamType elementType(ParamType type) {
  switch (type) {
    case ParamType::kStringList:
      return ParamType::kString;
    case ParamType::kIntList:
      return ParamType::kInt;
    case ParamType::kFloatList:
      return ParamType::kFloat;
    case ParamType::kRefList:
      return ParamType::kRef;
    default:
      return type;
  }
}

bool isListType(ParamType type) { return elementType(type) != type; }

/// "an integer", "a number", ...: what a scalar of `type` must be, for messages.
std::string expectedText(ParamType type) {
  switch (elementType(type)) {
    case ParamType::kBool:
      return "true or false";
    case ParamType::kInt:
      return "an integer";
    case ParamType::kFloat:
      return "a number";
    case ParamType::kString:
      return "a string";
    case ParamType::kPath:
      return "a path";
    case ParamType::kRef:
      return "a node name";
    default:
      return "a value";
  }
}

std::optional<bool> parseBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

enum class NumberError { kNone, kSyntax, kRange };

/// YAML 1.2 core-schema integers: decimal with an optional sign, 0x hex, 0o octal.
NumberError parseInt(const std::string& s, std::int64_t& out) {
  std::string_view text = s;
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    base = text[1] == 'x' ? 16 : 8;
    text.remove_prefix(2);
  }
  if (text.empty() || text.front() == '+' || text.front() == '-') {
    return NumberError::kSyntax;
  }
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (end != text.data() + text.size()) {
    return NumberError::kSyntax;
  }
  constexpr std::uint64_t kMaxPositive = static_cast<std::uint64_t>(INT64_MAX);
  if (ec == std::errc::result_out_of_range || magnitude > kMaxPositive + (negative ? 1 : 0)) {
    return NumberError::kRange;
  }
  if (ec != std::errc()) {
    return NumberError::kSyntax;
  }
  out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return NumberError::kNone;
}

/// Decimal and exponent notation, and YAML's .inf / -.inf; never NaN.
NumberError parseFloat(const std::string& s, double& out) {
  std::string_view text = s;
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text == ".inf" || text == ".Inf" || text == ".INF") {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return NumberError::kNone;
  }
  // from_chars would also take "inf", "nan" and hex digits: accept only what YAML calls numbers.
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string_view::npos ||
      text.front() == '+' || text.front() == '-') {
    return NumberError::kSyntax;
  }
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (end != text.data() + text.size()) {
    return NumberError::kSyntax;
  }
  if (ec == std::errc::result_out_of_range) {
    return NumberError::kRange;
  }
  if (ec != std::errc()) {
    return NumberError::kSyntax;
  }
  out = negative ? -value : value;
  return NumberError::kNone;
}

/// Where a list element is, or where its list is when it has no mark.
SourceLocation elementLocation(const YAML::Node& element, const SourceLocation& list) {
  return locationOf(element, list);
}

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

  /// Converts one scalar to `type`'s element type. `what` names it ("parameter 'x' of node
  /// 'y'", "element 2 of ..."). nullopt after adding a diagnostic.
  std::optional<ParamValue> convertScalar(const YAML::Node& value, const ParamSpec& spec,
                                          const std::string& what, const SourceLocation& where,
                                          const NodeDecl& decl);
  /// Converts a declared value; for references, fills `refs` with the names instead.
  std::optional<ParamValue> convert(const ParamDecl& param, const ParamSpec& spec,
                                    const NodeDecl& decl,
                                    std::vector<std::pair<std::string, SourceLocation>>& refs);
  /// Checks that `name` exists and has the spec's kind; returns its index.
  std::optional<std::size_t> resolveRef(const std::string& name, const SourceLocation& where,
                                        const ParamSpec& spec, const NodeDecl& decl);
  std::string describeParam(const ParamSpec& spec, const NodeDecl& decl) const {
    return "parameter '" + spec.name + "' of node '" + decl.name + "'";
  }
  /// "but is 'TEXT'" for the scalar `text` written at `where`, or "but the value of ${VAR} is
  /// not" when it came from the environment: such a value may be a secret and is never shown.
  static std::string butIs(const std::string& text, const SourceLocation& where,
                           const NodeDecl& decl) {
    const std::string* words = decl.fromEnvironment(where);
    return words != nullptr ? "but " + *words + " is not" : "but is '" + text + "'";
  }
  /// 'TEXT' quoted, or the words naming it when it came from the environment.
  static std::string quoted(const std::string& text, const SourceLocation& where,
                            const NodeDecl& decl) {
    const std::string* words = decl.fromEnvironment(where);
    return words != nullptr ? *words : "'" + text + "'";
  }

  const std::vector<NodeDecl>& decls_;
  const TypeRegistry& registry_;
  Diagnostics& diagnostics_;
  bool report_missing_types_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<const RegisteredType*> types_;
  std::vector<std::string> names_;
};

std::optional<ParamValue> Validator::convertScalar(const YAML::Node& value, const ParamSpec& spec,
                                                   const std::string& what,
                                                   const SourceLocation& where,
                                                   const NodeDecl& decl) {
  ParamType type = elementType(spec.type);
  if (value.IsNull() || !value.IsDefined()) {
    error(where, what + " has no value",
          spec.required ? "give it " + expectedText(type)
                        : "give it " + expectedText(type) + ", or remove it to use the default");
    return std::nullopt;
  }
  if (!value.IsScalar()) {
    error(where, what + " must be " + expectedText(type) + ", not " + describeNodeType(value));
    return std::nullopt;
  }
  const std::string& text = value.Scalar();
  auto checkRange = [&](double v, const std::string& shown) {
    bool low = spec.min && v < *spec.min;
    bool high = spec.max && v > *spec.max;
    if (!low && !high) {
      return true;
    }
    std::string range = spec.min && spec.max ? "in [" + formatNumber(*spec.min) + ", " +
                                                   formatNumber(*spec.max) + "]"
                        : spec.min ? "at least " + formatNumber(*spec.min)
                                   : "at most " + formatNumber(*spec.max);
    const std::string* words = decl.fromEnvironment(where);
    error(where, what + " must be " + range + ", " +
                     (words != nullptr ? "but " + *words + " is not" : "but is " + shown));
    return false;
  };
  switch (type) {
    case ParamType::kBool: {
      auto b = parseBool(text);
      if (!b) {
        error(where, what + " must be true or false, " + butIs(text, where, decl));
        return std::nullopt;
      }
      return ParamValue(*b);
    }
    case ParamType::kInt: {
      std::int64_t v = 0;
      switch (parseInt(text, v)) {
        case NumberError::kNone:
          break;
        case NumberError::kRange:
          error(where, what + " is outside the 64-bit integer range: " + quoted(text, where, decl));
          return std::nullopt;
        case NumberError::kSyntax:
          error(where, what + " must be an integer, " + butIs(text, where, decl));
          return std::nullopt;
      }
      if (!checkRange(static_cast<double>(v), std::to_string(v))) {
        return std::nullopt;
      }
      return ParamValue(v);
    }
    case ParamType::kFloat: {
      double v = 0;
      switch (parseFloat(text, v)) {
        case NumberError::kNone:
          break;
        case NumberError::kRange:
          error(where,
                what + " is outside the range of a 64-bit float: " + quoted(text, where, decl));
          return std::nullopt;
        case NumberError::kSyntax:
          error(where, what + " must be a number, " + butIs(text, where, decl));
          return std::nullopt;
      }
      if (!checkRange(v, formatNumber(v))) {
        return std::nullopt;
      }
      return ParamValue(v);
    }
    case ParamType::kString: {
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        std::string guess = closestMatch(text, spec.choices);
        error(
            where,
            what + " must be one of: " + joinNames(spec.choices) + ", " + butIs(text, where, decl),
            guess.empty() ? std::string() : "did you mean '" + guess + "'?");
        return std::nullopt;
      }
      return ParamValue(text);
    }
    case ParamType::kPath: {
      if (text.empty()) {
        error(where, what + " must be a path, but is empty");
        return std::nullopt;
      }
      fs::path p(text);
      return ParamValue((p.is_absolute() ? p : decl.base_dir / p).lexically_normal().string());
    }
    case ParamType::kRef: {
      if (text.empty()) {
        error(where, what + " must be a node name, but is empty");
        return std::nullopt;
      }
      return ParamValue(text);
    }
    default:
      break;
  }
  error(where, what + " has a type the host does not know");
  return std::nullopt;
}

std::optional<ParamValue> Validator::convert(
    const ParamDecl& param, const ParamSpec& spec, const NodeDecl& decl,
    std::vector<std::pair<std::string, SourceLocation>>& refs) {
  std::string what = describeParam(spec, decl);
  const YAML::Node& value = param.value;
  if (!isListType(spec.type)) {
    auto converted = convertScalar(value, spec, what, param.value_where, decl);
    if (converted && spec.type == ParamType::kRef) {
      refs.emplace_back(std::get<std::string>(*converted), param.value_where);
    }
    return converted;
  }
  // A list parameter also takes a single scalar, as a list of one: `models: clf` reads like
  // `models: [clf]`, as `include:` and `plugins:` do.
  std::vector<std::pair<YAML::Node, SourceLocation>> elements;
  if (value.IsSequence()) {
    for (const auto& element : value) {
      elements.emplace_back(element, elementLocation(element, param.value_where));
    }
  } else if (value.IsScalar()) {
    elements.emplace_back(value, param.value_where);
  } else {
    error(param.value_where,
          value.IsMap() ? what + " must be a list, not a map" : what + " has no value",
          value.IsMap() ? "write it as [a, b, c]" : "give it a list such as [a, b]");
    return std::nullopt;
  }
  std::vector<std::string> strings;
  std::vector<std::int64_t> ints;
  std::vector<double> floats;
  bool ok = true;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const auto& [element, where] = elements[i];
    std::string element_what =
        value.IsSequence() ? "element " + std::to_string(i + 1) + " of " + what : what;
    auto converted = convertScalar(element, spec, element_what, where, decl);
    if (!converted) {
      ok = false;
      continue;
    }
    if (auto* s = std::get_if<std::string>(&*converted)) {
      if (spec.type == ParamType::kRefList) {
        refs.emplace_back(*s, where);
      }
      strings.push_back(std::move(*s));
    } else if (auto* n = std::get_if<std::int64_t>(&*converted)) {
      ints.push_back(*n);
    } else if (auto* d = std::get_if<double>(&*converted)) {
      floats.push_back(*d);
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  switch (spec.type) {
    case ParamType::kIntList:
      return ParamValue(std::move(ints));
    case ParamType::kFloatList:
      return ParamValue(std::move(floats));
    default:
      return ParamValue(std::move(strings));
  }
}

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
    for (const auto& spec : specs) {
      bool is_ref = spec.type == ParamType::kRef || spec.type == ParamType::kRefList;
      std::vector<std::pair<std::string, SourceLocation>> refs;
      auto found = given.find(spec.name);
      if (found != given.end()) {
        auto value = convert(*found->second, spec, decl, refs);
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
        ParamValue value = spec.default_value;
        if (spec.type == ParamType::kPath) {
          if (auto* s = std::get_if<std::string>(&value)) {
            fs::path p(*s);
            value = (p.is_absolute() ? p : decl.base_dir / p).lexically_normal().string();
          }
        } else if (spec.type == ParamType::kFloat) {
          if (auto* n = std::get_if<std::int64_t>(&value)) {
            value = static_cast<double>(*n);
          }
        } else if (spec.type == ParamType::kFloatList) {
          if (auto* n = std::get_if<std::vector<std::int64_t>>(&value)) {
            value = std::vector<double>(n->begin(), n->end());
          }
        }
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

Status Graph::instantiate(Host& host) {
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
