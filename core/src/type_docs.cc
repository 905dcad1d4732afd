// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/type_docs.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <variant>

#include "aimass/util/number_text.h"
#include "aimass/util/json_writer.h"
#include "text_format.h"

namespace aimass::core {
namespace {

std::string formatFloat(double d) {
  std::string text = JsonWriter::number(d);
  if (text == "null") {
    return std::isnan(d) ? ".nan" : (d > 0 ? ".inf" : "-.inf");
  }
  if (text.find_first_of(".e") == std::string::npos) {
    text += ".0";
  }
  return text;
}

// Quotes a string where YAML would read it differently as a plain scalar.
std::string yamlScalar(const std::string& text) {
  const bool plain = !text.empty() &&
                     text.find_first_of(",:#[]{}\"'&*!|>%@`") == std::string::npos &&
                     text.front() != ' ' && text.back() != ' ' && text.front() != '-' &&
                     text.front() != '?' && text != "true" && text != "false" && text != "null" &&
                     text != "~" && !std::isdigit(static_cast<unsigned char>(text.front()));
  return plain ? text : '"' + jsonEscape(text) + '"';
}

std::string pluginLabel(const RegisteredType& type) {
  if (!type.plugin) {
    return "unknown";
  }
  return type.plugin->name;
}

std::string pluginVersion(const RegisteredType& type) {
  return type.plugin ? type.plugin->version : std::string();
}

std::string libraryLabel(const RegisteredType& type) {
  return type.plugin && !type.plugin->library.empty() ? type.plugin->library : "(built in)";
}

std::string requiredLabel(const ParamSpec& param) {
  if (param.required) {
    return "required";
  }
  if (std::holds_alternative<std::monostate>(param.default_value)) {
    return "optional";
  }
  return "default " + formatParamValue(param.default_value, param.type);
}

void writeRecord(JsonWriter& json, const ParamRecord& record);

template <typename Variant>
void writeParamValue(JsonWriter& json, const Variant& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          json.null();
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                             std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          json.value(v);
        } else if constexpr (std::is_same_v<T, std::vector<ParamRecord>>) {
          json.beginArray();
          for (const auto& record : v) {
            writeRecord(json, record);
          }
          json.endArray();
        } else if constexpr (std::is_same_v<T, ParamRecordMap>) {
          json.beginObject();
          for (const auto& [name, record] : v) {
            json.key(name);
            writeRecord(json, record);
          }
          json.endObject();
        } else {
          json.beginArray();
          for (const auto& element : v) {
            json.value(element);
          }
          json.endArray();
        }
      },
      value);
}

void writeRecord(JsonWriter& json, const ParamRecord& record) {
  json.beginObject();
  for (const auto& [name, value] : record.values()) {
    json.key(name);
    writeParamValue(json, value);
  }
  json.endObject();
}

