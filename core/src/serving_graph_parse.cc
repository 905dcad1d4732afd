// SPDX-License-Identifier: Apache-2.0
// The `graphs` parameter of serving.runtime, from its JSON text to GraphSpecs (serving_graph.h).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <map>
#include <utility>

#include "aimass/status.h"
#include "serving_graph.h"

namespace aimass::core {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

/// A scalar as text: strings as they are, integers in decimal (a YAML version `2` arrives as a
/// number). Empty optional for anything else.
std::optional<std::string> scalarText(const Var& v) {
  if (v.isString()) {
    return v.convert<std::string>();
  }
  if (v.isInteger()) {
    return std::to_string(v.convert<std::int64_t>());
  }
  return std::nullopt;
}

Expected<std::string> needText(const Object::Ptr& object, const std::string& field,
                               const std::string& where, bool required) {
  if (!object->has(field) || object->get(field).isEmpty()) {
    if (required) {
      return invalidArgument(where + ": '" + field + "' is required");
    }
    return std::string();
  }
  auto text = scalarText(object->get(field));
  if (!text || text->empty()) {
    return invalidArgument(where + ": '" + field + "' must be a non-empty string");
  }
  return *text;
}

Expected<GraphTensorRef> parseRef(const std::string& text, const std::string& where) {
  const auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) {
    return invalidArgument(where + ": '" + text +
                           "' must be 'request.INPUT' or 'STEP.OUTPUT'");
  }
  return GraphTensorRef{text.substr(0, dot), text.substr(dot + 1)};
}

Object::Ptr objectOf(const Var& v) {
  return v.type() == typeid(Object::Ptr) ? v.extract<Object::Ptr>() : nullptr;
}

Array::Ptr arrayOf(const Var& v) {
  return v.type() == typeid(Array::Ptr) ? v.extract<Array::Ptr>() : nullptr;
}

/// `field` of `object` as a mapping of names to strings, in written order.
Expected<std::vector<std::pair<std::string, std::string>>> stringMap(const Object::Ptr& object,
                                                                     const std::string& field,
                                                                     const std::string& where) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!object->has(field)) {
    return out;
  }
  Object::Ptr map = objectOf(object->get(field));
  if (!map) {
    return invalidArgument(where + ": '" + field + "' must be a mapping of names to strings");
  }
  for (const auto& [key, value] : *map) {
    auto text = scalarText(value);
    if (!text) {
      return invalidArgument(where + ": " + field + "." + key + " must be a string");
    }
    out.emplace_back(key, *text);
  }
  return out;
}

Expected<GraphCondition> parseCondition(const Var& v, const std::string& where) {
  static const std::map<std::string, GraphCondition::Op> kOps = {
      {"equals", GraphCondition::Op::kEquals},
      {"not_equals", GraphCondition::Op::kNotEquals},
      {"less", GraphCondition::Op::kLess},
      {"less_equal", GraphCondition::Op::kLessEqual},
      {"greater", GraphCondition::Op::kGreater},
      {"greater_equal", GraphCondition::Op::kGreaterEqual},
  };
  Object::Ptr when = objectOf(v);
  if (!when || when->size() != 1) {
    return invalidArgument(where + ": 'when' must be a mapping of one comparison: equals, "
                           "not_equals, less, less_equal, greater or greater_equal");
  }
  const auto& [name, value] = *when->begin();
  auto op = kOps.find(name);
  if (op == kOps.end()) {
    return invalidArgument(where + ": unknown comparison '" + name +
                           "' (equals, not_equals, less, less_equal, greater, greater_equal)");
  }
  GraphCondition condition;
  condition.op = op->second;
  if (value.isNumeric()) {
    condition.number = value.convert<double>();
  } else if (value.isString()) {
    condition.text = value.convert<std::string>();
    if (condition.op != GraphCondition::Op::kEquals &&
        condition.op != GraphCondition::Op::kNotEquals) {
      return invalidArgument(where + ": '" + name + "' compares numbers; a text value can only "
                             "be compared with equals or not_equals");
    }
  } else {
    return invalidArgument(where + ": the value of '" + name + "' must be a number or a string");
  }
  return condition;
}

Status parseSwitch(const Var& v, GraphStep& step, const std::string& where) {
  Object::Ptr sw = objectOf(v);
  if (!sw) {
    return invalidArgument(where + ": 'switch' must be a mapping {on, cases, default}");
  }
  AIMASS_ASSIGN_OR_RETURN(std::string on, needText(sw, "on", where + ".switch", true));
  AIMASS_ASSIGN_OR_RETURN(step.on, parseRef(on, where + ".switch.on"));
  Array::Ptr cases = sw->has("cases") ? arrayOf(sw->get("cases")) : nullptr;
  if (!cases || cases->size() == 0) {
    return invalidArgument(where + ".switch: 'cases' must be a non-empty list of "
                           "{when, model, version}");
  }
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const std::string at = where + ".switch.cases[" + std::to_string(i) + "]";
    Object::Ptr entry = objectOf(cases->get(static_cast<unsigned>(i)));
    if (!entry || !entry->has("when")) {
      return invalidArgument(at + ": must be a mapping {when, model, version}");
    }
    GraphCase c;
    AIMASS_ASSIGN_OR_RETURN(c.when, parseCondition(entry->get("when"), at + ".when"));
    AIMASS_ASSIGN_OR_RETURN(c.target.model, needText(entry, "model", at, true));
    AIMASS_ASSIGN_OR_RETURN(c.target.version, needText(entry, "version", at, false));
    step.cases.push_back(std::move(c));
  }
  if (sw->has("default")) {
    GraphTarget fallback;
    AIMASS_ASSIGN_OR_RETURN(fallback.model, needText(sw, "default", where + ".switch", true));
    AIMASS_ASSIGN_OR_RETURN(fallback.version,
                            needText(sw, "default_version", where + ".switch", false));
    step.fallback = std::move(fallback);
  }
  for (const auto& [key, value] : *sw) {
    if (key != "on" && key != "cases" && key != "default" && key != "default_version") {
      return invalidArgument(where + ".switch: unknown field '" + key +
                             "' (on, cases, default, default_version)");
    }
  }
  return okStatus();
}

