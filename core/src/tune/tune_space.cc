// SPDX-License-Identifier: Apache-2.0
#include "tune/tune_space.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "aimass/core/type_registry.h"
#include "aimass/util/number_text.h"
#include "param_conversion.h"
#include "yaml_location.h"

namespace aimass::core {
namespace {

constexpr const char* kKinds[] = {"uniform", "log_uniform", "int", "log_int", "choice"};

class SpaceParser {
 public:
  SpaceParser(const NodeDecl& tune, const std::vector<GraphNode>& nodes,
              const std::vector<std::string>& closure, Diagnostics& diagnostics)
      : tune_(tune), nodes_(nodes), closure_(closure), diagnostics_(diagnostics) {}

  std::optional<std::vector<TuneDimension>> run(const ParamDecl& space) {
    const std::size_t before = diagnostics_.size();
    if (!space.value.IsMap() || space.value.size() == 0) {
      error(space.value_where,
            "parameter 'space' of node '" + tune_.name + "' must map NODE.PARAM keys to "
            "distributions",
            "for example: space: {adam.learning_rate: {log_uniform: [1e-4, 1e-1]}}");
      return std::nullopt;
    }
    std::set<std::string> seen;
    for (const auto& entry : space.value) {
      SourceLocation where = locationOf(entry.first, space.where);
      const std::string key = entry.first.Scalar();
      if (!seen.insert(key).second) {
        error(where, "space key '" + key + "' is given twice");
        continue;
      }
      auto dimension = parseEntry(key, where, entry.second);
      if (dimension) {
        dimensions_.push_back(std::move(*dimension));
      }
    }
    if (diagnostics_.size() != before) {
      return std::nullopt;
    }
    return std::move(dimensions_);
  }

 private:
  void error(SourceLocation where, std::string message, std::string hint = {}) {
    diagnostics_.push_back({std::move(where), std::move(message), std::move(hint)});
  }

  /// The node and parameter a key names, or nullptr after an error.
  const ParamSpec* resolveKey(const std::string& key, const SourceLocation& where,
                              const GraphNode*& target) {
    const auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size()) {
      error(where, "space key '" + key + "' must be NODE.PARAM",
            "for example 'adam.learning_rate'");
      return nullptr;
    }
    const std::string node_name = key.substr(0, dot);
    const std::string param_name = key.substr(dot + 1);
    target = findGraphNode(nodes_, node_name);
    if (target == nullptr) {
      std::vector<std::string> names;
      for (const auto& node : nodes_) {
        names.push_back(node.decl.name);
      }
      const std::string guess = closestMatch(node_name, names);
      error(where, "space key '" + key + "' names an unknown node '" + node_name + "'",
            guess.empty() ? std::string() : "did you mean '" + guess + "'?");
      return nullptr;
    }
    if (target->type == nullptr) {
      return nullptr;  // its unknown type is already reported
    }
    if (std::find(closure_.begin(), closure_.end(), node_name) == closure_.end()) {
      error(where,
            "space key '" + key + "': node '" + node_name +
                "' is not used by the trial job, so tuning it would change nothing",
            "tune parameters of the trial job or of the nodes it references");
      return nullptr;
    }
    std::vector<std::string> names;
    for (const auto& spec : target->type->type.params) {
      if (spec.name == param_name) {
        if (spec.type == ParamType::kRef || spec.type == ParamType::kRefList ||
            spec.type == ParamType::kRecordList || spec.type == ParamType::kRecordMap ||
            spec.type == ParamType::kJson) {
          error(where, "space key '" + key + "': parameter '" + param_name + "' of " +
                           target->decl.type + " is a " +
                           std::string(paramTypeName(spec.type)) + ", which cannot be tuned",
                "tune numbers, strings, booleans and their lists");
          return nullptr;
        }
        return &spec;
      }
      names.push_back(spec.name);
    }
    const std::string guess = closestMatch(param_name, names);
    error(where,
          "space key '" + key + "': " + target->decl.type + " has no parameter '" + param_name +
              "'",
          guess.empty() ? "its parameters are: " + joinNames(names)
                        : "did you mean '" + guess + "'?");
    return nullptr;
  }