// Text for one Markdown table cell: no line breaks, pipes escaped, and '<' outside code spans
// written as an entity so "<model>" is not taken for an HTML tag.
std::string cell(std::string_view text) {
  std::string out;
  bool in_code = false;
  for (char c : text) {
    if (c == '`') {
      in_code = !in_code;
    }
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (c == '<' && !in_code) {
      out += "&lt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string code(std::string_view text) {
  return text.empty() ? std::string() : "`" + std::string(text) + "`";
}

/// A record in YAML flow style: "{name: ci, role: reader}".
std::string formatRecord(const ParamRecord& record) {
  std::string out = "{";
  for (const auto& [name, value] : record.values()) {
    ParamValue as_param = std::visit([](const auto& v) { return ParamValue(v); }, value);
    out +=
        (out.size() > 1 ? ", " : "") + name + ": " + formatParamValue(as_param, ParamType::kString);
  }
  return out + "}";
}

// Appends a line per parameter (name, type, required or default, constraints), its doc and
// example beneath, and the fields of a record parameter beneath those, indented further.
void appendParams(std::string& out, const std::vector<ParamSpec>& params,
                  const std::string& margin) {
  std::size_t width = 0;
  for (const auto& param : params) {
    width = std::max(width, param.name.size());
  }
  const std::string indent = margin + std::string(2 + width, ' ');
  for (const auto& param : params) {
    out += margin + param.name + std::string(width - param.name.size() + 2, ' ') +
           std::string(paramTypeName(param.type)) + ", " + requiredLabel(param);
    if (auto constraints = describeConstraints(param); !constraints.empty()) {
      out += ", " + constraints;
    }
    out += "\n";
    if (!param.doc.empty()) {
      out += indent + param.doc + "\n";
    }
    if (!param.example.empty()) {
      out += indent + "example: " + param.example + "\n";
    }
    if (!param.fields.empty()) {
      out += indent + "fields of each record:\n";
      appendParams(out, param.fields, indent + "  ");
    }
  }
}

// One parameter (or record field) of `plugins describe --json` (its documentation under
// `doc_key`: "doc"; GET /api/v1/plugins names it "description"); record parameters add "fields".
void writeParamSpec(JsonWriter& json, const ParamSpec& param, std::string_view doc_key = "doc") {
  json.beginObject()
      .key("name")
      .value(param.name)
      .key("type")
      .value(paramTypeName(param.type))
      .key("required")
      .value(param.required)
      .key("default");
  writeParamValue(json, param.default_value);
  json.key("min");
  param.min ? json.value(*param.min) : json.null();
  json.key("max");
  param.max ? json.value(*param.max) : json.null();
  json.key("choices").beginArray();
  for (const auto& choice : param.choices) {
    json.value(choice);
  }
  json.endArray().key("ref_kind");
  param.ref_kind ? json.value(nodeKindName(*param.ref_kind)) : json.null();
  json.key("example").value(param.example).key(doc_key).value(param.doc);
  if (!param.fields.empty()) {
    json.key("fields").beginArray();
    for (const auto& field : param.fields) {
      writeParamSpec(json, field, doc_key);
    }
    json.endArray();
  }
  json.endObject();
}

// The Markdown table of `params` (a type's parameters, or a record parameter's fields).
std::string paramTable(const std::vector<ParamSpec>& params, const std::string& first_column) {
  std::string out = "| " + first_column +
                    " | Type | Required / default | Constraints | Description |\n"
                    "|---|---|---|---|---|\n";
  for (const auto& param : params) {
    std::string required = param.required ? "required" : requiredLabel(param);
    if (!param.required && !std::holds_alternative<std::monostate>(param.default_value)) {
      required = "default " + code(formatParamValue(param.default_value, param.type));
    }
    std::string doc = param.doc;
    if (!param.example.empty() && param.example.find("{tmp}") == std::string::npos) {
      doc += (doc.empty() ? "" : " ") + std::string("Example: ") + code(param.example) + ".";
    }
    if (!param.fields.empty()) {
      doc += (doc.empty() ? "" : " ") + std::string("Fields below.");
    }
    out += "| `" + param.name + "` | " + code(paramTypeName(param.type)) + " | " + cell(required) +
           " | " + cell(describeConstraints(param)) + " | " + cell(doc) + " |\n";
  }
  return out;
}

}  // namespace

std::string formatParamValue(const ParamValue& value, ParamType type) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return type == ParamType::kFloat ? formatFloat(static_cast<double>(v))
                                           : std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return formatFloat(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return yamlScalar(v);
        } else if constexpr (std::is_same_v<T, std::vector<ParamRecord>>) {
          std::string out = "[";
          for (std::size_t i = 0; i < v.size(); ++i) {
            out += (i ? ", " : "") + formatRecord(v[i]);
          }
          return out + "]";
        } else if constexpr (std::is_same_v<T, ParamRecordMap>) {
          std::string out = "{";
          for (const auto& [name, record] : v) {
            out += (out.size() > 1 ? ", " : "") + yamlScalar(name) + ": " + formatRecord(record);
          }
          return out + "}";
        } else {
          std::string out = "[";
          for (std::size_t i = 0; i < v.size(); ++i) {
            out += i ? ", " : "";
            if constexpr (std::is_same_v<T, std::vector<std::string>>) {
              out += yamlScalar(v[i]);
            } else if constexpr (std::is_same_v<T, std::vector<double>>) {
              out += formatFloat(v[i]);
            } else {
              out += type == ParamType::kFloatList ? formatFloat(static_cast<double>(v[i]))
                                                   : std::to_string(v[i]);
            }
          }
          return out + "]";
        }
      },
      value);
}

