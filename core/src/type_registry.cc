// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/type_registry.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "aimass/util/number_text.h"
#include "pipeline/pipeline_node.h"

namespace aimass::core {
namespace {

bool isNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

bool isWellFormedName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), isNameChar);
}

// Which ParamValue alternatives a parameter of `type` may hold as its default. Integers are
// accepted for floats (withDefault(1) on a number() picks the int64 alternative); add()
// normalises them to double so the factory's getFloat() finds a double.
bool defaultMatchesType(ParamType type, const ParamValue& value) {
  switch (type) {
    case ParamType::kBool:
      return std::holds_alternative<bool>(value);
    case ParamType::kInt:
      return std::holds_alternative<std::int64_t>(value);
    case ParamType::kFloat:
      return std::holds_alternative<double>(value) || std::holds_alternative<std::int64_t>(value);
    case ParamType::kString:
    case ParamType::kPath:
    case ParamType::kRef:
      return std::holds_alternative<std::string>(value);
    case ParamType::kStringList:
    case ParamType::kRefList:
      return std::holds_alternative<std::vector<std::string>>(value);
    case ParamType::kIntList:
      return std::holds_alternative<std::vector<std::int64_t>>(value);
    case ParamType::kFloatList:
      return std::holds_alternative<std::vector<double>>(value) ||
             std::holds_alternative<std::vector<std::int64_t>>(value);
    case ParamType::kRecordList:
      return std::holds_alternative<std::vector<ParamRecord>>(value);
    case ParamType::kRecordMap:
      return std::holds_alternative<ParamRecordMap>(value);
    case ParamType::kJson:
      return std::holds_alternative<std::string>(value);
  }
  return false;
}

std::string_view valueTypeName(const ParamValue& value) {
  switch (value.index()) {
    case 1:
      return "bool";
    case 2:
      return "int";
    case 3:
      return "float";
    case 4:
      return "string";
    case 5:
      return "list<string>";
    case 6:
      return "list<int>";
    case 7:
      return "list<float>";
    case 8:
      return "list<record>";
    case 9:
      return "map<string, record>";
    default:
      return "nothing";
  }
}

bool isNumeric(ParamType type) {
  return type == ParamType::kInt || type == ParamType::kFloat || type == ParamType::kIntList ||
         type == ParamType::kFloatList;
}

bool isRef(ParamType type) { return type == ParamType::kRef || type == ParamType::kRefList; }

bool isRecords(ParamType type) {
  return type == ParamType::kRecordList || type == ParamType::kRecordMap;
}

// Whether a kRecordList / kRecordMap default holds no record (the only default they may have:
// the host does not check records written in code).
bool isEmptyRecords(const ParamValue& value) {
  if (const auto* list = std::get_if<std::vector<ParamRecord>>(&value)) {
    return list->empty();
  }
  if (const auto* map = std::get_if<ParamRecordMap>(&value)) {
    return map->empty();
  }
  return true;
}

// The numbers a numeric default holds (one for scalars, every element for lists).
std::vector<double> numbersOf(const ParamValue& value) {
  std::vector<double> out;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    out.push_back(static_cast<double>(*i));
  } else if (const auto* d = std::get_if<double>(&value)) {
    out.push_back(*d);
  } else if (const auto* is = std::get_if<std::vector<std::int64_t>>(&value)) {
    for (auto x : *is) {
      out.push_back(static_cast<double>(x));
    }
  } else if (const auto* ds = std::get_if<std::vector<double>>(&value)) {
    out = *ds;
  }
  return out;
}

Status checkFields(const NodeType& type, const ParamSpec& param);

