// SPDX-License-Identifier: Apache-2.0
#include "monitoring/payloads_cli.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ostream>

#include "aimass/core/cli.h"
#include "aimass/util/json_writer.h"
#include "aimass/util/number_text.h"
#include "store_options.h"
#include "text_format.h"

namespace aimass::core {
namespace {

constexpr std::size_t kDefaultLimit = 20;
constexpr std::int64_t kShownValues = 4;  // per tensor in the table

Expected<std::int64_t> wholeNumber(const std::string& option, const std::string& text,
                                   std::int64_t lowest) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < lowest) {
    return invalidArgument(option + " must be a whole number from " + std::to_string(lowest) +
                           ", got '" + text + "'");
  }
  return value;
}

/// The value at `i` of a tensor as JSON-ready text or number.
void writeValue(JsonWriter& json, const Tensor& tensor, std::int64_t i) {
  const auto at = static_cast<std::size_t>(i);
  switch (tensor.dtype()) {
    case DType::kBytes:
      json.value(tensor.strings()[at]);
      return;
    case DType::kFloat32: {
      const float value = tensor.data<float>()[at];  // its own shortest text, not a double's
      if (std::isfinite(value)) {
        json.json(formatNumber(value));
      } else {
        json.null();
      }
      return;
    }
    case DType::kFloat64:
      json.value(tensor.data<double>()[at]);
      return;
    case DType::kInt64:
      json.value(tensor.data<std::int64_t>()[at]);
      return;
    case DType::kInt32:
      json.value(static_cast<std::int64_t>(tensor.data<std::int32_t>()[at]));
      return;
    case DType::kBool:
      json.value(tensor.data<bool>()[at]);
      return;
    default:
      json.null();  // other datatypes: shape and datatype only
  }
}

void writeTensors(JsonWriter& json, const TensorMap& tensors) {
  json.beginArray();
  for (const auto& [name, tensor] : tensors) {
    json.beginObject().key("name").value(name).key("datatype").value(dtypeName(tensor.dtype()));
    json.key("shape").beginArray();
    for (std::int64_t dim : tensor.shape()) {
      json.value(dim);
    }
    json.endArray().key("data").beginArray();
    for (std::int64_t i = 0; i < tensor.numel(); ++i) {
      writeValue(json, tensor, i);
    }
    json.endArray().endObject();
  }
  json.endArray();
}

/// "y FP32[1, 2] 2, 4" with at most kShownValues values.
std::string tensorsText(const TensorMap& tensors) {
  std::string text;
  for (const auto& [name, tensor] : tensors) {
    std::string listed;
    const std::int64_t shown = std::min(tensor.numel(), kShownValues);
    for (std::int64_t i = 0; i < shown; ++i) {
      JsonWriter value;
      writeValue(value, tensor, i);
      std::string one = value.str();
      while (!one.empty() && one.back() == '\n') {
        one.pop_back();
      }
      listed += (i == 0 ? " " : ", ") + one;
    }
    text += (text.empty() ? "" : "; ") + name + " " + std::string(dtypeName(tensor.dtype())) +
            shapeToString(tensor.shape()) + listed + (tensor.numel() > shown ? " ..." : "");
  }
  return text.empty() ? "-" : text;
}

}  // namespace

std::string modelsSubcommandOf(const std::vector<std::string>& words) {
  static constexpr std::string_view kValued[] = {
      "--config",      "--storage",    "--storage-node", "--since",         "--limit",
      "--remove",      "--min-age",    "--alias",        "--log-level",     "--plugin-path",
      "--data",        "--alpha",      "--correction",   "--number-test",   "--category-test",
      "--threads"};
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.starts_with("--")) {
      const bool valued =
          word.find('=') == std::string::npos &&
          std::find(std::begin(kValued), std::end(kValued), word) != std::end(kValued);
      i += valued ? 1 : 0;
      continue;
    }
    return word;
  }
  return {};
}

bool isPayloadsCommand(const std::vector<std::string>& words) {
  return modelsSubcommandOf(words) == "payloads";
}