std::string describeConstraints(const ParamSpec& param) {
  std::vector<std::string> parts;
  const bool list = param.type == ParamType::kIntList || param.type == ParamType::kFloatList;
  std::string range;
  if (param.min && param.max) {
    range = "[" + formatNumber(*param.min) + ", " + formatNumber(*param.max) + "]";
  } else if (param.min) {
    range = ">= " + formatNumber(*param.min);
  } else if (param.max) {
    range = "<= " + formatNumber(*param.max);
  }
  if (!range.empty()) {
    parts.push_back(list ? "each " + range : range);
  }
  if (!param.choices.empty()) {
    std::string choices = "one of: ";
    for (std::size_t i = 0; i < param.choices.size(); ++i) {
      choices += (i ? ", " : "") + param.choices[i];
    }
    parts.push_back(choices);
  }
  if (param.ref_kind) {
    parts.push_back(std::string(nodeKindName(*param.ref_kind)) +
                    (param.type == ParamType::kRefList ? " nodes" : " node"));
  }
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i ? "; " : "") + parts[i];
  }
  return out;
}

std::string typeTable(const TypeRegistry& registry) {
  const std::vector<std::string> header = {"TYPE", "KIND", "PLUGIN", "VERSION", "LIBRARY"};
  std::vector<std::vector<std::string>> rows = {header};
  for (const auto* type : registry.all()) {
    rows.push_back({type->type.type, std::string(nodeKindName(type->type.kind)), pluginLabel(*type),
                    pluginVersion(*type), libraryLabel(*type)});
  }
  return textTable(rows);
}

namespace {

// The fields `plugins list --json` and GET /api/v1/plugins start a type's object with; its
// plugin's version under `version_key`.
void writeTypeOrigin(JsonWriter& json, const RegisteredType& type, std::string_view version_key) {
  json.key("type").value(type.type.type).key("kind").value(nodeKindName(type.type.kind));
  json.key("plugin").value(pluginLabel(type)).key(version_key).value(pluginVersion(type));
}

}  // namespace

std::string typesJson(const TypeRegistry& registry) {
  JsonWriter json;
  json.beginArray();
  for (const auto* type : registry.all()) {
    json.beginObject();
    writeTypeOrigin(json, *type, "version");
    json.key("library").value(type->plugin ? type->plugin->library : std::string());
    json.key("summary").value(type->type.summary).endObject();
  }
  json.endArray();
  return json.str();
}

std::string nodeTypesJson(const TypeRegistry& registry) {
  JsonWriter json;
  json.beginObject().key("node_types").beginArray();
  for (const auto* type : registry.all()) {
    json.beginObject();
    writeTypeOrigin(json, *type, "plugin_version");
    json.key("summary").value(type->type.summary).key("params").beginArray();
    for (const auto& param : type->type.params) {
      writeParamSpec(json, param, "description");
    }
    json.endArray().endObject();
  }
  json.endArray().endObject();
  return json.str();
}