// `owner` is empty for a parameter, or names the parameter whose records hold `param` as a
// field.
Status checkParam(const NodeType& type, const ParamSpec& param, const std::string& owner = {}) {
  const std::string label = owner.empty() ? "parameter '" + param.name + "'"
                                          : "parameter '" + owner + "' field '" + param.name + "'";
  auto fail = [&](const std::string& why) {
    return invalidArgument("type '" + type.type + "': " + label + " " + why);
  };
  if (param.name.empty()) {
    return invalidArgument(
        "type '" + type.type +
        "': " + (owner.empty() ? "a parameter" : "a field of parameter '" + owner + "'") +
        " has an empty name");
  }
  if (!isWellFormedName(param.name)) {
    return fail("has a malformed name: use only [a-z0-9_]");
  }
  if (param.name == "type" && owner.empty()) {
    return fail("uses the reserved name 'type' (it names the node's type in configs)");
  }
  if (!owner.empty() && (isRef(param.type) || isRecords(param.type))) {
    return fail("is of type " + std::string(paramTypeName(param.type)) +
                "; a record's fields are scalars and lists of scalars");
  }
  if (isRecords(param.type)) {
    AIMASS_RETURN_IF_ERROR(checkFields(type, param));
  } else if (!param.fields.empty()) {
    return fail("of type " + std::string(paramTypeName(param.type)) +
                " has fields; fields apply to list<record> and map<string, record> parameters");
  }
  if (isRef(param.type) != param.ref_kind.has_value()) {
    return fail(isRef(param.type) ? "is a reference but names no ref_kind"
                                  : "is not a reference but has a ref_kind");
  }
  if ((param.min || param.max) && !isNumeric(param.type)) {
    return fail("of type " + std::string(paramTypeName(param.type)) +
                " has a range; ranges apply to int and float parameters only");
  }
  if (param.min && param.max && *param.min > *param.max) {
    return fail("has an empty range [" + formatNumber(*param.min) + ", " +
                formatNumber(*param.max) + "]");
  }
  if (!param.choices.empty() && param.type != ParamType::kString &&
      param.type != ParamType::kStringList) {
    return fail("of type " + std::string(paramTypeName(param.type)) +
                " has choices; choices apply to string parameters only");
  }
  const bool has_default = !std::holds_alternative<std::monostate>(param.default_value);
  if (!has_default) {
    return okStatus();
  }
  if (param.required) {
    return fail("is required but has a default; a default makes it optional");
  }
  if (!defaultMatchesType(param.type, param.default_value)) {
    return fail("of type " + std::string(paramTypeName(param.type)) + " has a default of type " +
                std::string(valueTypeName(param.default_value)));
  }
  if (!isEmptyRecords(param.default_value)) {
    return fail("has records in its default; the default of a record parameter is empty");
  }
  for (double v : numbersOf(param.default_value)) {
    if ((param.min && v < *param.min) || (param.max && v > *param.max)) {
      return fail("has default " + formatNumber(v) + " outside its range [" +
                  (param.min ? formatNumber(*param.min) : "-inf") + ", " +
                  (param.max ? formatNumber(*param.max) : "inf") + "]");
    }
  }
  if (!param.choices.empty()) {
    std::vector<std::string> values;
    if (const auto* s = std::get_if<std::string>(&param.default_value)) {
      values.push_back(*s);
    } else if (const auto* l = std::get_if<std::vector<std::string>>(&param.default_value)) {
      values = *l;
    }
    for (const auto& v : values) {
      if (std::find(param.choices.begin(), param.choices.end(), v) == param.choices.end()) {
        return fail("has default '" + v + "', which is not one of its choices");
      }
    }
  }
  return okStatus();
}

Status checkFields(const NodeType& type, const ParamSpec& param) {
  if (param.fields.empty()) {
    return invalidArgument("type '" + type.type + "': parameter '" + param.name +
                           "' holds records but declares no field");
  }
  std::set<std::string_view> seen;
  for (const auto& field : param.fields) {
    AIMASS_RETURN_IF_ERROR(checkParam(type, field, param.name));
    if (!seen.insert(field.name).second) {
      return invalidArgument("type '" + type.type + "': parameter '" + param.name +
                             "' declares field '" + field.name + "' twice");
    }
  }
  return okStatus();
}

// Makes int defaults of float parameters (and record fields) doubles, so getFloat() finds a
// double.
void normaliseDefaults(std::vector<ParamSpec>& params) {
  for (auto& param : params) {
    normaliseDefaults(param.fields);
    if (param.type == ParamType::kFloat) {
      if (const auto* i = std::get_if<std::int64_t>(&param.default_value)) {
        param.default_value = static_cast<double>(*i);
      }
    } else if (param.type == ParamType::kFloatList) {
      if (const auto* is = std::get_if<std::vector<std::int64_t>>(&param.default_value)) {
        param.default_value = std::vector<double>(is->begin(), is->end());
      }
    }
  }
}

// Calls a plugin's factory while keeping its library loaded. The members are destroyed in
// reverse order, so the plugin's callable (whose code lives in the library) goes before the
// library handle that keeps that code mapped.
struct LibraryBoundFactory {
  std::shared_ptr<void> library;
  NodeFactory factory;