Expected<PayloadsCommand> parsePayloadsCommand(const std::vector<std::string>& words) {
  PayloadsCommand command;
  command.query.limit = kDefaultLimit;
  auto handle = [&](const std::string& name, const std::string& value) -> Status {
    if (name == "--json") {
      command.json = true;
    } else if (name == "--since") {
      AIMASS_ASSIGN_OR_RETURN(command.query.from_ns, wholeNumber(name, value, 0));
    } else if (name == "--limit") {
      AIMASS_ASSIGN_OR_RETURN(std::int64_t limit, wholeNumber(name, value, 1));
      command.query.limit = static_cast<std::size_t>(limit);
    }
    return okStatus();
  };
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(
          words,
          {.command = "models payloads", .flags = {"--json"}, .valued = {"--since", "--limit"}},
          handle));
  assignStoreChoice(options, command);
  const char* usage =
      " (usage: aimass models payloads NAME[/VERSION] [--since UNIX_NS] [--limit N] "
      "[--json] --config CONFIG)";
  if (options.positional.size() != 2 || options.positional[0] != "payloads") {
    return invalidArgument(std::string("'aimass models payloads' takes 1 argument") + usage);
  }
  // NAME or NAME/VERSION, as `models show` names them (--version is aimass's own option).
  const std::string& named = options.positional[1];
  const std::size_t slash = named.find('/');
  command.model = named.substr(0, slash);
  if (slash != std::string::npos) {
    command.query.version = named.substr(slash + 1);
    if (command.query.version.empty() || command.model.empty()) {
      return invalidArgument("'aimass models payloads' takes NAME or NAME/VERSION, got '" + named +
                             "'" + usage);
    }
  }
  command.query.model = command.model;
  AIMASS_RETURN_IF_ERROR(checkStoreChoice("models payloads", "payload log", command.config,
                                          command.storage_uri, command.storage_node));
  return command;
}

std::string payloadEntriesJson(const std::string& model, const std::vector<PayloadEntry>& entries) {
  JsonWriter json;
  json.beginObject().key("model").value(model).key("entries").beginArray();
  for (const PayloadEntry& entry : entries) {
    json.beginObject()
        .key("request_id")
        .value(entry.request_id)
        .key("version")
        .value(entry.version)
        .key("unix_ns")
        .value(entry.unix_ns)
        .key("latency_us")
        .value(entry.latency_us)
        .key("outcome")
        .value(entry.outcome)
        .key("masked_features")
        .beginArray();
    for (const auto& name : entry.masked_features) {
      json.value(name);
    }
    json.endArray().key("inputs");
    writeTensors(json, entry.inputs);
    json.key("outputs");
    writeTensors(json, entry.outputs);
    json.endObject();
  }
  json.endArray().endObject();
  return json.str();
}

int runPayloadsCommand(const PayloadsCommand& command, Storage& storage, std::ostream& out,
                       std::ostream& err) {
  auto entries = readPayloads(storage, command.query);
  if (!entries.ok()) {
    return storeCommandExit(entries.status(), err);
  }
  if (command.json) {
    out << payloadEntriesJson(command.model, *entries);
    return storeCommandExit(okStatus(), err);
  }
  if (entries->empty()) {
    out << "model '" << command.model << "' has no logged payloads"
        << (command.query.version.empty() ? "" : " of version '" + command.query.version + "'")
        << " in " << storage.describe() << "\n";
    return storeCommandExit(okStatus(), err);
  }
  std::vector<std::vector<std::string>> rows = {
      {"TIME (UTC)", "VERSION", "REQUEST ID", "LATENCY", "OUTCOME", "INPUTS", "OUTPUTS"}};
  for (const PayloadEntry& e : *entries) {
    rows.push_back({formatUtcTime(e.unix_ns / 1'000'000), e.version, e.request_id,
                    formatNumber(static_cast<double>(e.latency_us) / 1000.0) + " ms", e.outcome,
                    tensorsText(e.inputs), tensorsText(e.outputs)});
  }
  out << textTable(rows);
  return storeCommandExit(okStatus(), err);
}

}  // namespace aimass::core
