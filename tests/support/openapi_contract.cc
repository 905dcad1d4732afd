// SPDX-License-Identifier: Apache-2.0
#include "openapi_contract.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace aimass::testing {
namespace {

using Poco::Dynamic::Var;
using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path);
  for (std::string segment; std::getline(in, segment, '/');) {
    out.push_back(segment);
  }
  return out;
}

/// The number of literal segments of `pattern` when `path` matches it, else nullopt.
std::optional<int> literalMatches(const std::string& pattern, const std::string& path) {
  const auto want = segments(pattern);
  const auto got = segments(path);
  if (want.size() != got.size()) {
    return std::nullopt;
  }
  int literals = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const bool capture = want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}';
    if (capture ? got[i].empty() : want[i] != got[i]) {
      return std::nullopt;
    }
    literals += capture ? 0 : 1;
  }
  return literals;
}

std::optional<Var> parseJson(const std::string& text) {
  // Poco's parser takes only an object or an array at the top: a scalar ("0.1.0") is read as
  // the one element of an array.
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool scalar = first != std::string::npos && text[first] != '{' && text[first] != '[';
  try {
    Poco::JSON::Parser parser;
    Var value = parser.parse(scalar ? "[" + text + "]" : text);
    if (!scalar) {
      return value;
    }
    const ArrayPtr array = value.extract<ArrayPtr>();
    if (array->size() != 1) {
      return std::nullopt;
    }
    return array->get(0);
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

bool isObject(const Var& v) { return v.type() == typeid(ObjectPtr); }
bool isArray(const Var& v) { return v.type() == typeid(ArrayPtr); }
bool isInteger(const Var& v) { return !v.isEmpty() && v.isInteger() && !v.isBoolean(); }
bool isNumber(const Var& v) { return !v.isEmpty() && v.isNumeric() && !v.isBoolean(); }

bool hasType(const Var& v, const std::string& type) {
  if (type == "object") return isObject(v);
  if (type == "array") return isArray(v);
  if (type == "string") return v.isString();
  if (type == "boolean") return v.isBoolean();
  if (type == "integer") return isInteger(v);
  if (type == "number") return isNumber(v);
  return false;
}

std::string describe(const Var& v) {
  if (v.isEmpty()) return "null";
  if (isObject(v)) return "an object";
  if (isArray(v)) return "an array";
  if (v.isString()) return "the string \"" + v.extract<std::string>() + "\"";
  if (v.isBoolean()) return v.convert<bool>() ? "true" : "false";
  return v.convert<std::string>();
}

bool equalScalars(const YAML::Node& allowed, const Var& v) {
  return !isObject(v) && !isArray(v) && !v.isEmpty() && allowed.IsScalar() &&
         allowed.as<std::string>() == v.convert<std::string>();
}

/// `parent[key]` through the const operator[], which never inserts. (yaml-cpp's Node has
/// reference semantics: assigning one Node to another overwrites the first's content in its
/// document, so this code rebinds with reset() and never assigns.)
/// Undefined when `parent` is no map or lacks `key` (yaml-cpp throws on any use of the
/// invalid node its own lookup of a missing key returns, but for testing it).
YAML::Node child(const YAML::Node& parent, const std::string& key) {
  if (!parent || !parent.IsMap() || !parent[key]) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return parent[key];
}

/// The JSON header at the start of a binary tensor data body, `length_text` bytes long; the
/// whole body when `length_text` is empty (no binary data).
std::optional<std::string> jsonHeader(const std::string& body, const std::string& length_text) {
  if (length_text.empty()) {
    return body;
  }
  if (length_text.find_first_not_of("0123456789") != std::string::npos || length_text.size() > 12 ||
      std::stoull(length_text) > body.size()) {
    return std::nullopt;
  }
  return body.substr(0, std::stoull(length_text));
}

/// The frontend's 404 for a path that no served route matches ("no route for GET /x"): the
/// configuration serves no such operation (/api/v1 without a storage node), so the exchange
/// is none of the document's operations. openapi_test.cc checks that the documented routes
/// are served.
bool isNoRoute(const HttpExchange& exchange) {
  if (exchange.status != 404) {
    return false;
  }
  auto body = parseJson(exchange.response_body);
  if (!body || !isObject(*body)) {
    return false;
  }
  const ObjectPtr object = body->extract<ObjectPtr>();
  return object->has("error") && object->get("error").isString() &&
         object->getValue<std::string>("error").rfind("no route for ", 0) == 0;
}

const std::set<std::string> kDocumentationKeywords = {"description", "format", "title", "example"};

}  // namespace

std::string mediaType(const std::string& content_type) {
  std::string type = lower(content_type.substr(0, content_type.find(';')));
  type.erase(type.find_last_not_of(" \t") + 1);
  return type;
}

OpenApiContract::OpenApiContract(const std::string& path) : doc_(YAML::LoadFile(path)) {}

YAML::Node OpenApiContract::resolve(const std::string& ref) const {
  if (ref.rfind("#/", 0) != 0) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Node node = doc_;
  for (const std::string& key : segments(ref.substr(2))) {
    if (!node.IsMap() || !child(node, key)) {
      return YAML::Node(YAML::NodeType::Undefined);
    }
    node.reset(child(node, key));
  }
  return node;
}

YAML::Node OpenApiContract::deref(YAML::Node node) const {
  for (int depth = 0; depth < 16 && node && node.IsMap() && child(node, "$ref"); ++depth) {
    node.reset(resolve(child(node, "$ref").as<std::string>()));
  }
  return node;
}

OpenApiContract::Operation OpenApiContract::find(const std::string& method,
                                                 const std::string& target) const {
  const std::string path = target.substr(0, target.find('?'));
  const std::string verb = lower(method);
  std::string best;
  int best_literals = -1;
  for (const auto& item : doc_["paths"]) {
    const std::string pattern = item.first.as<std::string>();
    auto literals = literalMatches(pattern, path);
    if (literals && *literals > best_literals && item.second[verb]) {
      best_literals = *literals;
      best = pattern;
    }
  }
  // A literal path of another method (POST /v2/models/stats) is no operation of the template.
  for (const auto& item : doc_["paths"]) {
    auto literals = literalMatches(item.first.as<std::string>(), path);
    if (literals && *literals > best_literals) {
      return {};
    }
  }
  if (best.empty()) {
    return {};
  }
  const YAML::Node item = child(doc_["paths"], best);
  return {method + " " + best, child(item, verb), item, best};
}

std::set<std::string> OpenApiContract::operations() const {
  std::set<std::string> out;
  for (const auto& item : doc_["paths"]) {
    for (const char* method : kMethods) {
      if (item.second[method]) {
        std::string verb = method;
        std::transform(verb.begin(), verb.end(), verb.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        out.insert(verb + " " + item.first.as<std::string>());
      }
    }
  }
  return out;
}

std::string OpenApiContract::operationOf(const std::string& method,
                                         const std::string& target) const {
  return find(method, target).name;
}

std::vector<std::string> OpenApiContract::violations(const HttpExchange& exchange) const {
  std::vector<std::string> out;
  const Operation operation = find(exchange.method, exchange.target);
  if (operation.name.empty() || isNoRoute(exchange)) {
    return out;
  }
  if (exchange.status >= 200 && exchange.status < 300) {
    checkParameters(operation, exchange, out);
  }
  checkRequest(operation, exchange, out);
  checkResponse(operation, exchange, out);
  for (std::string& problem : out) {
    problem = operation.name + " (" + exchange.method + " " + exchange.target + " answered " +
              std::to_string(exchange.status) + "): " + problem;
  }
  return out;
}

void OpenApiContract::checkParameters(const Operation& operation, const HttpExchange& exchange,
                                      std::vector<std::string>& out) const {
  std::map<std::pair<std::string, std::string>, YAML::Node> documented;
  for (const YAML::Node& list : {operation.path_item["parameters"], operation.node["parameters"]}) {
    for (const auto& entry : list) {
      // The operation's own parameter replaces the path's of the same name and place. (No
      // Node assignment: see child().)
      const YAML::Node parameter = deref(entry);
      const std::pair<std::string, std::string> key{parameter["in"].as<std::string>(),
                                                    parameter["name"].as<std::string>()};
      documented.erase(key);
      documented.emplace(key, child(parameter, "schema"));
    }
  }
  const auto check = [&](const std::string& in, const std::string& name, const std::string& text) {
    const std::string where = in + " parameter '" + name + "'";
    auto it = documented.find({in, name});
    if (it == documented.end()) {
      out.push_back("the server accepted the " + where + ", which the document does not list");
      return;
    }
    const YAML::Node type_node = child(it->second, "type");
    const std::string type = type_node ? type_node.as<std::string>() : "";
    std::optional<Var> value;
    if (type == "integer" && !text.empty() &&
        text.find_first_not_of("0123456789", text[0] == '-' ? 1 : 0) == std::string::npos &&
        text.size() < 19) {
      value = Var(static_cast<Poco::Int64>(std::stoll(text)));
    } else if (type == "boolean" && (text == "true" || text == "false")) {
      value = Var(text == "true");
    } else if (type == "string" || type.empty()) {
      value = Var(text);
    }
    if (!value) {
      out.push_back("the server accepted the " + where + " '" + text + "', which is no " + type);
      return;
    }
    checkSchema(it->second, *value, where, out);
  };
  const std::size_t question = exchange.target.find('?');
  const auto pattern = segments(operation.pattern);
  const auto path = segments(exchange.target.substr(0, question));
  for (std::size_t i = 0; i < pattern.size() && i < path.size(); ++i) {
    if (pattern[i].size() > 2 && pattern[i].front() == '{') {
      check("path", pattern[i].substr(1, pattern[i].size() - 2), path[i]);
    }
  }
  if (question == std::string::npos) {
    return;
  }
  std::stringstream query(exchange.target.substr(question + 1));
  for (std::string pair; std::getline(query, pair, '&');) {
    const std::size_t equals = pair.find('=');
    check("query", pair.substr(0, equals),
          equals == std::string::npos ? "" : pair.substr(equals + 1));
  }
}

void OpenApiContract::checkRequest(const Operation& operation, const HttpExchange& exchange,
                                   std::vector<std::string>& out) const {
  const bool accepted = exchange.status >= 200 && exchange.status < 300;
  const YAML::Node body = deref(operation.node["requestBody"]);
  if (!body) {
    if (accepted && !exchange.request_body.empty()) {
      out.push_back("the server accepted a request body, but the document describes none");
    }
    return;
  }
  if (exchange.request_body.empty()) {
    if (accepted && body["required"] && body["required"].as<bool>()) {
      out.push_back("the server accepted a request without the required body");
    }
    return;
  }
  const std::string type = mediaType(exchange.request_content_type);
  const YAML::Node media = child(body["content"], type);
  if (!media) {
    if (accepted) {
      out.push_back("the server accepted a request body of Content-Type '" + type +
                    "', which the document does not list");
    }
    return;
  }
  // A binary body (the binary tensor data extension) starts with a JSON header that the
  // application/json schema describes.
  const bool binary = type == "application/octet-stream" && !exchange.request_header_length.empty();
  if ((type != "application/json" && !binary) || !accepted) {
    return;  // a refused body may break the schema: that is why it was refused
  }
  auto header = jsonHeader(exchange.request_body, exchange.request_header_length);
  auto value = header ? parseJson(*header) : std::nullopt;
  if (!value) {
    out.push_back(
        "the server accepted a request body that is not JSON, or whose JSON header is "
        "cut short");
    return;
  }
  std::vector<std::string> problems;
  checkSchema(child(child(body["content"], "application/json"), "schema"), *value, "request",
              problems);
  for (const std::string& problem : problems) {
    out.push_back("the server accepted a request the document forbids: " + problem);
  }
}

void OpenApiContract::checkResponse(const Operation& operation, const HttpExchange& exchange,
                                    std::vector<std::string>& out) const {
  if (exchange.status == 500) {
    out.push_back("an internal server error (500) is never a documented answer: " +
                  exchange.response_body);
  }
  const std::string status = std::to_string(exchange.status);
  YAML::Node response = deref(child(operation.node["responses"], status));
  if (!response) {
    response.reset(deref(child(doc_["x-aimass-common-responses"], status)));
  }
  if (!response) {
    out.push_back("status " + status +
                  " is not documented for this operation: " + exchange.response_body);
    return;
  }
  const YAML::Node content = response["content"];
  if (!content) {
    if (!exchange.response_body.empty()) {
      out.push_back("the " + status +
                    " answer has a body the document does not describe: " + exchange.response_body);
    }
    return;
  }
  const std::string type = mediaType(exchange.response_content_type);
  const YAML::Node media = content[type];
  if (!media) {
    out.push_back("the " + status + " answer's Content-Type '" + type +
                  "' is not documented for it");
    return;
  }
  if (type == "text/event-stream" && media["x-aimass-events"]) {
    checkEvents(media["x-aimass-events"], exchange.response_body, out);
    return;
  }
  const bool binary =
      type == "application/octet-stream" && !exchange.response_header_length.empty();
  if (type != "application/json" && !binary) {
    checkSchema(media["schema"], Var(exchange.response_body), "response", out);
    return;
  }
  auto header = jsonHeader(exchange.response_body, exchange.response_header_length);
  auto value = header ? parseJson(*header) : std::nullopt;
  if (!value) {
    out.push_back("the " + status + " answer is not JSON, or its JSON header is cut short: " +
                  exchange.response_body.substr(0, 200));
    return;
  }
  checkSchema(child(child(content, "application/json"), "schema"), *value, "response", out);
}

void OpenApiContract::checkEvents(const YAML::Node& events, const std::string& body,
                                  std::vector<std::string>& out) const {
  std::size_t pos = 0;
  for (int index = 0; pos < body.size(); ++index) {
    std::size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) {
      out.push_back("event " + std::to_string(index) + " is not ended by a blank line");
      return;
    }
    std::string name = "message";
    std::string data;
    std::stringstream lines(body.substr(pos, end - pos));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("event: ", 0) == 0) {
        name = line.substr(7);
      } else if (line.rfind("data: ", 0) == 0) {
        data += (data.empty() ? "" : "\n") + line.substr(6);
      }
    }
    pos = end + 2;
    const std::string where = "event " + std::to_string(index) + " (" + name + ")";
    const YAML::Node schema = child(events, name);
    if (!schema) {
      out.push_back(where + " is not one of the documented events");
      continue;
    }
    auto value = parseJson(data);
    if (!value) {
      out.push_back(where + ": its data is not JSON: " + data);
      continue;
    }
    checkSchema(schema, *value, where, out);
  }
}