  Expected<std::unique_ptr<Node>> operator()(const NodeConfig& config) const {
    return factory(config);
  }
};

/// Deletes a node, then lets go of the plugin library that holds its code (the node's
/// destructor is code of that library).
struct LibraryKeepingDeleter {
  std::shared_ptr<void> library;
  void operator()(Node* node) {
    delete node;
    library.reset();
  }
};

std::string_view article(std::string_view word) {
  return word.find_first_of("aeiou") == 0 ? "an " : "a ";
}

// Calls a plugin's URI mapping while keeping its library loaded (see LibraryBoundFactory).
struct LibraryBoundMapping {
  std::shared_ptr<void> library;
  StorageUriMapping map;

  Expected<std::vector<std::pair<std::string, std::string>>> operator()(
      const StorageUriParts& uri) const {
    return map(uri);
  }
};

bool isSchemeName(std::string_view scheme) {
  return !scheme.empty() && scheme.front() >= 'a' && scheme.front() <= 'z' &&
         scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+-.") ==
             std::string_view::npos;
}

// How far a suggestion may be from what was typed: about a third of its length.
std::size_t suggestionLimit(std::string_view word) {
  return std::max<std::size_t>(1, (word.size() + 1) / 3);
}

}  // namespace

Status TypeRegistry::validateType(const NodeType& type) {
  const std::string kind(nodeKindName(type.kind));
  const auto dot = type.type.find('.');
  if (dot == std::string::npos) {
    return invalidArgument("type '" + type.type + "' is malformed: expected '" + kind + ".<name>'");
  }
  const std::string_view prefix = std::string_view(type.type).substr(0, dot);
  const std::string_view name = std::string_view(type.type).substr(dot + 1);
  if (prefix != kind) {
    return invalidArgument("type '" + type.type + "' is declared as kind '" + kind +
                           "' but its name starts with '" + std::string(prefix) + ".'; expected '" +
                           kind + "." + std::string(name) + "'");
  }
  if (!isWellFormedName(name)) {
    return invalidArgument("type '" + type.type + "' is malformed: the part after '" + kind +
                           ".' must be non-empty and use only [a-z0-9_]");
  }
  if (!type.factory) {
    return invalidArgument("type '" + type.type + "' has no factory");
  }
  std::set<std::string_view> seen;
  for (const auto& param : type.params) {
    AIMASS_RETURN_IF_ERROR(checkParam(type, param));
    if (!seen.insert(param.name).second) {
      return invalidArgument("type '" + type.type + "' declares parameter '" + param.name +
                             "' twice");
    }
  }
  return okStatus();
}

Status TypeRegistry::validateUriScheme(const StorageUriScheme& scheme, const NodeType* type) {
  const std::string who = "the URI schemes of '" + scheme.type + "'";
  if (scheme.schemes.empty()) {
    return invalidArgument(who + " name no scheme");
  }
  std::set<std::string_view> seen;
  for (const auto& name : scheme.schemes) {
    if (!isSchemeName(name)) {
      return invalidArgument(who + ": scheme '" + name +
                             "' is malformed: use lower-case letters, digits, '+', '-' and '.', "
                             "starting with a letter");
    }
    if (!seen.insert(name).second) {
      return invalidArgument(who + " name the scheme '" + name + "' twice");
    }
  }
  if (scheme.form.empty()) {
    return invalidArgument(who + " have no form (how to write such a URI, for help texts)");
  }
  if (scheme.path_param.empty() == !scheme.map) {
    return invalidArgument(who + " need exactly one of path_param and map");
  }
  if (type == nullptr) {
    return okStatus();
  }
  if (type->kind != NodeKind::kStorage) {
    return invalidArgument(who + " name a " + std::string(nodeKindName(type->kind)) +
                           " type; URI schemes name storage types");
  }
  if (!scheme.path_param.empty()) {
    auto param = std::find_if(type->params.begin(), type->params.end(),
                              [&](const ParamSpec& p) { return p.name == scheme.path_param; });
    if (param == type->params.end() ||
        (param->type != ParamType::kPath && param->type != ParamType::kString)) {
      return invalidArgument(who + ": path_param '" + scheme.path_param +
                             "' is not a path or string parameter of the type");
    }
  }
  return okStatus();
}

