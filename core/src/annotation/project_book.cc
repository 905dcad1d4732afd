// SPDX-License-Identifier: Apache-2.0
#include "annotation/project_book.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "aimass/util/json_writer.h"
#include "record_text.h"

namespace aimass::core::annotation {
namespace {

/// What stored answers are read against: they were checked against their task when written.
constexpr TaskBounds kStoredBounds{std::numeric_limits<std::int64_t>::max() / 4,
                                   std::numeric_limits<std::int64_t>::max() / 4,
                                   std::numeric_limits<std::int64_t>::max() / 4};

std::string rowSegment(std::uint64_t row) {
  char text[24];
  std::snprintf(text, sizeof text, "%020llu", static_cast<unsigned long long>(row));
  return text;
}

Expected<Label> storedAnswer(const LabelConfig& labels, const Poco::JSON::Object& record) {
  if (!record.isObject("answer")) return invalidArgument("it has no 'answer' object");
  return readLabel(labels, *record.getObject("answer"), kStoredBounds);
}

Expected<Annotation> annotationFrom(const LabelConfig& labels, const Poco::JSON::Object& record) {
  Annotation a;
  a.annotator = record.optValue<std::string>("annotator", "");
  a.unix_ms = record.optValue<Poco::Int64>("unix_ms", 0);
  a.seconds = record.optValue<double>("seconds", 0.0);
  a.suggested = record.optValue<bool>("suggested", false);
  AIMASS_ASSIGN_OR_RETURN(a.label, storedAnswer(labels, record));
  if (a.annotator.empty()) return invalidArgument("it names no annotator");
  return a;
}

Expected<Poco::JSON::Object::Ptr> parseObject(const std::string& text) {
  try {
    auto parsed = Poco::JSON::Parser().parse(text);
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) {
      return parsed.extract<Poco::JSON::Object::Ptr>();
    }
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return invalidArgument(std::string("it is not JSON: ") + e.what());
  }
  return invalidArgument("it is not a JSON object");
}

}  // namespace

std::string keySegment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '@' || c == '-';
    if (plain) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  if (out == "." || out == "..") out = out == "." ? "%2E" : "%2E%2E";
  return out;
}

void writeAnnotationRecord(JsonWriter& json, const LabelConfig& labels, const Annotation& a) {
  json.beginObject().key("annotator").value(a.annotator).key("unix_ms").value(a.unix_ms);
  json.key("seconds").value(a.seconds).key("suggested").value(a.suggested);
  json.key("answer").beginObject();
  writeLabelMembers(json, labels, a.label);
  json.endObject().endObject();
}

std::string_view decisionName(Decision decision) noexcept {
  switch (decision) {
    case Decision::kAccept:
      return "accept";
    case Decision::kReject:
      return "reject";
    case Decision::kCorrect:
      return "correct";
  }
  return "accept";
}

Expected<Decision> parseDecision(std::string_view name) {
  for (Decision d : {Decision::kAccept, Decision::kReject, Decision::kCorrect}) {
    if (decisionName(d) == name) return d;
  }
  return invalidArgument("decision '" + std::string(name.substr(0, 40)) +
                         "' is not accept, reject or correct");
}

std::string_view taskStateName(TaskState state) noexcept {
  switch (state) {
    case TaskState::kOpen:
      return "open";
    case TaskState::kAwaitingReview:
      return "awaiting_review";
    case TaskState::kAccepted:
      return "accepted";
  }
  return "open";
}

ProjectBook::ProjectBook(std::shared_ptr<Storage> storage, BookRules rules)
    : storage_(std::move(storage)), rules_(std::move(rules)) {}

std::string ProjectBook::taskPrefix(std::uint64_t row) const {
  return "annotation/" + rules_.project + "/tasks/" + rowSegment(row) + "/";
}

Status ProjectBook::load() {
  const std::string prefix = "annotation/" + rules_.project + "/tasks/";
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_->list(prefix));
  std::lock_guard lock(mutex_);
  tasks_.clear();
  for (const auto& key : keys) {
    AIMASS_RETURN_IF_ERROR(loadRecord(key));
  }
  for (auto& [row, task] : tasks_) {  // in the order they were given
    std::sort(task.annotations.begin(), task.annotations.end(),
              [](const Annotation& a, const Annotation& b) { return a.unix_ms < b.unix_ms; });
  }
  return Status();
}