  /// Checks one value for the parameter with the configuration's own converter, so a trial's
  /// value passes exactly the checks a value written in the file would.
  bool checkValue(const GraphNode& target, const ParamSpec& spec, const YAML::Node& value,
                  const SourceLocation& where) {
    ParamConverter converter(target.decl, diagnostics_);
    RefSites refs;
    return converter.convert(value, where, spec, refs).has_value();
  }

  std::optional<TuneDimension> parseEntry(const std::string& key, const SourceLocation& where,
                                          const YAML::Node& body) {
    const GraphNode* target = nullptr;
    const ParamSpec* spec = resolveKey(key, where, target);
    if (spec == nullptr) {
      return std::nullopt;
    }
    TuneDimension d;
    d.key = key;
    d.node = target->decl.name;
    d.param = spec->name;
    d.param_type = spec->type;
    d.where = where;
    if (!body.IsMap()) {
      error(locationOf(body, where),
            "space key '" + key + "' must map to a distribution such as {uniform: [0, 1]}",
            "the distributions are uniform, log_uniform, int, log_int and choice");
      return std::nullopt;
    }
    bool has_kind = false;
    bool ok = true;
    for (const auto& field : body) {
      const std::string name = field.first.Scalar();
      const SourceLocation field_where = locationOf(field.first, where);
      if (name == "when") {
        ok = parseWhen(d, field.second, field_where) && ok;
        continue;
      }
      const auto kind = tuneKindFromName(name);
      if (!kind) {
        std::vector<std::string> known(std::begin(kKinds), std::end(kKinds));
        known.push_back("when");
        const std::string guess = closestMatch(name, known);
        error(field_where, "space key '" + key + "' has an unknown field '" + name + "'",
              guess.empty() ? "the fields are " + joinNames(known)
                            : "did you mean '" + guess + "'?");
        ok = false;
        continue;
      }
      if (has_kind) {
        error(field_where, "space key '" + key + "' gives two distributions; keep one");
        ok = false;
        continue;
      }
      has_kind = true;
      d.kind = *kind;
      ok = (d.kind == TuneDimension::Kind::kChoice
                ? parseChoices(d, *target, *spec, field.second, field_where)
                : parseRange(d, *target, *spec, field.second, field_where)) &&
           ok;
    }
    if (!has_kind) {
      error(where, "space key '" + key + "' gives no distribution",
            "add one of uniform, log_uniform, int, log_int or choice");
      return std::nullopt;
    }
    if (!ok) {
      return std::nullopt;
    }
    return d;
  }

  bool parseRange(TuneDimension& d, const GraphNode& target, const ParamSpec& spec,
                  const YAML::Node& bounds, const SourceLocation& where) {
    const bool integral =
        d.kind == TuneDimension::Kind::kInt || d.kind == TuneDimension::Kind::kLogInt;
    const bool log = d.kind == TuneDimension::Kind::kLogUniform ||
                     d.kind == TuneDimension::Kind::kLogInt;
    const std::string what = "space key '" + d.key + "': " + tuneKindName(d.kind);
    if (spec.type != ParamType::kFloat && !(integral && spec.type == ParamType::kInt)) {
      error(where,
            what + " needs a " + (integral ? "int or float" : "float") + " parameter, but '" +
                d.param + "' is a " + std::string(paramTypeName(spec.type)),
            spec.type == ParamType::kInt ? "use int or log_int for an int parameter"
                                         : "use choice: [...] to list the values to try");
      return false;
    }
    if (!bounds.IsSequence() || bounds.size() != 2) {
      error(locationOf(bounds, where), what + " takes [LOW, HIGH]");
      return false;
    }
    double values[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      const YAML::Node bound = bounds[i];
      const SourceLocation bound_where = locationOf(bound, where);
      double v = 0;
      std::int64_t n = 0;
      if (!bound.IsScalar() || !YAML::convert<double>::decode(bound, v) || !std::isfinite(v)) {
        error(bound_where, what + " bound " + std::to_string(i + 1) + " is not a finite number");
        return false;
      }
      if (integral && !YAML::convert<std::int64_t>::decode(bound, n)) {
        error(bound_where, what + " bound '" + bound.Scalar() + "' is not an integer");
        return false;
      }
      if (!checkValue(target, spec, bound, bound_where)) {
        return false;  // outside the parameter's own range: the converter said so
      }
      values[i] = v;
    }
    if (!(values[0] < values[1])) {
      error(where, what + " needs LOW < HIGH, got [" + formatNumber(values[0]) + ", " +
                       formatNumber(values[1]) + "]");
      return false;
    }
    if (log && values[0] <= 0) {
      error(where, what + " is on a log scale, so LOW must be above 0, got " +
                       formatNumber(values[0]));
      return false;
    }
    d.low = values[0];
    d.high = values[1];
    return true;
  }