Status TypeRegistry::addUriScheme(StorageUriScheme scheme, std::shared_ptr<const PluginInfo> plugin,
                                  std::shared_ptr<void> library) {
  const RegisteredType* type = find(scheme.type);
  if (type == nullptr || type->plugin != plugin) {
    return invalidArgument("the URI schemes of '" + scheme.type +
                           "' name a type the plugin does not register");
  }
  AIMASS_RETURN_IF_ERROR(validateUriScheme(scheme, &type->type));
  for (const auto& name : scheme.schemes) {
    if (const RegisteredUriScheme* owner = findUriScheme(name)) {
      return alreadyExists("URI scheme '" + name + "' is already declared by plugin '" +
                           (owner->plugin ? owner->plugin->name : std::string("builtin")) + "'");
    }
  }
  if (library && scheme.map) {
    scheme.map = LibraryBoundMapping{library, std::move(scheme.map)};
  }
  uri_schemes_.push_back(RegisteredUriScheme{std::move(scheme), std::move(plugin)});
  return okStatus();
}

const RegisteredUriScheme* TypeRegistry::findUriScheme(std::string_view scheme) const {
  for (const auto& declared : uri_schemes_) {
    for (const auto& name : declared.scheme.schemes) {
      if (name == scheme) {
        return &declared;
      }
    }
  }
  return nullptr;
}

std::vector<const RegisteredUriScheme*> TypeRegistry::uriSchemes() const {
  std::vector<const RegisteredUriScheme*> out;
  for (const auto& declared : uri_schemes_) {
    out.push_back(&declared);
  }
  return out;
}

namespace {

// Calls a plugin's command while keeping its library loaded (see LibraryBoundFactory).
struct LibraryBoundCommand {
  std::shared_ptr<void> library;
  CommandHandler handler;

  int operator()(const std::vector<std::string>& args, CommandStreams& io) const {
    return handler(args, io);
  }
};

bool isCommandWord(std::string_view word) {
  return !word.empty() && word.size() <= 32 && word.front() >= 'a' && word.front() <= 'z' &&
         word.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos;
}

}  // namespace

Status TypeRegistry::validateCommand(const CliCommand& command) {
  const std::string shown = "command '" + command.name + "'";
  const std::string_view name = command.name;
  const auto space = name.find(' ');
  const std::string_view first = name.substr(0, space);
  if (!isCommandWord(first) ||
      (space != std::string_view::npos && !isCommandWord(name.substr(space + 1)))) {
    return invalidArgument(shown +
                           ": a name is one or two words of a lower-case letter then [a-z0-9-] "
                           "(at most 32 characters each), one space apart");
  }
  for (std::string_view builtin : kBuiltinCommandWords) {
    if (first == builtin) {
      return alreadyExists(shown + ": '" + std::string(first) +
                           "' is a built-in command of aimass");
    }
  }
  if (command.usage.rfind(command.name, 0) != 0 ||
      (command.usage.size() > name.size() && command.usage[name.size()] != ' ')) {
    return invalidArgument(shown + ": its usage must start with its name, got '" + command.usage +
                           "'");
  }
  if (command.summary.empty()) {
    return invalidArgument(shown + " has no summary");
  }
  if (!command.handler) {
    return invalidArgument(shown + " has no handler");
  }
  return okStatus();
}

Status TypeRegistry::addCommand(CliCommand command, std::shared_ptr<const PluginInfo> plugin,
                                std::shared_ptr<void> library) {
  AIMASS_RETURN_IF_ERROR(validateCommand(command));
  if (const RegisteredCommand* taken = findCommand(command.name)) {
    return alreadyExists("command '" + command.name + "' is already added by plugin '" +
                         (taken->plugin ? taken->plugin->name : std::string("builtin")) + "'");
  }
  if (library) {
    command.handler = LibraryBoundCommand{library, std::move(command.handler)};
  }
  std::string name = command.name;
  commands_.emplace(std::move(name), RegisteredCommand{std::move(command), std::move(plugin)});
  return okStatus();
}

const RegisteredCommand* TypeRegistry::findCommand(std::string_view name) const {
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : &it->second;
}

std::vector<const RegisteredCommand*> TypeRegistry::commands() const {
  std::vector<const RegisteredCommand*> out;
  for (const auto& [name, command] : commands_) {
    out.push_back(&command);
  }
  return out;
}