Status ProjectBook::loadRecord(const std::string& key) {
  const std::string prefix = "annotation/" + rules_.project + "/tasks/";
  const std::string rest = key.substr(prefix.size());
  auto bad = [&](const std::string& why) {
    return dataLoss("annotation record '" + key + "' is malformed: " + why);
  };
  const auto slash = rest.find('/');
  auto row = record::parseInt(rest.substr(0, slash));
  if (slash != 20 || !row || *row < 0) return bad("no task row in its key");
  const std::string what = rest.substr(slash + 1);
  auto text = storage_->get(key);
  if (!text.ok()) {
    return text.status().code() == StatusCode::kNotFound ? Status() : text.status();
  }
  auto object = parseObject(*text);
  if (!object.ok()) return bad(object.status().message());
  TaskRecord& task = tasks_[static_cast<std::uint64_t>(*row)];
  if (what.rfind("by/", 0) == 0) {
    auto a = annotationFrom(rules_.labels, **object);
    if (!a.ok()) return bad(a.status().message());
    task.annotations.push_back(std::move(*a));
  } else if (what == "review") {
    Review r;
    r.reviewer = (*object)->optValue<std::string>("reviewer", "");
    r.unix_ms = (*object)->optValue<Poco::Int64>("unix_ms", 0);
    auto decision = parseDecision((*object)->optValue<std::string>("decision", ""));
    if (!decision.ok()) return bad(decision.status().message());
    r.decision = *decision;
    if (r.decision == Decision::kCorrect) {
      auto label = storedAnswer(rules_.labels, **object);
      if (!label.ok()) return bad(label.status().message());
      r.label = std::move(*label);
    }
    task.review = std::move(r);
  } else if (what.rfind("rejected/", 0) == 0) {
    ++task.rejections;
  } else {
    return bad("unknown record");
  }
  return Status();
}

std::optional<Label> ProjectBook::consensus(const TaskRecord& record) const {
  const auto& all = record.annotations;
  if (all.empty()) return std::nullopt;
  const std::size_t n = all.size();
  switch (rules_.labels.task) {
    case LabelTask::kClass: {
      std::map<int, std::size_t> votes;
      for (const auto& a : all) ++votes[a.label.classes.at(0)];
      for (const auto& [c, count] : votes) {
        if (2 * count > n) return Label{{c}, 0, {}, {}};
      }
      return std::nullopt;
    }
    case LabelTask::kClasses: {
      std::map<int, std::size_t> votes;
      for (const auto& a : all) {
        for (int c : a.label.classes) ++votes[c];
      }
      Label label;
      for (const auto& [c, count] : votes) {
        if (2 * count > n) label.classes.push_back(c);
        if (2 * count == n) return std::nullopt;  // a tie on a class: a reviewer decides
      }
      return label;
    }
    case LabelTask::kValue: {
      double sum = 0;
      for (const auto& a : all) sum += a.label.value;
      Label label;
      label.value = sum / static_cast<double>(n);
      return label;
    }
    case LabelTask::kBoxes:
    case LabelTask::kSpans:
      for (const auto& a : all) {
        if (!(a.label == all.front().label)) return std::nullopt;
      }
      return all.front().label;
  }
  return std::nullopt;
}

TaskState ProjectBook::stateOf(const TaskRecord& record) const {
  if (record.review) return TaskState::kAccepted;
  if (record.annotations.size() < rules_.per_task) return TaskState::kOpen;
  if (rules_.review || !consensus(record)) return TaskState::kAwaitingReview;
  return TaskState::kAccepted;
}

TaskState ProjectBook::state(std::uint64_t row) const {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(row);
  return it == tasks_.end() ? TaskState::kOpen : stateOf(it->second);
}

TaskRecord ProjectBook::task(std::uint64_t row) const {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(row);
  return it == tasks_.end() ? TaskRecord{} : it->second;
}

std::optional<Label> ProjectBook::accepted(std::uint64_t row) const {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(row);
  if (it == tasks_.end() || stateOf(it->second) != TaskState::kAccepted) return std::nullopt;
  const TaskRecord& record = it->second;
  if (record.review && record.review->label) return record.review->label;
  return consensus(record);
}

std::map<std::uint64_t, Label> ProjectBook::acceptedLabels() const {
  std::lock_guard lock(mutex_);
  std::map<std::uint64_t, Label> out;
  for (const auto& [row, record] : tasks_) {
    if (stateOf(record) != TaskState::kAccepted) continue;
    auto label = record.review && record.review->label ? record.review->label : consensus(record);
    if (label) out.emplace(row, std::move(*label));
  }
  return out;
}

