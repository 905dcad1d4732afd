// SPDX-License-Identifier: Apache-2.0
#include "monitoring/monitoring_records.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <exception>
#include <map>
#include <utility>

#include "aimass/util/json_writer.h"
#include "json_check.h"
#include "parsed_json_writer.h"
#include "record_text.h"

namespace aimass::core {
namespace {

constexpr std::string_view kMonitoringPrefix = "monitoring/";
constexpr std::size_t kWindowKeyDigits = 20;

/// The keys of one model's monitoring records, sorted as listed.
struct ModelKeys {
  std::vector<std::string> windows;  ///< window records, oldest first
  std::vector<std::string> live;     ///< live metric records
  bool state = false;
  bool any = false;  ///< any record under monitoring/<model>/, labelled rows included
};

/// The time in a window record's key; nullopt for a key that is no window record.
std::optional<std::int64_t> windowTime(std::string_view key, std::size_t prefix_size) {
  const std::string_view digits = key.substr(prefix_size);
  if (digits.size() != kWindowKeyDigits) return std::nullopt;
  return record::parseInt(digits);
}

/// Sorts `key`, one of monitoring/<model>/..., into `keys`.
void sortKey(const std::string& key, std::string_view model, ModelKeys& keys) {
  const std::string_view rest =
      std::string_view(key).substr(kMonitoringPrefix.size() + model.size() + 1);
  keys.any = true;
  if (rest.starts_with("windows/")) {
    if (windowTime(rest, std::string_view("windows/").size())) keys.windows.push_back(key);
  } else if (rest.starts_with("live/")) {
    if (record::parseInt(rest.substr(5))) keys.live.push_back(key);
  } else if (rest == "state") {
    keys.state = true;
  }
}

Expected<ModelKeys> keysOf(const Storage& storage, const std::string& model) {
  const std::string prefix = std::string(kMonitoringPrefix) + model + "/";
  AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> listed, storage.list(prefix));
  ModelKeys keys;
  for (const std::string& key : listed) sortKey(key, model, keys);
  if (!keys.any) {
    return notFound("model '" + model + "' has no monitoring records in " + storage.describe() +
                    " (no service.monitor has watched it there)");
  }
  return keys;
}

/// A record that must be one JSON object, parsed.
Expected<Poco::JSON::Object::Ptr> objectRecord(const Storage& storage, const std::string& key) {
  AIMASS_ASSIGN_OR_RETURN(std::string text, storage.get(key));
  try {
    auto object = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    if (object) return object;
  } catch (const std::exception& e) {
    return dataLoss("monitoring record '" + key + "' is not a JSON object: " + e.what());
  }
  return dataLoss("monitoring record '" + key + "' is not a JSON object");
}

/// The fields of `object` named in `names` that it has, in that order.
void writeFields(JsonWriter& json, const Poco::JSON::Object& object,
                 std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (object.has(name)) {
      json.key(name);
      writeParsedJson(json, object.get(name));
    }
  }
}

/// The summary's fields from the last window record (null ones before the first).
Status writeLastWindow(JsonWriter& json, const Storage& storage, const ModelKeys& keys,
                       std::string_view model, bool features) {
  json.key("windows").value(std::uint64_t{keys.windows.size()});
  if (keys.windows.empty()) {
    json.key("last_window_unix_ns").null().key("last_drifted").null();
    json.key("last_window").null();
    if (features) json.key("features").beginArray().endArray();
    return Status();
  }
  const std::string& key = keys.windows.back();
  AIMASS_ASSIGN_OR_RETURN(auto window, objectRecord(storage, key));
  const std::size_t prefix = windowRecordsPrefix(model).size();
  json.key("last_window_unix_ns").value(*windowTime(key, prefix));
  json.key("last_drifted");
  if (window->has("drifted")) {
    writeParsedJson(json, window->get("drifted"));
  } else {
    json.null();
  }
  json.key("last_window").beginObject();
  writeFields(json, *window, {"rows", "tested", "drifted_features"});
  json.endObject();
  if (features) {
    json.key("features");
    if (window->has("features")) {
      writeParsedJson(json, window->get("features"));
    } else {
      json.beginArray().endArray();
    }
  }
  return Status();
}

