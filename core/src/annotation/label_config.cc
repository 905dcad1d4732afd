// SPDX-License-Identifier: Apache-2.0
#include "annotation/label_config.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace aimass::core::annotation {
namespace {

using Poco::Dynamic::Var;

/// The member `name` as a finite number; kInvalidArgument naming `where` otherwise.
Expected<double> numberOf(const Var& value, const std::string& where) {
  if (value.isEmpty() || !value.isNumeric() || value.isBoolean()) {
    return invalidArgument(where + " must be a number");
  }
  const double x = value.convert<double>();
  if (!std::isfinite(x)) {
    return invalidArgument(where + " must be a finite number");
  }
  return x;
}

/// The class named by `value` as an index into the choices.
Expected<int> choiceOf(const LabelConfig& config, const Var& value, const std::string& where) {
  if (value.isEmpty() || !value.isString()) {
    return invalidArgument(where + " must be a string naming one of the project's classes");
  }
  const std::string name = value.convert<std::string>();
  const int index = config.choiceIndex(name);
  if (index < 0) {
    return invalidArgument(where + " '" + name.substr(0, 80) +
                           "' is not one of the project's classes");
  }
  return index;
}

/// The array member `name` of `body`, at most kMaxRegions long.
Expected<Poco::JSON::Array::Ptr> regionsOf(const Poco::JSON::Object& body, const char* name) {
  if (!body.has(name) || body.isNull(name) || !body.isArray(name)) {
    return invalidArgument(std::string("the answer needs '") + name + "', an array");
  }
  auto array = body.getArray(name);
  if (array->size() > kMaxRegions) {
    return invalidArgument(std::string("'") + name + "' has " + std::to_string(array->size()) +
                           " entries; an answer holds at most " + std::to_string(kMaxRegions));
  }
  return array;
}

/// Entry `i` of `array` as an object holding exactly `fields`.
Expected<Poco::JSON::Object::Ptr> regionAt(const Poco::JSON::Array& array, std::size_t i,
                                           const std::string& where,
                                           std::initializer_list<std::string_view> fields) {
  if (!array.isObject(static_cast<unsigned>(i))) {
    return invalidArgument(where + " must be an object");
  }
  auto object = array.getObject(static_cast<unsigned>(i));
  for (const auto& [key, value] : *object) {
    if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
      return invalidArgument(where + " has an unknown member '" + key.substr(0, 40) + "'");
    }
  }
  for (std::string_view field : fields) {
    if (!object->has(std::string(field))) {
      return invalidArgument(where + " lacks '" + std::string(field) + "'");
    }
  }
  return object;
}

Expected<std::vector<AnswerBox>> readBoxes(const LabelConfig& config,
                                           const Poco::JSON::Object& body,
                                           const TaskBounds& bounds) {
  AIMASS_ASSIGN_OR_RETURN(auto array, regionsOf(body, "boxes"));
  std::vector<AnswerBox> boxes;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string where = "boxes[" + std::to_string(i) + "]";
    AIMASS_ASSIGN_OR_RETURN(auto object, regionAt(*array, i, where, {"x", "y", "w", "h", "label"}));
    AnswerBox box;
    AIMASS_ASSIGN_OR_RETURN(box.x, numberOf(object->get("x"), where + ".x"));
    AIMASS_ASSIGN_OR_RETURN(box.y, numberOf(object->get("y"), where + ".y"));
    AIMASS_ASSIGN_OR_RETURN(box.w, numberOf(object->get("w"), where + ".w"));
    AIMASS_ASSIGN_OR_RETURN(box.h, numberOf(object->get("h"), where + ".h"));
    AIMASS_ASSIGN_OR_RETURN(box.label, choiceOf(config, object->get("label"), where + ".label"));
    if (box.w <= 0 || box.h <= 0) {
      return invalidArgument(where + " is empty: w and h must be above 0");
    }
    const auto width = static_cast<double>(bounds.width);
    const auto height = static_cast<double>(bounds.height);
    if (box.x < 0 || box.y < 0 || box.x + box.w > width || box.y + box.h > height) {
      return invalidArgument(where + " leaves the image, which is " + std::to_string(bounds.width) +
                             "x" + std::to_string(bounds.height) + " pixels");
    }
    boxes.push_back(box);
  }
  return boxes;
}

