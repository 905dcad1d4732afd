// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/plugin_check.h"

#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <string_view>
#include <thread>

#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/testing/conformance.h"
#include "aimass/testing/recommender_conformance.h"
#include "aimass/testing/sequence_conformance.h"
#include "aimass/util/json_writer.h"
#include "param_conversion.h"

namespace aimass::core {
namespace fs = std::filesystem;

namespace {

using Outcome = PluginCheckLine::Outcome;

const std::string kBuildCheck = "builds from defaults and examples";

/// A fresh folder for one type's "{tmp}", removed with its contents on
/// destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "aimass-check-XXXXXX").string();
    if (!ec && mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) {
      fs::remove_all(path_, ec);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string replaceTmp(std::string text, const fs::path& tmp) {
  const std::string replacement = tmp.string();
  for (auto pos = text.find("{tmp}"); pos != std::string::npos;
       pos = text.find("{tmp}", pos + replacement.size())) {
    text.replace(pos, 5, replacement);
  }
  return text;
}

std::string resolvePath(const std::string& value, const fs::path& base) {
  fs::path p(value);
  return (p.is_absolute() ? p : base / p).lexically_normal().string();
}

Status checkNumber(const ParamSpec& param, double v, const std::string& example) {
  if ((param.min && v < *param.min) || (param.max && v > *param.max)) {
    return outOfRange("example '" + example + "' is outside the parameter's range");
  }
  return okStatus();
}

Status checkChoice(const ParamSpec& param, const std::string& v) {
  if (!param.choices.empty() &&
      std::find(param.choices.begin(), param.choices.end(), v) == param.choices.end()) {
    return invalidArgument("example value '" + v + "' is not one of the parameter's choices");
  }
  return okStatus();
}

/// Converts the example of a record parameter with the checks a configuration gets: each
/// record's fields against their specs, defaults filled in. The diagnostics name the example's
/// own lines and columns.
Status parseRecordsExample(const ParamSpec& param, const YAML::Node& node, const fs::path& base,
                           ParamValue& result) {
  NodeDecl decl;
  decl.name = "check";
  decl.base_dir = base;
  Diagnostics diagnostics;
  RefSites refs;
  auto value = ParamConverter(decl, diagnostics).convert(node, {"example", 1, 1}, param, refs);
  if (!value) {
    return invalidArgument(formatDiagnostics(diagnostics));
  }
  result = std::move(*value);
  return okStatus();
}

/// Converts an example (YAML text, "{tmp}" already replaced) to a value of the
/// parameter's type, checked against its range and choices.
Expected<ParamValue> parseExample(const ParamSpec& param, const std::string& example,
                                  const fs::path& base) {
  ParamValue result;
  Status status = guard("parsing the example", [&]() -> Status {
    YAML::Node node = YAML::Load(example);
    if (param.type == ParamType::kRecordList || param.type == ParamType::kRecordMap) {
      return parseRecordsExample(param, node, base, result);
    }
    if (param.type == ParamType::kJson) {
      std::string why;
      auto json = yamlToJson(node, why);
      if (!json) {
        return invalidArgument("example '" + example + "' is not valid: " + why);
      }
      result = std::move(*json);
      return okStatus();
    }
    const bool list = param.type == ParamType::kStringList || param.type == ParamType::kIntList ||
                      param.type == ParamType::kFloatList || param.type == ParamType::kRefList;
    if (list != node.IsSequence() || (!list && !node.IsScalar())) {
      return invalidArgument("example '" + example + "' is not " +
                             (list ? "a list" : "a single value"));
    }
    auto wrong = [&](std::string_view what) {
      return invalidArgument("example '" + example + "' is not " + std::string(what));
    };
    switch (param.type) {
      case ParamType::kBool: {
        bool b = false;
        if (!YAML::convert<bool>::decode(node, b)) {
          return wrong("a bool");
        }
        result = b;
        return okStatus();
      }
      case ParamType::kInt: {
        std::int64_t i = 0;
        if (!YAML::convert<std::int64_t>::decode(node, i)) {
          return wrong("an int");
        }
        result = i;
        return checkNumber(param, static_cast<double>(i), example);
      }
      case ParamType::kFloat: {
        double d = 0;
        if (!YAML::convert<double>::decode(node, d)) {
          return wrong("a number");
        }
        result = d;
        return checkNumber(param, d, example);
      }
      case ParamType::kString:
      case ParamType::kRef:
        result = node.Scalar();
        return checkChoice(param, node.Scalar());
      case ParamType::kPath:
        result = resolvePath(node.Scalar(), base);
        return okStatus();
      case ParamType::kStringList:
      case ParamType::kRefList: {
        std::vector<std::string> values;
        for (const auto& element : node) {
          if (!element.IsScalar()) {
            return wrong("a list of strings");
          }
          AIMASS_RETURN_IF_ERROR(checkChoice(param, element.Scalar()));
          values.push_back(element.Scalar());
        }
        result = std::move(values);
        return okStatus();
      }
      case ParamType::kIntList: {
        std::vector<std::int64_t> values;
        for (const auto& element : node) {
          std::int64_t i = 0;
          if (!YAML::convert<std::int64_t>::decode(element, i)) {
            return wrong("a list of ints");
          }
          AIMASS_RETURN_IF_ERROR(checkNumber(param, static_cast<double>(i), example));
          values.push_back(i);
        }
        result = std::move(values);
        return okStatus();
      }
      case ParamType::kRecordList:
      case ParamType::kRecordMap:
      case ParamType::kJson:
        break;  // parseRecordsExample, yamlToJson
      case ParamType::kFloatList: {
        std::vector<double> values;
        for (const auto& element : node) {
          double d = 0;
          if (!YAML::convert<double>::decode(element, d)) {
            return wrong("a list of numbers");
          }
          AIMASS_RETURN_IF_ERROR(checkNumber(param, d, example));
          values.push_back(d);
        }
        result = std::move(values);
        return okStatus();
      }
    }
    return wrong("of a known parameter type");
  });
  if (!status.ok()) {
    return status;
  }
  return result;
}

class TypeChecker {
 public:
  TypeChecker(const RegisteredType& type, LogLevel log_level, std::vector<PluginCheckLine>& lines)
      : type_(type), log_level_(log_level), lines_(lines) {}

  void run() {
    const NodeType& t = type_.type;
    add("has a summary", !t.summary.empty(), "the summary is empty");

    std::vector<std::string> undocumented;
    for (const auto& param : t.params) {
      if (param.doc.empty()) {
        undocumented.push_back("'" + param.name + "'");
      }
    }
    add("documents every parameter", undocumented.empty(), "no doc for " + joinNames(undocumented));

    ScratchDir scratch;
    if (scratch.path().empty()) {
      add(kBuildCheck, false, "cannot create a temporary folder");
      return;
    }

    // Examples first: they are checked even when the type cannot be built here.
    std::vector<std::pair<std::string, ParamValue>> examples;
    std::vector<std::string> bad_examples;
    for (const auto& param : t.params) {
      if (param.example.empty()) {
        continue;
      }
      auto value = parseExample(param, replaceTmp(param.example, scratch.path()), scratch.path());
      if (value.ok()) {
        examples.emplace_back(param.name, std::move(value).value());
      } else {
        bad_examples.push_back("parameter '" + param.name + "': " + value.status().message());
      }
    }
    const bool any_example = std::any_of(t.params.begin(), t.params.end(),
                                         [](const ParamSpec& p) { return !p.example.empty(); });
    if (any_example) {
      add("examples are valid", bad_examples.empty(), joinNames(bad_examples, "; "));
    }

    for (const auto& param : t.params) {
      if (!param.required) {
        continue;
      }
      if (param.ref_kind) {
        skip("needs a " + std::string(nodeKindName(*param.ref_kind)) + " node for parameter '" +
             param.name + "'");
        return;
      }
      if (param.example.empty()) {
        skip("required parameter '" + param.name + "' has no example");
        return;
      }
    }
    if (!bad_examples.empty()) {
      skip("an example is invalid");
      return;
    }
    buildAndConform(scratch.path(), examples);
  }

 private:
  void buildAndConform(const fs::path& base,
                       const std::vector<std::pair<std::string, ParamValue>>& examples) {
    const NodeType& t = type_.type;
    HostServices host(base, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    host.setLogLevel(log_level_);
    NodeConfig config("check", t.type, &host);
    for (const auto& param : t.params) {
      auto example = std::find_if(examples.begin(), examples.end(),
                                  [&](const auto& e) { return e.first == param.name; });
      if (example != examples.end()) {
        if (!param.ref_kind) {
          config.setValue(param.name, example->second);
        }
      } else if (!std::holds_alternative<std::monostate>(param.default_value)) {
        config.setValue(param.name, param.default_value);
      }
    }

    std::unique_ptr<Node> made;
    Status built = guard("factory of '" + t.type + "'", [&]() -> Status {
      auto result = t.factory(config);
      if (!result.ok()) {
        return result.status();
      }
      made = std::move(result).value();
      return made ? okStatus() : internalError("the factory returned no node");
    });
    add(kBuildCheck, built.ok(), built.toString());
    if (!built.ok()) {
      return;
    }
    if (made->kind() != t.kind) {
      add("node kind matches the type", false,
          "declared " + std::string(nodeKindName(t.kind)) + ", the node says " +
              std::string(nodeKindName(made->kind())));
      return;
    }
    // The registry, alive for the whole check, keeps the plugin library loaded;
    // the node is destroyed before the host and the scratch folder it may use.
    testing::CheckResults results;
    Status ran = guard("conformance suite", [&] {
      // Recommenders take ids and sequence models tokens, not features: each kind gets its
      // own suite.
      auto* model = made->kind() == NodeKind::kModel ? static_cast<Model*>(made.get()) : nullptr;
      const Task task = model != nullptr ? model->schema().task : Task::kOther;
      results = task == Task::kRecommendation ? testing::checkRecommender(*model)
                : task == Task::kSequence     ? testing::checkSequenceModel(*model)
                                              : testing::runConformance(*made, host);
    });
    for (const auto& result : results) {
      add(result.name, result.passed, result.detail);
    }
    if (!ran.ok()) {
      add("conformance suite completes", false, ran.toString());
    }
    made.reset();
  }

  void add(const std::string& check, bool passed, const std::string& detail) {
    lines_.push_back({type_.type.type, check, passed ? Outcome::kPass : Outcome::kFail,
                      passed ? std::string() : detail});
  }

  void skip(const std::string& reason) {
    lines_.push_back({type_.type.type, "build and conformance", Outcome::kSkip, reason});
  }

  static std::string joinNames(const std::vector<std::string>& names,
                               std::string_view separator = ", ") {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
      out += (i ? std::string(separator) : std::string()) + names[i];
    }
    return out;
  }

  const RegisteredType& type_;
  LogLevel log_level_;
  std::vector<PluginCheckLine>& lines_;
};

std::string_view outcomeName(Outcome outcome, bool upper) {
  switch (outcome) {
    case Outcome::kPass:
      return upper ? "PASS" : "pass";
    case Outcome::kFail:
      return upper ? "FAIL" : "fail";
    case Outcome::kSkip:
      return upper ? "SKIP" : "skip";
  }
  return "";
}

}  // namespace

std::size_t PluginCheckReport::count(PluginCheckLine::Outcome outcome) const {
  return static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(), [&](const PluginCheckLine& l) { return l.outcome == outcome; }));
}

