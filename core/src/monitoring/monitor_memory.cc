// SPDX-License-Identifier: Apache-2.0
// What a monitor keeps across restarts: where it was in the ground truth, the retraining job it
// is following, and the watch of a promoted version. Without it a restarted server would never
// gate the version a retraining it started registers, nor finish a watch.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <exception>

#include "aimass/util/json_writer.h"
#include "monitoring/monitor_node.h"
#include "monitoring/monitor_state.h"
#include "monitoring/monitoring_records.h"

namespace aimass::core {
namespace {

std::string encodeMemory(const MonitorState& s) {
  JsonWriter json;
  json.beginObject().key("truth_cursor").value(s.truth_cursor);
  json.key("retrain_job").value(s.retrain_job);
  json.key("retrain_started_ms").value(s.retrain_started_ms);
  json.key("last_retrain_ms").value(s.last_retrain_ms);
  json.key("labelled_since_retrain").value(s.labelled_since_retrain);
  json.key("expected_champion").value(s.expected_champion);
  json.key("watched").value(s.watched);
  json.key("previous_champion").value(s.previous_champion);
  json.key("baseline");
  if (s.baseline) {
    json.value(*s.baseline);
  } else {
    json.null();
  }
  json.endObject();
  return json.str();
}

}  // namespace

Status MonitorNode::recallMemory() {
  MonitorState& s = *state_;
  auto text = storage_->get(monitorStateKey(settings_.model));
  if (!text.ok()) {
    return text.status().code() == StatusCode::kNotFound ? Status() : text.status();
  }
  Poco::JSON::Object::Ptr memory;
  try {
    memory = Poco::JSON::Parser().parse(*text).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception& e) {
    // A torn or hand-edited record: start afresh rather than never start; say so.
    host_.log(LogLevel::kWarning, settings_.model,
              "monitor: its saved state '" + monitorStateKey(settings_.model) +
                  "' does not parse (" + e.what() + "); starting afresh");
    return Status();
  }
  s.truth_cursor = memory->optValue<std::string>("truth_cursor", "");
  s.retrain_job = memory->optValue<std::int64_t>("retrain_job", 0);
  s.retrain_started_ms = memory->optValue<std::int64_t>("retrain_started_ms", 0);
  s.last_retrain_ms = memory->optValue<std::int64_t>("last_retrain_ms", 0);
  s.labelled_since_retrain = memory->optValue<std::uint64_t>("labelled_since_retrain", 0);
  s.expected_champion = memory->optValue<std::int64_t>("expected_champion", 0);
  s.watched = memory->optValue<std::int64_t>("watched", 0);
  s.previous_champion = memory->optValue<std::int64_t>("previous_champion", 0);
  if (memory->has("baseline") && !memory->isNull("baseline")) {
    s.baseline = memory->getValue<double>("baseline");
  }
  // The alias target it knew: a move made while it was down is then seen as one.
  s.champion = 0;
  saved_memory_ = *text;
  host_.log(LogLevel::kInfo, settings_.model,
            "monitor: resumed" +
                (s.retrain_job != 0 ? " following retraining job " + std::to_string(s.retrain_job)
                                    : std::string()) +
                (s.watched != 0 ? ", watching version " + std::to_string(s.watched)
                                : std::string()));
  return Status();
}

Status MonitorNode::rememberState() {
  std::string text = encodeMemory(*state_);
  if (text == saved_memory_) {
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(storage_->put(monitorStateKey(settings_.model), text));
  saved_memory_ = std::move(text);
  return Status();
}

}  // namespace aimass::core