  bool parseChoices(TuneDimension& d, const GraphNode& target, const ParamSpec& spec,
                    const YAML::Node& list, const SourceLocation& where) {
    if (!list.IsSequence() || list.size() == 0) {
      error(locationOf(list, where),
            "space key '" + d.key + "': choice takes a non-empty list of values");
      return false;
    }
    bool ok = true;
    for (const auto& value : list) {
      const SourceLocation value_where = locationOf(value, where);
      if (!checkValue(target, spec, value, value_where)) {
        ok = false;
        continue;
      }
      std::string why;
      auto json = yamlToJson(value, why);
      if (!json) {
        error(value_where, "space key '" + d.key + "': " + why);
        ok = false;
        continue;
      }
      if (std::find(d.choices.begin(), d.choices.end(), *json) != d.choices.end()) {
        error(value_where, "space key '" + d.key + "': choice " + *json + " is listed twice");
        ok = false;
        continue;
      }
      d.choices.push_back(std::move(*json));
    }
    return ok;
  }

  bool parseWhen(TuneDimension& d, const YAML::Node& when, const SourceLocation& where) {
    if (!when.IsMap() || when.size() != 1) {
      error(locationOf(when, where), "space key '" + d.key + "': when takes {KEY: VALUES}",
            "KEY is an earlier choice of the space; VALUES one of its values or a list of them");
      return false;
    }
    const auto entry = *when.begin();
    const std::string parent_key = entry.first.Scalar();
    const SourceLocation parent_where = locationOf(entry.first, where);
    std::optional<std::size_t> parent;
    for (std::size_t i = 0; i < dimensions_.size(); ++i) {
      if (dimensions_[i].key == parent_key) {
        parent = i;
      }
    }
    if (!parent || dimensions_[*parent].kind != TuneDimension::Kind::kChoice) {
      error(parent_where,
            "space key '" + d.key + "': when names '" + parent_key +
                "', which is not an earlier choice of the space",
            "a conditional dimension follows the choice it depends on");
      return false;
    }
    const TuneDimension& p = dimensions_[*parent];
    // A sequence lists the values (a list parameter's single value is written [[...]]).
    std::vector<YAML::Node> values;
    if (entry.second.IsSequence()) {
      for (const auto& v : entry.second) {
        values.push_back(v);
      }
    } else {
      values.push_back(entry.second);
    }
    for (const auto& v : values) {
      std::string why;
      auto json = yamlToJson(v, why);
      auto found = json ? std::find(p.choices.begin(), p.choices.end(), *json) : p.choices.end();
      if (found == p.choices.end()) {
        error(locationOf(v, parent_where),
              "space key '" + d.key + "': when needs a value of '" + parent_key +
                  "' among its choices, got " + (json ? *json : why),
              "its choices are " + joinNames(p.choices));
        return false;
      }
      d.parent_choices.push_back(static_cast<std::size_t>(found - p.choices.begin()));
    }
    d.parent = parent;
    return true;
  }

  const NodeDecl& tune_;
  const std::vector<GraphNode>& nodes_;
  const std::vector<std::string>& closure_;
  Diagnostics& diagnostics_;
  std::vector<TuneDimension> dimensions_;
};

}  // namespace

const ParamDecl* findParamDecl(const NodeDecl& decl, const std::string& name) {
  for (const auto& p : decl.params) {
    if (p.name == name) {
      return &p;
    }
  }
  return nullptr;
}

const char* tuneKindName(TuneDimension::Kind kind) { return kKinds[static_cast<int>(kind)]; }

std::optional<TuneDimension::Kind> tuneKindFromName(std::string_view name) {
  const auto* found =
      std::find_if(std::begin(kKinds), std::end(kKinds), [&](const char* k) { return name == k; });
  if (found == std::end(kKinds)) {
    return std::nullopt;
  }
  return static_cast<TuneDimension::Kind>(found - std::begin(kKinds));
}