Expected<std::vector<AnswerSpan>> readSpans(const LabelConfig& config,
                                            const Poco::JSON::Object& body,
                                            const TaskBounds& bounds) {
  AIMASS_ASSIGN_OR_RETURN(auto array, regionsOf(body, "spans"));
  std::vector<AnswerSpan> spans;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string where = "spans[" + std::to_string(i) + "]";
    AIMASS_ASSIGN_OR_RETURN(auto object, regionAt(*array, i, where, {"start", "end", "label"}));
    AnswerSpan span;
    for (auto [field, target] : {std::pair{"start", &span.start}, std::pair{"end", &span.end}}) {
      AIMASS_ASSIGN_OR_RETURN(double x, numberOf(object->get(field), where + "." + field));
      if (x != std::floor(x) || x < 0 || x > 1e15) {
        return invalidArgument(where + "." + field + " must be a whole number of characters");
      }
      *target = static_cast<std::int64_t>(x);
    }
    AIMASS_ASSIGN_OR_RETURN(span.label, choiceOf(config, object->get("label"), where + ".label"));
    if (span.end <= span.start) {
      return invalidArgument(where + " is empty: end must be above start");
    }
    if (span.end > bounds.characters) {
      return invalidArgument(where + " ends past the text, which has " +
                             std::to_string(bounds.characters) + " characters");
    }
    spans.push_back(span);
  }
  std::sort(spans.begin(), spans.end(), [](const AnswerSpan& a, const AnswerSpan& b) {
    return a.start != b.start ? a.start < b.start
                              : (a.end != b.end ? a.end < b.end : a.label < b.label);
  });
  return spans;
}

Expected<std::vector<int>> readClasses(const LabelConfig& config, const Poco::JSON::Object& body) {
  if (!body.has("labels") || body.isNull("labels") || !body.isArray("labels")) {
    return invalidArgument("the answer needs 'labels', an array of the project's classes");
  }
  auto array = body.getArray("labels");
  std::set<int> chosen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    AIMASS_ASSIGN_OR_RETURN(int index, choiceOf(config, array->get(static_cast<unsigned>(i)),
                                                "labels[" + std::to_string(i) + "]"));
    if (!chosen.insert(index).second) {
      return invalidArgument("labels[" + std::to_string(i) + "] repeats '" +
                             config.choices[static_cast<std::size_t>(index)] + "'");
    }
  }
  return std::vector<int>(chosen.begin(), chosen.end());
}

}  // namespace

std::string_view labelTaskName(LabelTask task) noexcept {
  switch (task) {
    case LabelTask::kClass:
      return "class";
    case LabelTask::kClasses:
      return "classes";
    case LabelTask::kValue:
      return "value";
    case LabelTask::kBoxes:
      return "boxes";
    case LabelTask::kSpans:
      return "spans";
  }
  return "class";
}

Expected<LabelTask> parseLabelTask(std::string_view name) {
  for (LabelTask task : {LabelTask::kClass, LabelTask::kClasses, LabelTask::kValue,
                         LabelTask::kBoxes, LabelTask::kSpans}) {
    if (labelTaskName(task) == name) return task;
  }
  return invalidArgument("label task '" + std::string(name.substr(0, 40)) +
                         "' is not class, classes, value, boxes or spans");
}