std::vector<std::string> OpenApiContract::schemaViolations(const YAML::Node& schema,
                                                           const Var& value,
                                                           const std::string& where) const {
  std::vector<std::string> out;
  checkSchema(schema, value, where, out);
  return out;
}

void OpenApiContract::checkSchema(const YAML::Node& schema_node, const Var& value,
                                  const std::string& where, std::vector<std::string>& out) const {
  const YAML::Node schema = deref(schema_node);
  if (!schema || !schema.IsMap()) {
    out.push_back(where + ": the schema is missing or no map (a $ref to nothing?)");
    return;
  }
  static const std::set<std::string> kChecked = {
      "type",  "properties", "required", "items",   "enum",    "oneOf",
      "anyOf", "allOf",      "nullable", "minimum", "maximum", "additionalProperties"};
  for (const auto& keyword : schema) {
    const std::string name = keyword.first.as<std::string>();
    if (!kChecked.count(name) && !kDocumentationKeywords.count(name) && name.rfind("x-", 0) != 0) {
      out.push_back(where + ": the schema keyword '" + name + "' is not supported by the check");
    }
  }
  if (value.isEmpty()) {
    if (!(schema["nullable"] && schema["nullable"].as<bool>()) && schema["type"]) {
      out.push_back(where + " is null, which the schema does not allow");
    }
    return;
  }
  if (schema["type"] && !hasType(value, schema["type"].as<std::string>())) {
    out.push_back(where + " is " + describe(value) + ", not of type " +
                  schema["type"].as<std::string>());
    return;
  }
  if (schema["enum"]) {
    bool listed = false;
    for (const auto& allowed : schema["enum"]) {
      listed = listed || equalScalars(allowed, value);
    }
    if (!listed) {
      out.push_back(where + " is " + describe(value) + ", which the enum does not list");
    }
  }
  if (isNumber(value)) {
    const double number = value.convert<double>();
    if (schema["minimum"] && number < schema["minimum"].as<double>()) {
      out.push_back(where + " is " + describe(value) + ", below the minimum " +
                    schema["minimum"].as<std::string>());
    }
    if (schema["maximum"] && number > schema["maximum"].as<double>()) {
      out.push_back(where + " is " + describe(value) + ", above the maximum " +
                    schema["maximum"].as<std::string>());
    }
  }
  for (const char* combinator : {"oneOf", "anyOf"}) {
    if (!schema[combinator]) {
      continue;
    }
    int matched = 0;
    for (const auto& option : schema[combinator]) {
      matched += schemaViolations(option, value, where).empty() ? 1 : 0;
    }
    if (matched == 0 || (matched > 1 && std::string(combinator) == "oneOf")) {
      out.push_back(where + " is " + describe(value) + ", which matches " +
                    std::to_string(matched) + " of the " + combinator + " schemas");
    }
  }
  for (const auto& part : schema["allOf"]) {
    checkSchema(part, value, where, out);
  }
  if (isArray(value) && schema["items"]) {
    const ArrayPtr array = value.extract<ArrayPtr>();
    for (std::size_t i = 0; i < array->size(); ++i) {
      checkSchema(schema["items"], array->get(static_cast<unsigned int>(i)),
                  where + "[" + std::to_string(i) + "]", out);
    }
  }
  if (isObject(value)) {
    checkObject(schema, value.extract<ObjectPtr>(), where, out);
  }
}

void OpenApiContract::checkObject(const YAML::Node& schema, const Poco::JSON::Object::Ptr& object,
                                  const std::string& where, std::vector<std::string>& out) const {
  for (const auto& name : schema["required"]) {
    if (!object->has(name.as<std::string>())) {
      out.push_back(where + " lacks the required member '" + name.as<std::string>() + "'");
    }
  }
  const YAML::Node properties = schema["properties"];
  const YAML::Node additional = schema["additionalProperties"];
  for (const auto& [name, member] : *object) {
    const std::string at = where + "." + name;
    if (properties && properties[name]) {
      checkSchema(properties[name], member, at, out);
    } else if (additional && additional.IsScalar() && !additional.as<bool>()) {
      out.push_back(at + " is a member the schema does not allow");
    } else if (additional && additional.IsMap()) {
      checkSchema(additional, member, at, out);
    }
  }
}

}  // namespace aimass::testing