std::optional<std::vector<TuneDimension>> parseTuneSpace(const NodeDecl& tune,
                                                         const ParamDecl& space,
                                                         const std::vector<GraphNode>& nodes,
                                                         const std::vector<std::string>& closure,
                                                         Diagnostics& diagnostics) {
  return SpaceParser(tune, nodes, closure, diagnostics).run(space);
}

SearchSpace toSearchSpace(const std::vector<TuneDimension>& dimensions) {
  SearchSpace space;
  for (const auto& d : dimensions) {
    SearchDimension s;
    s.name = d.key;
    switch (d.kind) {
      case TuneDimension::Kind::kChoice:
        s.type = SearchDimension::Type::kCategorical;
        s.choices = d.choices;
        break;
      case TuneDimension::Kind::kInt:
      case TuneDimension::Kind::kLogInt:
        s.type = SearchDimension::Type::kInt;
        break;
      default:
        s.type = SearchDimension::Type::kFloat;
    }
    s.low = d.low;
    s.high = d.high;
    s.log_scale =
        d.kind == TuneDimension::Kind::kLogUniform || d.kind == TuneDimension::Kind::kLogInt;
    s.parent = d.parent;
    s.parent_choices = d.parent_choices;
    space.push_back(std::move(s));
  }
  return space;
}

std::string trialValueText(const TuneDimension& d, double v) {
  if (std::isnan(v)) {
    return {};
  }
  if (d.kind == TuneDimension::Kind::kChoice) {
    const auto index = static_cast<std::size_t>(v);
    return index < d.choices.size() ? d.choices[index] : std::string();
  }
  if (d.param_type == ParamType::kInt) {
    return std::to_string(static_cast<std::int64_t>(std::llround(v)));
  }
  return formatNumber(v);
}

const GraphNode* findGraphNode(const std::vector<GraphNode>& nodes, const std::string& name) {
  for (const auto& node : nodes) {
    if (node.decl.name == name) {
      return &node;
    }
  }
  return nullptr;
}

std::string firstRef(const GraphNode& node, const std::string& param) {
  for (const auto& [name, targets] : node.refs) {
    if (name == param && !targets.empty()) {
      return targets.front();
    }
  }
  return {};
}

std::vector<std::string> dependencyClosure(const std::vector<GraphNode>& nodes,
                                           const std::string& job) {
  std::vector<std::string> closure = {job};
  for (std::size_t i = 0; i < closure.size(); ++i) {
    for (const auto& node : nodes) {
      if (node.decl.name != closure[i]) {
        continue;
      }
      for (const auto& [param, targets] : node.refs) {
        for (const auto& target : targets) {
          if (std::find(closure.begin(), closure.end(), target) == closure.end()) {
            closure.push_back(target);
          }
        }
      }
    }
  }
  return closure;
}

void checkTuneNodes(const std::vector<GraphNode>& nodes, Diagnostics& diagnostics) {
  for (const auto& node : nodes) {
    if (node.type == nullptr || node.decl.type != "job.tune") {
      continue;
    }
    const std::string trial = firstRef(node, "trial");
    const GraphNode* target = findGraphNode(nodes, trial);
    if (target == nullptr || target->type == nullptr) {
      continue;  // reported by the validator
    }
    if (target->decl.type != "job.train") {
      const ParamDecl* p = findParamDecl(node.decl, "trial");
      diagnostics.push_back({p != nullptr ? p->value_where : node.decl.where,
                             "parameter 'trial' of node '" + node.decl.name +
                                 "' must name a job.train, but '" + trial + "' is a " +
                                 target->decl.type,
                             ""});
      continue;
    }
    tuneSpaceOf(nodes, node, diagnostics);
  }
}

std::optional<std::vector<TuneDimension>> tuneSpaceOf(const std::vector<GraphNode>& nodes,
                                                      const GraphNode& tune,
                                                      Diagnostics& diagnostics) {
  const ParamDecl* space = findParamDecl(tune.decl, "space");
  if (space == nullptr) {
    return std::nullopt;  // missing required parameter: reported by the validator
  }
  return parseTuneSpace(tune.decl, *space, nodes,
                        dependencyClosure(nodes, firstRef(tune, "trial")), diagnostics);
}

}  // namespace aimass::core
