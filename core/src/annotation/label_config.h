// SPDX-License-Identifier: Apache-2.0
// What an annotation project asks for (its label configuration) and one annotator's answer (a
// Label): parsed from hostile JSON, checked against the configuration and the task (an image's
// size, a text's length), and written back in one canonical form, which is also how they are
// stored. Pure: no I/O, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/util/json_writer.h"

namespace Poco::JSON {
class Object;
}

namespace aimass::core::annotation {

/// What is labelled.
enum class LabelTask {
  kClass,    ///< one class per task: {"label": "Coat"}
  kClasses,  ///< any number of classes per task (multi-label): {"labels": ["a", "b"]}
  kValue,    ///< one number per task (regression): {"value": 3.5}
  kBoxes,    ///< boxes on an image, each with a class: {"boxes": [{"x","y","w","h","label"}]}
  kSpans,    ///< spans of a text, each with a class: {"spans": [{"start","end","label"}]}
};

/// "class", "classes", "value", "boxes", "spans"; parseLabelTask() reads them back.
std::string_view labelTaskName(LabelTask task) noexcept;
Expected<LabelTask> parseLabelTask(std::string_view name);

/// A project's label configuration.
struct LabelConfig {
  LabelTask task = LabelTask::kClass;
  /// The classes an answer may name (every task but kValue), in the order keys 1..9 pick them.
  std::vector<std::string> choices;
  double min = 0;  ///< kValue: the least value accepted
  double max = 0;  ///< kValue: the greatest (min < max)
  /// Checks the configuration: choices given, distinct and at most kMaxChoices of at most 200
  /// bytes each (every task but kValue); finite min < max (kValue).
  Status validate() const;
  /// The index of `name` in choices; -1 when it is none.
  int choiceIndex(std::string_view name) const;
};

inline constexpr std::size_t kMaxChoices = 1000;
/// Boxes or spans one answer may hold.
inline constexpr std::size_t kMaxRegions = 1000;

struct AnswerBox {
  double x = 0, y = 0, w = 0, h = 0;  ///< pixels from the image's top left corner
  int label = 0;                      ///< index into LabelConfig::choices
  bool operator==(const AnswerBox&) const = default;
};

struct AnswerSpan {
  std::int64_t start = 0, end = 0;  ///< [start, end) in the text's characters (code points)
  int label = 0;                    ///< index into LabelConfig::choices
  bool operator==(const AnswerSpan&) const = default;
};

/// One answer. Only the members of the configuration's task are meaningful.
struct Label {
  std::vector<int> classes;       ///< kClass: exactly one index; kClasses: sorted, distinct
  double value = 0;               ///< kValue
  std::vector<AnswerBox> boxes;   ///< kBoxes, in the order given
  std::vector<AnswerSpan> spans;  ///< kSpans, sorted by start then end
  bool operator==(const Label&) const = default;
};

/// What an answer is checked against besides the configuration.
struct TaskBounds {
  std::int64_t width = 0, height = 0;  ///< kBoxes: the image's size in pixels
  std::int64_t characters = 0;         ///< kSpans: the text's length in code points
};

/// Reads the answer from the members of `body` that the task names ("label", "labels",
/// "value", "boxes", "spans"); other members are the caller's. kInvalidArgument, naming the
/// member (and the index of a box or span) and what was wrong: a missing or mistyped member,
/// a class not among the choices, a value outside [min, max], a box outside the image or
/// empty, a span outside the text or empty, more than kMaxRegions regions.
Expected<Label> readLabel(const LabelConfig& config, const Poco::JSON::Object& body,
                          const TaskBounds& bounds);

/// Writes the answer's members (as readLabel() reads them) into the open object of `json`.
void writeLabelMembers(JsonWriter& json, const LabelConfig& config, const Label& label);

/// The answer as its own JSON object: {"label": "Coat"} and so on.
std::string labelJson(const LabelConfig& config, const Label& label);

}  // namespace aimass::core::annotation