std::string describeType(const RegisteredType& type) {
  const NodeType& t = type.type;
  std::string out = t.type + " (" + std::string(nodeKindName(t.kind)) + ")\n";
  if (!t.summary.empty()) {
    out += "  " + t.summary + "\n";
  }
  out += "\nplugin:   " + pluginLabel(type) + " " + pluginVersion(type);
  if (type.plugin) {
    out += " (plugin ABI " + std::to_string(type.plugin->abi_major) + "." +
           std::to_string(type.plugin->abi_minor) + ")";
  }
  out += "\nlibrary:  " + libraryLabel(type) + "\n";
  if (t.params.empty()) {
    out += "\nparameters: none\n";
    return out;
  }
  out += "\nparameters:\n";
  appendParams(out, t.params, "  ");
  return out;
}

std::string describeTypeJson(const RegisteredType& type) {
  const NodeType& t = type.type;
  JsonWriter json;
  json.beginObject()
      .key("type")
      .value(t.type)
      .key("kind")
      .value(nodeKindName(t.kind))
      .key("summary")
      .value(t.summary)
      .key("plugin")
      .value(pluginLabel(type))
      .key("version")
      .value(pluginVersion(type))
      .key("library")
      .value(type.plugin ? type.plugin->library : std::string());
  if (type.plugin) {
    json.key("abi").value(std::to_string(type.plugin->abi_major) + "." +
                          std::to_string(type.plugin->abi_minor));
  }
  json.key("params").beginArray();
  for (const auto& param : t.params) {
    writeParamSpec(json, param);
  }
  json.endArray().endObject();
  return json.str();
}

std::string configReference(const TypeRegistry& registry) {
  const auto types = registry.all();
  std::string out =
      "# Configuration reference\n"
      "\n"
      "<!-- Generated by `aimass plugins reference`; do not edit by hand. -->\n"
      "\n"
      "Every node type offered by the host and the plugins built with it, grouped by kind. A\n"
      "configuration declares a node as `name: {type: <type>, <parameter>: <value>, ...}`;\n"
      "`aimass validate` checks every parameter against the tables below, and\n"
      "`aimass plugins describe <type>` prints the same details for one type.\n"
      "\n"
      "Parameters of type `ref` name another node of the kind shown; `path` values are\n"
      "resolved against the folder of the configuration file that sets them. A\n"
      "`list<record>` is a list of maps and a `map<string, record>` maps names to maps;\n"
      "the fields those maps take follow the type's table.\n";

  std::string index;
  std::string body;
  for (NodeKind kind : kAllNodeKinds) {
    std::vector<const RegisteredType*> of_kind;
    std::copy_if(types.begin(), types.end(), std::back_inserter(of_kind),
                 [&](const RegisteredType* t) { return t->type.kind == kind; });
    if (of_kind.empty()) {
      continue;
    }
    const std::string kind_name(nodeKindName(kind));
    index += "- **" + kind_name + "**:";
    for (std::size_t i = 0; i < of_kind.size(); ++i) {
      const std::string& name = of_kind[i]->type.type;
      std::string anchor = name;
      anchor.erase(std::remove(anchor.begin(), anchor.end(), '.'), anchor.end());
      index += std::string(i ? "," : "") + " [`" + name + "`](#" + anchor + ")";
    }
    index += "\n";

    body += "\n## " + kind_name + "\n";
    for (const auto* type : of_kind) {
      const NodeType& t = type->type;
      body += "\n### " + t.type + "\n\n";
      if (!t.summary.empty()) {
        body += t.summary + "\n\n";
      }
      body += "Plugin: `" + pluginLabel(*type) + "` " + pluginVersion(*type) + "\n\n";
      if (t.params.empty()) {
        body += "No parameters.\n";
        continue;
      }
      body += paramTable(t.params, "Parameter");
      for (const auto& param : t.params) {
        if (!param.fields.empty()) {
          body += "\nFields of each `" + param.name + "` record:\n\n" +
                  paramTable(param.fields, "Field");
        }
      }
    }
  }
  return out + "\n" + index + body;
}

}  // namespace aimass::core