Status LabelConfig::validate() const {
  if (task == LabelTask::kValue) {
    if (!std::isfinite(min) || !std::isfinite(max) || !(min < max)) {
      return invalidArgument("a value task needs finite value_min < value_max, got " +
                             std::to_string(min) + " and " + std::to_string(max));
    }
    return Status();
  }
  if (choices.empty()) {
    return invalidArgument("a " + std::string(labelTaskName(task)) +
                           " task needs choices (the classes an annotator picks from)");
  }
  if (choices.size() > kMaxChoices) {
    return invalidArgument("a project has at most " + std::to_string(kMaxChoices) +
                           " choices, found " + std::to_string(choices.size()));
  }
  std::set<std::string_view> seen;
  for (const auto& choice : choices) {
    if (choice.empty() || choice.size() > 200) {
      return invalidArgument("choice '" + choice.substr(0, 40) + "' must have 1 to 200 bytes");
    }
    if (!seen.insert(choice).second) {
      return invalidArgument("choice '" + choice + "' is given twice");
    }
  }
  return Status();
}

int LabelConfig::choiceIndex(std::string_view name) const {
  auto it = std::find(choices.begin(), choices.end(), name);
  return it == choices.end() ? -1 : static_cast<int>(it - choices.begin());
}

Expected<Label> readLabel(const LabelConfig& config, const Poco::JSON::Object& body,
                          const TaskBounds& bounds) {
  Label label;
  switch (config.task) {
    case LabelTask::kClass: {
      if (!body.has("label")) {
        return invalidArgument("the answer needs 'label', one of the project's classes");
      }
      AIMASS_ASSIGN_OR_RETURN(int index, choiceOf(config, body.get("label"), "label"));
      label.classes = {index};
      break;
    }
    case LabelTask::kClasses: {
      AIMASS_ASSIGN_OR_RETURN(label.classes, readClasses(config, body));
      break;
    }
    case LabelTask::kValue: {
      if (!body.has("value")) {
        return invalidArgument("the answer needs 'value', a number");
      }
      AIMASS_ASSIGN_OR_RETURN(label.value, numberOf(body.get("value"), "value"));
      if (label.value < config.min || label.value > config.max) {
        return invalidArgument("value " + std::to_string(label.value) + " is outside [" +
                               std::to_string(config.min) + ", " + std::to_string(config.max) +
                               "]");
      }
      break;
    }
    case LabelTask::kBoxes: {
      AIMASS_ASSIGN_OR_RETURN(label.boxes, readBoxes(config, body, bounds));
      break;
    }
    case LabelTask::kSpans: {
      AIMASS_ASSIGN_OR_RETURN(label.spans, readSpans(config, body, bounds));
      break;
    }
  }
  return label;
}

void writeLabelMembers(JsonWriter& json, const LabelConfig& config, const Label& label) {
  auto name = [&](int index) -> const std::string& {
    return config.choices.at(static_cast<std::size_t>(index));
  };
  switch (config.task) {
    case LabelTask::kClass:
      json.key("label").value(name(label.classes.at(0)));
      return;
    case LabelTask::kClasses:
      json.key("labels").beginArray();
      for (int c : label.classes) json.value(name(c));
      json.endArray();
      return;
    case LabelTask::kValue:
      json.key("value").value(label.value);
      return;
    case LabelTask::kBoxes:
      json.key("boxes").beginArray();
      for (const AnswerBox& b : label.boxes) {
        json.beginObject().key("x").value(b.x).key("y").value(b.y).key("w").value(b.w);
        json.key("h").value(b.h).key("label").value(name(b.label)).endObject();
      }
      json.endArray();
      return;
    case LabelTask::kSpans:
      json.key("spans").beginArray();
      for (const AnswerSpan& s : label.spans) {
        json.beginObject().key("start").value(s.start).key("end").value(s.end);
        json.key("label").value(name(s.label)).endObject();
      }
      json.endArray();
      return;
  }
}

std::string labelJson(const LabelConfig& config, const Label& label) {
  JsonWriter json;
  json.beginObject();
  writeLabelMembers(json, config, label);
  json.endObject();
  return json.str();
}

}  // namespace aimass::core::annotation