Status TypeRegistry::add(NodeType type, std::shared_ptr<const PluginInfo> plugin,
                         std::shared_ptr<void> library) {
  AIMASS_RETURN_IF_ERROR(validateType(type));
  if (auto it = types_.find(type.type); it != types_.end()) {
    const auto& owner = it->second.plugin;
    std::string by = owner ? "plugin '" + owner->name + "'" : "another plugin";
    if (owner && !owner->library.empty()) {
      by += " (" + owner->library + ")";
    } else if (owner) {
      by += " (built in)";
    }
    return alreadyExists("type '" + type.type + "' is already registered by " + by);
  }
  normaliseDefaults(type.params);
  if (type.kind == NodeKind::kModel && type.type != PreprocessedModel::kType &&
      std::none_of(type.params.begin(), type.params.end(),
                   [](const ParamSpec& p) { return p.name == "preprocess"; })) {
    type.params.push_back(preprocessParamSpec());
  }
  if (library) {
    type.factory = LibraryBoundFactory{library, std::move(type.factory)};
  }
  std::string name = type.type;
  types_.emplace(std::move(name),
                 RegisteredType{std::move(type), std::move(plugin), std::move(library)});
  return okStatus();
}

const RegisteredType* TypeRegistry::find(std::string_view type) const {
  auto it = types_.find(type);
  return it == types_.end() ? nullptr : &it->second;
}

Expected<std::shared_ptr<Node>> TypeRegistry::instantiate(const NodeConfig& config,
                                                          std::optional<NodeKind> kind) const {
  const RegisteredType* type = find(config.type());
  if (type == nullptr) {
    return notFound("no loaded plugin provides the node type '" + config.type() +
                    "' (see aimass plugins list)");
  }
  const std::string registered_kind(nodeKindName(type->type.kind));
  if (kind && *kind != type->type.kind) {
    const std::string wanted(nodeKindName(*kind));
    return invalidArgument("'" + config.type() + "' is " + std::string(article(registered_kind)) +
                           registered_kind + " type, not " + std::string(article(wanted)) + wanted +
                           " type");
  }
  const std::string plugin = type->plugin ? type->plugin->name : std::string("builtin");
  if (!type->type.factory) {
    return internalError("plugin '" + plugin + "' registered " + config.type() +
                         " without a factory");
  }
  std::optional<Expected<std::unique_ptr<Node>>> made;
  std::string thrown;
  try {
    made.emplace(type->type.factory(config));
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "unknown exception";
  }
  if (!made) {
    return internalError("the factory of plugin '" + plugin + "' threw an exception: " + thrown);
  }
  if (!made->ok()) {
    return made->status();
  }
  std::unique_ptr<Node> created = std::move(*made).value();
  if (!created) {
    return internalError("the factory of plugin '" + plugin + "' returned no node");
  }
  if (created->kind() != type->type.kind) {
    const std::string made_kind(nodeKindName(created->kind()));
    // Deleted through the deleter so that the library outlives the node's destructor.
    LibraryKeepingDeleter{type->library}(created.release());
    return internalError("plugin '" + plugin + "' made " + std::string(article(made_kind)) +
                         made_kind + " node, but " + config.type() + " is registered as " +
                         std::string(article(registered_kind)) + registered_kind + " type");
  }
  std::shared_ptr<Node> node(created.release(), LibraryKeepingDeleter{type->library});
  return wrapPreprocessed(*this, config, std::move(node));
}

std::vector<const RegisteredType*> TypeRegistry::all() const {
  std::vector<const RegisteredType*> out;
  out.reserve(types_.size());
  for (const auto& [name, type] : types_) {
    out.push_back(&type);
  }
  return out;
}

std::vector<std::string> TypeRegistry::suggest(std::string_view unknown) const {
  // A name typed without its kind ("softmax") is compared with the part after the dot too.
  const bool bare = unknown.find('.') == std::string_view::npos;
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& [name, type] : types_) {
    std::size_t distance = editDistance(unknown, name);
    std::size_t limit = suggestionLimit(unknown);
    if (bare) {
      auto dot = name.find('.');
      std::string_view tail = std::string_view(name).substr(dot + 1);
      distance = std::min(distance, editDistance(unknown, tail));
    }
    if (distance <= limit) {
      scored.emplace_back(distance, name);
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < 3; ++i) {
    out.push_back(std::move(scored[i].second));
  }
  return out;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  const std::size_t limit = suggestionLimit(word);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    std::size_t d = editDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace aimass::core