Expected<GraphStep> parseStep(const Var& v, const std::string& where) {
  Object::Ptr object = objectOf(v);
  if (!object) {
    return invalidArgument(where + ": a step must be a mapping {name, model | switch, inputs, "
                           "outputs}");
  }
  GraphStep step;
  AIMASS_ASSIGN_OR_RETURN(step.name, needText(object, "name", where, true));
  const std::string at = where + " (step '" + step.name + "')";
  for (const auto& [key, value] : *object) {
    if (key != "name" && key != "model" && key != "version" && key != "switch" &&
        key != "inputs" && key != "outputs") {
      return invalidArgument(at + ": unknown field '" + key +
                             "' (name, model, version, switch, inputs, outputs)");
    }
  }
  const bool has_model = object->has("model");
  step.is_switch = object->has("switch");
  if (has_model == step.is_switch) {
    return invalidArgument(at + ": give either 'model' or 'switch'");
  }
  if (step.is_switch) {
    if (object->has("version")) {
      return invalidArgument(at + ": 'version' belongs to a plain step; a switch names a "
                             "version per case");
    }
    AIMASS_RETURN_IF_ERROR(parseSwitch(object->get("switch"), step, at));
  } else {
    AIMASS_ASSIGN_OR_RETURN(step.target.model, needText(object, "model", at, true));
    AIMASS_ASSIGN_OR_RETURN(step.target.version, needText(object, "version", at, false));
  }
  AIMASS_ASSIGN_OR_RETURN(auto inputs, stringMap(object, "inputs", at));
  for (auto& [input, source] : inputs) {
    AIMASS_ASSIGN_OR_RETURN(GraphTensorRef ref, parseRef(source, at + ".inputs." + input));
    step.inputs.emplace_back(input, std::move(ref));
  }
  AIMASS_ASSIGN_OR_RETURN(step.renames, stringMap(object, "outputs", at));
  return step;
}

Expected<GraphSpec> parseGraph(const std::string& name, const Var& v) {
  const std::string where = "graphs." + name;
  Object::Ptr object = objectOf(v);
  if (!object) {
    return invalidArgument(where + ": must be a mapping {steps, outputs}");
  }
  for (const auto& [key, value] : *object) {
    if (key != "steps" && key != "outputs") {
      return invalidArgument(where + ": unknown field '" + key + "' (steps, outputs)");
    }
  }
  GraphSpec spec;
  spec.name = name;
  Array::Ptr steps = object->has("steps") ? arrayOf(object->get("steps")) : nullptr;
  if (!steps || steps->size() == 0) {
    return invalidArgument(where + ": 'steps' must be a non-empty list");
  }
  for (std::size_t i = 0; i < steps->size(); ++i) {
    AIMASS_ASSIGN_OR_RETURN(GraphStep step, parseStep(steps->get(static_cast<unsigned>(i)),
                                                      where + ".steps[" + std::to_string(i) + "]"));
    spec.steps.push_back(std::move(step));
  }
  AIMASS_ASSIGN_OR_RETURN(auto outputs, stringMap(object, "outputs", where));
  if (outputs.empty()) {
    return invalidArgument(where + ": 'outputs' must map at least one graph output to "
                           "'STEP.OUTPUT'");
  }
  for (auto& [output, source] : outputs) {
    AIMASS_ASSIGN_OR_RETURN(GraphTensorRef ref, parseRef(source, where + ".outputs." + output));
    spec.outputs.emplace_back(output, std::move(ref));
  }
  return spec;
}

}  // namespace

Expected<std::vector<GraphSpec>> parseGraphs(std::string_view json) {
  std::vector<GraphSpec> out;
  if (json.empty() || json == "null") {
    return out;
  }
  Object::Ptr graphs;
  Status parsed = guard("reading graphs", [&] {
    Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
    graphs = objectOf(parser.parse(std::string(json)));
    return okStatus();
  });
  AIMASS_RETURN_IF_ERROR(parsed);
  if (!graphs) {
    return invalidArgument("graphs: must be a mapping of graph names to {steps, outputs}");
  }
  for (const auto& [name, value] : *graphs) {
    AIMASS_ASSIGN_OR_RETURN(GraphSpec spec, parseGraph(name, value));
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace aimass::core