BookCounts ProjectBook::counts() const {
  std::lock_guard lock(mutex_);
  BookCounts c;
  for (const auto& [row, record] : tasks_) {
    const TaskState s = stateOf(record);
    c.annotated += record.annotations.empty() ? 0 : 1;
    c.awaiting_review += s == TaskState::kAwaitingReview ? 1 : 0;
    c.accepted += s == TaskState::kAccepted ? 1 : 0;
    c.rejected_rounds += record.rejections;
    c.annotations += record.annotations.size();
    for (const auto& a : record.annotations) ++c.by_annotator[a.annotator];
    if (record.review) ++c.by_reviewer[record.review->reviewer];
  }
  return c;
}

void ProjectBook::forEachTask(
    const std::function<void(std::uint64_t, const TaskRecord&, TaskState)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [row, record] : tasks_) visit(row, record, stateOf(record));
}

Expected<TaskState> ProjectBook::annotate(std::uint64_t row, Annotation a) {
  std::lock_guard lock(mutex_);
  TaskRecord& record = tasks_[row];
  const TaskState before = stateOf(record);
  auto mine = std::find_if(record.annotations.begin(), record.annotations.end(),
                           [&](const Annotation& x) { return x.annotator == a.annotator; });
  if (before != TaskState::kOpen) {
    return aborted("task " + std::to_string(row) + " is " + std::string(taskStateName(before)) +
                   "; its answers are closed");
  }
  JsonWriter json;
  writeAnnotationRecord(json, rules_.labels, a);
  AIMASS_RETURN_IF_ERROR(
      storage_->put(taskPrefix(row) + "by/" + keySegment(a.annotator), json.str()));
  if (mine != record.annotations.end()) {
    *mine = std::move(a);
  } else {
    record.annotations.push_back(std::move(a));
  }
  return stateOf(record);
}

Expected<TaskState> ProjectBook::review(std::uint64_t row, Review r) {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(row);
  const TaskState before = it == tasks_.end() ? TaskState::kOpen : stateOf(it->second);
  if (before != TaskState::kAwaitingReview) {
    return aborted("task " + std::to_string(row) + " is " + std::string(taskStateName(before)) +
                   "; only a task awaiting review can be decided");
  }
  TaskRecord& record = it->second;
  for (const auto& a : record.annotations) {
    if (a.annotator == r.reviewer) {
      return aborted("'" + r.reviewer + "' annotated task " + std::to_string(row) +
                     " and cannot review it");
    }
  }
  if (r.decision == Decision::kAccept && !consensus(record)) {
    return aborted("the answers to task " + std::to_string(row) +
                   " disagree, so there is nothing to accept: correct it with an "
                   "answer, or reject it");
  }
  const std::string prefix = taskPrefix(row);
  if (r.decision == Decision::kReject) {
    JsonWriter json;
    json.beginObject().key("reviewer").value(r.reviewer).key("unix_ms").value(r.unix_ms);
    json.key("annotations").beginArray();
    for (const auto& a : record.annotations) writeAnnotationRecord(json, rules_.labels, a);
    json.endArray().endObject();
    // The archive first: a failure after it leaves annotations that still count, never lost.
    AIMASS_RETURN_IF_ERROR(
        storage_->put(prefix + "rejected/" + rowSegment(record.rejections), json.str()));
    ++record.rejections;
    while (!record.annotations.empty()) {
      Status removed =
          storage_->remove(prefix + "by/" + keySegment(record.annotations.back().annotator));
      if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
      record.annotations.pop_back();
    }
    return TaskState::kOpen;
  }
  JsonWriter json;
  json.beginObject().key("reviewer").value(r.reviewer);
  json.key("decision").value(decisionName(r.decision)).key("unix_ms").value(r.unix_ms);
  if (r.decision == Decision::kCorrect) {
    json.key("answer").beginObject();
    writeLabelMembers(json, rules_.labels, r.label.value());
    json.endObject();
  }
  json.endObject();
  AIMASS_RETURN_IF_ERROR(storage_->put(prefix + "review", json.str()));
  record.review = std::move(r);
  return TaskState::kAccepted;
}

}  // namespace aimass::core::annotation