PluginCheckReport checkPlugin(const fs::path& library, LogLevel log_level) {
  PluginCheckReport report;
  std::error_code ec;
  report.library = fs::absolute(library, ec).lexically_normal().string();

  TypeRegistry registry;
  Status builtins = guard("registering built-in types", [&] { registerBuiltinTypes(registry); });
  if (!builtins.ok()) {
    report.refusal = builtins;
    return report;
  }
  PluginLoader loader(registry);
  report.refusal = loader.load(library);
  if (!report.refusal.ok()) {
    return report;
  }
  report.plugin = loader.loaded().front();

  std::vector<const RegisteredType*> types;
  for (const auto* type : registry.all()) {
    if (type->plugin == report.plugin) {
      types.push_back(type);
    }
  }
  report.lines.push_back({report.plugin->name, "registers node types",
                          types.empty() ? Outcome::kFail : Outcome::kPass,
                          types.empty() ? "register_types added no type" : ""});
  for (const auto* type : types) {
    TypeChecker(*type, log_level, report.lines).run();
  }
  return report;
}

std::string formatPluginCheck(const PluginCheckReport& report) {
  if (!report.refusal.ok()) {
    return "refused: " + report.refusal.message() + "\n";
  }
  std::string out;
  for (const auto& line : report.lines) {
    out += std::string(outcomeName(line.outcome, true)) + " " + line.type + ": " + line.check;
    if (!line.detail.empty()) {
      out += ": " + line.detail;
    }
    out += "\n";
  }
  out += std::to_string(report.count(Outcome::kPass)) + " passed, " +
         std::to_string(report.count(Outcome::kFail)) + " failed, " +
         std::to_string(report.count(Outcome::kSkip)) + " skipped\n";
  return out;
}

std::string pluginCheckJson(const PluginCheckReport& report) {
  JsonWriter json;
  json.beginObject().key("library").value(report.library);
  if (!report.refusal.ok()) {
    json.key("refused").value(report.refusal.message()).endObject();
    return json.str();
  }
  json.key("plugin").value(report.plugin->name).key("version").value(report.plugin->version);
  json.key("results").beginArray();
  for (const auto& line : report.lines) {
    json.beginObject()
        .key("type")
        .value(line.type)
        .key("check")
        .value(line.check)
        .key("outcome")
        .value(outcomeName(line.outcome, false))
        .key("detail")
        .value(line.detail)
        .endObject();
  }
  json.endArray()
      .key("passed")
      .value(static_cast<std::uint64_t>(report.count(Outcome::kPass)))
      .key("failed")
      .value(static_cast<std::uint64_t>(report.count(Outcome::kFail)))
      .key("skipped")
      .value(static_cast<std::uint64_t>(report.count(Outcome::kSkip)))
      .endObject();
  return json.str();
}

}  // namespace aimass::core
