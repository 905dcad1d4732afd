// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/model_events.h"

#include <string>
#include <utility>

#include "aimass/core/registry.h"
#include "json_check.h"
#include "record_text.h"

namespace aimass::core {
namespace {

using record::parseInt;

constexpr std::string_view kEventHeader = "aimass-model-event 1";
constexpr std::string_view kEventsPrefix = "registry/events/";
constexpr std::size_t kMaxKindLength = 64;

std::string counterKey(std::string_view model) { return modelEventsPrefix(model) + "next"; }

std::string eventKey(std::string_view model, std::int64_t sequence) {
  return modelEventsPrefix(model) + record::versionSegment(sequence);
}

Status validateEvent(const ModelEvent& event) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(event.model, "model"));
  const std::string where = "event of model '" + event.model + "'";
  bool kind_ok = !event.kind.empty() && event.kind.size() <= kMaxKindLength;
  for (char c : event.kind) {
    kind_ok = kind_ok && ((c >= 'a' && c <= 'z') || c == '_');
  }
  if (!kind_ok) {
    return invalidArgument(where + ": kind '" + event.kind +
                           "' is not 1 to 64 characters of [a-z_]");
  }
  if (event.version < 0) {
    return invalidArgument(where + ": version " + std::to_string(event.version) +
                           " is negative");
  }
  if (!event.alias.empty()) {
    AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(event.alias, "alias"));
  }
  if (!isJsonObjectText(event.details)) {
    return invalidArgument(where + " '" + event.kind + "': details are not a JSON object");
  }
  return Status();
}

// Whether `key` (under the model's prefix) is an event record rather than the counter.
bool isEventKey(std::string_view key, std::string_view prefix) {
  const std::string_view rest = key.substr(prefix.size());
  return !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

std::string modelEventsPrefix(std::string_view model) {
  std::string prefix(kEventsPrefix);
  prefix += model;
  prefix += '/';
  return prefix;
}

Expected<ModelEvent> appendModelEvent(Storage& storage, ModelEvent event) {
  AIMASS_RETURN_IF_ERROR(validateEvent(event));
  if (event.unix_ms == 0) {
    event.unix_ms = record::nowUnixMs();
  }
  if (event.actor.empty()) {
    event.actor = record::currentUser();
  }
  AIMASS_ASSIGN_OR_RETURN(event.sequence,
                          record::takeNextNumber(storage, counterKey(event.model)));
  AIMASS_ASSIGN_OR_RETURN(bool written,
                          storage.compareAndSet(eventKey(event.model, event.sequence),
                                                 std::nullopt, encodeModelEvent(event)));
  if (!written) {
    return internalError("event " + std::to_string(event.sequence) + " of model '" +
                         event.model + "' already has a record");
  }
  return event;
}

Expected<std::vector<ModelEvent>> readModelEvents(const Storage& storage, std::string_view model,
                                                  const ModelEventFilter& filter) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(model, "model"));
  const std::string prefix = modelEventsPrefix(model);
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage.list(prefix));
  std::vector<ModelEvent> out;
  for (const auto& key : keys) {  // sorted, and fixed-width numbers sort in order
    if (!isEventKey(key, prefix)) {
      continue;
    }
    auto sequence = parseInt(std::string_view(key).substr(prefix.size()));
    if (!sequence || *sequence <= filter.after_sequence) {
      continue;
    }
    AIMASS_ASSIGN_OR_RETURN(std::string text, storage.get(key));
    auto event = decodeModelEvent(text);
    if (!event.ok()) {
      return event.status().withContext("event record '" + key + "'");
    }
    if (!filter.kind.empty() && event->kind != filter.kind) {
      continue;
    }
    out.push_back(std::move(*event));
    if (filter.limit != 0 && out.size() == filter.limit) {
      break;
    }
  }
  return out;
}

Expected<bool> modelHasEvents(const Storage& storage, std::string_view model) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(model, "model"));
  const std::string prefix = modelEventsPrefix(model);
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage.list(prefix));
  for (const auto& key : keys) {
    if (isEventKey(key, prefix)) {
      return true;
    }
  }
  return false;
}

std::string encodeModelEvent(const ModelEvent& event) {
  using record::escape;
  std::string out(kEventHeader);
  auto field = [&out](std::string_view name, const std::string& value) {
    out += '\n';
    out += name;
    out += ' ';
    out += escape(value);
  };
  field("model", event.model);
  field("sequence", std::to_string(event.sequence));
  field("ms", std::to_string(event.unix_ms));
  field("kind", event.kind);
  if (event.version != 0) {
    field("version", std::to_string(event.version));
  }
  if (!event.alias.empty()) {
    field("alias", event.alias);
  }
  field("actor", event.actor);
  field("message", event.message);
  field("details", event.details);
  out += '\n';
  return out;
}

Expected<ModelEvent> decodeModelEvent(std::string_view text) {
  auto lines = record::parseRecord(text, kEventHeader);
  if (!lines.ok()) {
    return lines.status();
  }
  ModelEvent event;
  event.details.clear();
  for (const auto& fields : *lines) {
    if (fields.size() > 2) {
      return dataLoss("event field '" + fields[0] + "' has more than one value");
    }
    const std::string& name = fields[0];
    const std::string value = fields.size() == 2 ? fields[1] : std::string();
    std::int64_t* number = name == "sequence" ? &event.sequence
                           : name == "ms"     ? &event.unix_ms
                           : name == "version" ? &event.version
                                               : nullptr;
    if (number != nullptr) {
      auto parsed = parseInt(value);
      if (!parsed || *parsed < 0) {
        return dataLoss("event field '" + name + "' holds '" + value + "'");
      }
      *number = *parsed;
    } else if (name == "model") {
      event.model = value;
    } else if (name == "kind") {
      event.kind = value;
    } else if (name == "alias") {
      event.alias = value;
    } else if (name == "actor") {
      event.actor = value;
    } else if (name == "message") {
      event.message = value;
    } else if (name == "details") {
      event.details = value;
    } else {
      return dataLoss("unknown event field '" + name + "'");
    }
  }
  if (event.model.empty() || event.kind.empty() || event.sequence <= 0 ||
      event.details.empty()) {
    return dataLoss("an event record needs model, kind, sequence and details");
  }
  return event;
}

}  // namespace aimass::core
