// SPDX-License-Identifier: Apache-2.0
// The annotations and reviews of one annotation project: kept in memory for the project's
// routes and its ranker, and written through to the storage node record by record, so that a
// restarted server reads back exactly what was said. Which task an annotator gets next is the
// node's business (annotation_node.h); this class keeps the rules of a task's life:
//   open            fewer than `per_task` annotations in the current round;
//   awaiting review `per_task` annotations, and a reviewer must decide (review on, or the
//                   annotations disagree: no majority class, different boxes);
//   accepted        a reviewer accepted or corrected it, or (review off) the annotations agree.
// A rejection archives the round's annotations and opens the task again.
//
// Storage layout under "annotation/<project>/tasks/<row, 20 digits>/":
//   by/<annotator>    an annotation: {"annotator", "unix_ms", "seconds", "suggested", "answer"}
//   review            the decision:  {"reviewer", "decision", "unix_ms", "answer"?}
//   rejected/<round>  a rejected round: {"reviewer", "unix_ms", "annotations": [...]}
// Annotator names are percent-encoded in keys (any principal can annotate).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/util/json_writer.h"
#include "annotation/label_config.h"

namespace aimass::core::annotation {

struct Annotation {
  std::string annotator;
  Label label;
  std::int64_t unix_ms = 0;
  double seconds = 0;      ///< time the annotator spent, as the console measured it (0: unknown)
  bool suggested = false;  ///< the answer is the model's suggestion, taken unchanged
};

enum class Decision { kAccept, kReject, kCorrect };
std::string_view decisionName(Decision decision) noexcept;  ///< "accept", "reject", "correct"
Expected<Decision> parseDecision(std::string_view name);

struct Review {
  std::string reviewer;
  Decision decision = Decision::kAccept;
  std::optional<Label> label;  ///< kCorrect: the reviewer's answer
  std::int64_t unix_ms = 0;
};

enum class TaskState { kOpen, kAwaitingReview, kAccepted };
std::string_view taskStateName(TaskState state) noexcept;  ///< "open", "awaiting_review", ...

/// Everything said about one task.
struct TaskRecord {
  std::vector<Annotation> annotations;  ///< of the current round, in the order given
  std::optional<Review> review;         ///< accept or correct (a rejection starts a round)
  std::uint32_t rejections = 0;         ///< rounds rejected so far
};

/// The rules a book keeps.
struct BookRules {
  std::string project;  ///< the node's name: the storage prefix
  LabelConfig labels;
  std::size_t per_task = 1;  ///< annotations a task needs
  bool review = false;       ///< every task needs a reviewer's decision
};

/// Counts over the project.
struct BookCounts {
  std::uint64_t annotated = 0;  ///< tasks with at least one annotation in their current round
  std::uint64_t awaiting_review = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected_rounds = 0;
  std::uint64_t annotations = 0;                      ///< of current rounds
  std::map<std::string, std::uint64_t> by_annotator;  ///< annotations of current rounds
  std::map<std::string, std::uint64_t> by_reviewer;   ///< decisions standing
};

/// Threading: every method is safe from many threads at once (one mutex); storage is written
/// before memory changes, so a failed write changes nothing.
class ProjectBook {
 public:
  ProjectBook(std::shared_ptr<Storage> storage, BookRules rules);

  const BookRules& rules() const noexcept { return rules_; }
  /// Reads every record of the project (once, before use). kDataLoss names a malformed one.
  Status load();

  TaskState state(std::uint64_t row) const;
  /// A copy of the task's record; an empty one for a task nobody touched.
  TaskRecord task(std::uint64_t row) const;
  /// The label a task was accepted with (the reviewer's correction, the accepted consensus);
  /// nullopt unless accepted.
  std::optional<Label> accepted(std::uint64_t row) const;
  /// Every accepted task's label, by row.
  std::map<std::uint64_t, Label> acceptedLabels() const;
  BookCounts counts() const;
  /// Calls `visit` for every task with annotations or a decision, by row, under the lock
  /// (`visit` must not call back into the book).
  void forEachTask(
      const std::function<void(std::uint64_t, const TaskRecord&, TaskState)>& visit) const;

  /// Records (or replaces) `a.annotator`'s answer to `row`. kAborted (409 to a
  /// client) when the task is accepted or awaits review, or already has `per_task` answers of
  /// others. Returns the task's state after it.
  Expected<TaskState> annotate(std::uint64_t row, Annotation a);
  /// Records a reviewer's decision on a task that awaits review (kAborted
  /// otherwise; a reviewer cannot decide on a task it annotated in this round). A rejection
  /// archives the round and opens the task again.
  Expected<TaskState> review(std::uint64_t row, Review r);

 private:
  TaskState stateOf(const TaskRecord& record) const;
  std::optional<Label> consensus(const TaskRecord& record) const;
  std::string taskPrefix(std::uint64_t row) const;
  Status loadRecord(const std::string& key);

  std::shared_ptr<Storage> storage_;
  BookRules rules_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, TaskRecord> tasks_;
};

/// An annotation as it is stored and as the routes show it: {"annotator", "unix_ms", "seconds",
/// "suggested", "answer": {the label's members}}.
void writeAnnotationRecord(JsonWriter& json, const LabelConfig& labels, const Annotation& a);

/// `name` with every byte outside [A-Za-z0-9._@-] as %XX: a storage key segment for any
/// principal.
std::string keySegment(std::string_view name);

}  // namespace aimass::core::annotation