/// {"model", ...}: see monitoringSummaryJson().
Status writeSummary(JsonWriter& json, const Storage& storage, const std::string& model,
                    const ModelKeys& keys, bool features) {
  json.beginObject().key("model").value(model);
  AIMASS_RETURN_IF_ERROR(writeLastWindow(json, storage, keys, model, features));
  // Live metrics by version number, not by the keys' text order ("10" before "9").
  std::vector<std::pair<std::int64_t, std::string>> live;
  for (const std::string& key : keys.live) {
    live.emplace_back(*record::parseInt(key.substr(key.rfind('/') + 1)), key);
  }
  std::sort(live.begin(), live.end());
  json.key("live").beginArray();
  for (const auto& [version, key] : live) {
    AIMASS_ASSIGN_OR_RETURN(auto metric, objectRecord(storage, key));
    json.beginObject().key("version").value(version);
    writeFields(json, *metric, {"metric", "value", "window_rows", "labelled_rows", "unix_ms"});
    json.endObject();
  }
  json.endArray().key("state");
  if (keys.state) {
    AIMASS_ASSIGN_OR_RETURN(auto state, objectRecord(storage, monitorStateKey(model)));
    json.beginObject();
    writeFields(json, *state,
                {"retrain_job", "retrain_started_ms", "last_retrain_ms", "labelled_since_retrain",
                 "expected_champion", "watched", "previous_champion", "baseline"});
    json.endObject();
  } else {
    json.null();
  }
  json.endObject();
  return Status();
}

}  // namespace

std::string windowRecordsPrefix(std::string_view model) {
  return std::string(kMonitoringPrefix) + std::string(model) + "/windows/";
}

std::string monitorStateKey(std::string_view model) {
  return std::string(kMonitoringPrefix) + std::string(model) + "/state";
}

Expected<std::string> monitoringListJson(const Storage& storage) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> listed, storage.list(kMonitoringPrefix));
  // Keys sort bytewise, so each model's keys come together; a model's name ends at its '/'.
  std::map<std::string, ModelKeys> models;
  for (const std::string& key : listed) {
    const std::size_t end = key.find('/', kMonitoringPrefix.size());
    if (end == std::string::npos) continue;
    const std::string model = key.substr(kMonitoringPrefix.size(), end - kMonitoringPrefix.size());
    sortKey(key, model, models[model]);
  }
  JsonWriter json;
  json.beginObject().key("models").beginArray();
  for (const auto& [model, keys] : models) {
    AIMASS_RETURN_IF_ERROR(writeSummary(json, storage, model, keys, false));
  }
  json.endArray().endObject();
  return json.str();
}

Expected<std::string> monitoringSummaryJson(const Storage& storage, const std::string& model,
                                            bool features) {
  AIMASS_ASSIGN_OR_RETURN(ModelKeys keys, keysOf(storage, model));
  JsonWriter json;
  AIMASS_RETURN_IF_ERROR(writeSummary(json, storage, model, keys, features));
  return json.str();
}

Expected<std::string> monitoringWindowsJson(const Storage& storage, const std::string& model,
                                            const WindowRecordsQuery& query) {
  AIMASS_ASSIGN_OR_RETURN(ModelKeys keys, keysOf(storage, model));
  const std::size_t prefix = windowRecordsPrefix(model).size();
  // The keys are sorted by time (20 digits, zero-padded): the first after `after_ns` is found
  // by bisection, and only the records returned are read.
  auto first = keys.windows.begin();
  if (query.after_ns) {
    first = std::upper_bound(keys.windows.begin(), keys.windows.end(), *query.after_ns,
                             [prefix](std::int64_t after, const std::string& key) {
                               return after < *windowTime(key, prefix);
                             });
  }
  const auto last = first + static_cast<std::ptrdiff_t>(
                                std::min<std::size_t>(query.limit, keys.windows.end() - first));
  JsonWriter json;
  json.beginObject().key("model").value(model).key("windows").beginArray();
  std::size_t bytes = 0;
  auto it = first;
  for (; it != last && (it == first || bytes < query.max_bytes); ++it) {
    AIMASS_ASSIGN_OR_RETURN(std::string text, storage.get(*it));
    if (!isJsonObjectText(text)) {
      return dataLoss("monitoring record '" + *it + "' is not a JSON object");
    }
    bytes += text.size();
    // The stored object with "unix_ns" (from its key) put first.
    const std::size_t open = text.find('{');
    const std::size_t inner = text.find_first_not_of(" \t\r\n", open + 1);
    const bool empty = text[inner] == '}';
    json.json("{\"unix_ns\":" + std::to_string(*windowTime(*it, prefix)) + (empty ? "" : ",") +
              text.substr(open + 1));
  }
  json.endArray().key("more").value(it != keys.windows.end()).endObject();
  return json.str();
}

}  // namespace aimass::core
