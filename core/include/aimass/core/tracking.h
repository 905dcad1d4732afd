// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// Where a run stands. A run starts kRunning and ends in exactly one of the others.
enum class RunStatus {
  kRunning,   ///< its process is working on it (or was SIGKILLed and nobody has noticed yet)
  kFinished,  ///< ended normally
  kFailed,    ///< ended with an error, or its process died without ending it
  kKilled,    ///< stopped on request (Ctrl-C, SIGTERM)
};

/// "running", "finished", "failed", "killed".
std::string_view runStatusName(RunStatus status);
/// The inverse of runStatusName(); nullopt for any other text.
std::optional<RunStatus> parseRunStatus(std::string_view name);

/// Everything recorded about one run except its metric points.
struct RunRecord {
  std::int64_t id = 0;  ///< 1, 2, ... in start order across the store
  std::string experiment;
  std::string node;       ///< the config node that ran ("train")
  std::string node_type;  ///< its type ("job.train")
  RunStatus status = RunStatus::kRunning;
  std::int64_t start_unix_ms = 0;
  std::int64_t end_unix_ms = 0;      ///< 0 while running
  std::int64_t updated_unix_ms = 0;  ///< the owner's last write (start, flush or end)
  std::string error;                 ///< why it failed or was killed; empty otherwise
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;         ///< the last value logged of every metric
  std::map<std::string, std::string> artifacts;  ///< e.g. "model_version" -> "iris/3"
  std::int64_t pid = 0;                          ///< the process that ran it
  std::string host;                              ///< that process's host name
};

/// One logged value of a metric.
struct MetricPoint {
  std::string name;
  std::int64_t step = 0;  ///< what the logger counts in (job.train: optimizer step or epoch)
  double value = 0;
  std::int64_t unix_ms = 0;  ///< when it was logged
};

/// A metric's history in brief, for `aimass runs show`.
struct MetricSummary {
  std::string name;
  double last = 0;  ///< the value at the highest step (the latest logged among equal steps)
  std::int64_t last_step = 0;
  double min = 0;  ///< over the finite values (NaN when there is none)
  double max = 0;
  std::uint64_t points = 0;
};

/// What a new run starts with.
struct NewRun {
  std::string experiment;  ///< a name (see Tracking::validateName)
  std::string node;
  std::string node_type;
  std::map<std::string, std::string> params;
};

/// When a RunLogger writes, checked as points are logged (flushIfDue()):
/// - its buffered points, as one batch record: once it holds `flush_points` points or
///   `flush_interval` has passed since the last batch;
/// - the run's summary (the record with the last value of every metric, and the metric index
///   entries that listings filter and sort on): at most once per `summary_interval`.
/// flush() and finish() write both at once. Larger values mean fewer storage writes and more
/// lost if the process is SIGKILLed; a listing may show a running run's metrics up to
/// `summary_interval` old.
struct TrackingOptions {
  std::size_t flush_points = 50000;
  std::chrono::milliseconds flush_interval{10000};
  std::chrono::milliseconds summary_interval{30000};
};

class Tracking;

/// Logs one run: metric points buffered in memory and written in batches, artifacts, and the
/// final status. Made by Tracking::startRun().
///
/// Threading: one thread at a time (a training loop). Failures: logging itself never touches
/// the storage; flush(), flushIfDue() and finish() return the storage's error, and the points
/// of a failed flush stay buffered for the next try.
/// Lifetime: must not outlive the storage. Destroyed without finish(), it finishes the run as
/// failed ("the run ended without reporting its outcome"), best effort.
class RunLogger {
 public:
  ~RunLogger();
  RunLogger(const RunLogger&) = delete;
  RunLogger& operator=(const RunLogger&) = delete;

  std::int64_t id() const noexcept { return record_.id; }
  const std::string& experiment() const noexcept { return record_.experiment; }

  /// Buffers one point; no I/O. kInvalidArgument for a metric name Tracking::validateName
  /// refuses (checked once per name) — nothing is buffered then.
  Status log(std::string_view name, std::int64_t step, double value);
  /// log() for each pair, all with the same step and time, then flushIfDue().
  Status logAll(std::int64_t step,
                std::initializer_list<std::pair<std::string_view, double>> values);
  /// Records an artifact the run produced (written with the next flush or at finish()).
  void setArtifact(std::string_view name, std::string_view value);
  /// Writes the buffered points and the summary when they are due (see TrackingOptions).
  Status flushIfDue();
  /// Writes every buffered point (one batch record), then the summary: the run's record with
  /// its last metric values and artifacts, and its moved index entries.
  Status flush();
  /// Flushes, then records the end: status (not kRunning), end time, `error`. The liveness
  /// record goes last, so a crash midway still lets the next open see an unfinished run. A
  /// second call does nothing and returns OK.
  Status finish(RunStatus status, std::string_view error = {});
  bool finished() const noexcept { return finished_; }
  /// Batch records of points written so far.
  std::int64_t batchesWritten() const noexcept { return next_batch_ - 1; }

 private:
  friend class Tracking;
  RunLogger(Storage& storage, TrackingOptions options, RunRecord record);

  struct BufferedPoint {
    std::uint32_t name;  ///< index into names_
    std::int64_t step;
    double value;
    std::int64_t unix_ms;
  };

  Status append(std::string_view name, std::int64_t step, double value, std::int64_t unix_ms);
  Status writeRecord();
  Status writePoints();
  Status writeSummary();

  Storage& storage_;
  TrackingOptions options_;
  RunRecord record_;
  std::vector<std::string> names_;  ///< interned metric names
  std::vector<BufferedPoint> buffer_;
  std::int64_t next_batch_ = 1;
  std::map<std::string, double> indexed_;  ///< metric values the index holds for this run
  std::chrono::steady_clock::time_point last_points_write_;
  std::chrono::steady_clock::time_point last_summary_write_;
  bool summary_dirty_ = false;  ///< points or artifacts not yet in the written record
  bool finished_ = false;
};

/// A condition on a run's last metric value: `val_accuracy>0.8`.
struct MetricFilter {
  enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };
  std::string metric;
  Op op = Op::kGreater;
  double value = 0;
  bool matches(double metric_value) const;
};

/// Parses filters joined by ',' or the word "and": `val_accuracy>0.8, loss<=0.3`. Operators:
/// < <= > >= = == !=. kInvalidArgument naming the bad token and where it is otherwise.
Expected<std::vector<MetricFilter>> parseMetricFilters(std::string_view text);

/// Which runs Tracking::listRuns() returns, in which order.
struct RunQuery {
  std::string experiment;  ///< empty: every experiment
  std::vector<MetricFilter> filters;
  std::optional<RunStatus> status;
  std::string sort_metric;  ///< empty: newest run first; else by its last value, runs without
                            ///< it last
  bool descending = false;  ///< with sort_metric: largest first
  std::size_t limit = 0;    ///< 0: all
  /// Skip this many matching runs first (a page of a table). They are skipped by their index
  /// entries, without reading their records; `matched` still counts them.
  std::size_t offset = 0;
};

struct RunList {
  std::vector<RunRecord> runs;
  std::size_t matched = 0;  ///< how many runs the indexes matched before the limit
};

/// Experiment tracking, written once on aimass::Storage so every backend has it.
///
/// Layout under the storage (records in the %-escaped text format of record_text.h; <run> is
/// the run id as 10 digits, so keys sort in start order):
///   tracking/next-run                                   the next run id (compare-and-set)
///   tracking/runs/<run>                                 the run record (RunRecord)
///   tracking/points/<run>/<batch>                       one flushed batch of metric points,
///                                                       <batch> 10 digits from 1
///   tracking/live/<run>                                 liveness while running: pid, host,
///                                                       boot id, process start time
///   tracking/experiment-names/<experiment>              marks that the experiment exists
///   tracking/experiments/<e>/runs/<run>                 index: the experiment's runs
///   tracking/experiments/<e>/status/<status>/<run>      index: runs by status
///   tracking/experiments/<e>/metric/<m>/<value>/<run>   index: runs by last metric value,
///                                                       <value> 16 hex digits that sort
///                                                       bytewise as the doubles sort
/// Index keys have empty values. Listing a prefix gives runs ordered by id or by metric value,
/// so listRuns() reads index keys and then only the records it returns, never every run.
/// The run record is the truth: an index entry left behind by a crash between two writes is
/// recognised (its status or value differs from the record's) and skipped.
///
/// Liveness: a run's process writes tracking/live/<run> at start and removes it at finish.
/// recoverAbandonedRuns() marks a run failed when its liveness record names a process of this
/// host that no longer exists (no /proc entry, a zombie, or a different start time, i.e. a
/// reused pid) or a previous boot of this host. Runs of other hosts are left alone (their
/// processes cannot be checked from here).
///
/// Names: experiments and metrics are 1..128 characters of [A-Za-z0-9._-], not starting
/// with '.' or '-'.
///
/// Threading: every method is safe from many threads and processes sharing the store. Run ids
/// come from compare-and-set; each run has one writer (its RunLogger), except that
/// recoverAbandonedRuns() writes runs whose writer is dead, with compare-and-set.
/// Ownership: does not own `storage`, which must outlive the Tracking and its RunLoggers.
class Tracking {
 public:
  explicit Tracking(Storage& storage, TrackingOptions options = {})
      : storage_(storage), options_(options) {}

  /// Allocates the id and writes the liveness record, the index entries and the record.
  /// kInvalidArgument for a bad experiment name.
  Expected<std::unique_ptr<RunLogger>> startRun(const NewRun& run);

  /// Marks runs whose process died without finishing them as failed (see the class comment)
  /// and returns them as they are now.
  Expected<std::vector<RunRecord>> recoverAbandonedRuns();

  /// Experiment names, sorted.
  Expected<std::vector<std::string>> listExperiments() const;
  /// Runs matching `query`; kNotFound for an experiment with no runs, kInvalidArgument for a
  /// bad experiment or metric name.
  Expected<RunList> listRuns(const RunQuery& query) const;
  /// One run; kNotFound naming the id and the store when there is none.
  Expected<RunRecord> getRun(std::int64_t id) const;
  /// Every point logged for run `id`, by name, then step, then logging order.
  Expected<std::vector<MetricPoint>> metricPoints(std::int64_t id) const;

  /// One summary per metric, sorted by name.
  static std::vector<MetricSummary> summarize(const std::vector<MetricPoint>& points);
  /// Checks an experiment or metric name; `what` says which, for the message.
  static Status validateName(std::string_view name, std::string_view what);
  /// Makes a valid experiment name of `text` (a file stem, say): invalid characters become
  /// '_', a leading '.' or '-' goes, and the rest is cut to 128 characters; "default" when
  /// nothing is left.
  static std::string experimentNameFrom(std::string_view text);

 private:
  Storage& storage_;
  TrackingOptions options_;
};

/// The run record as text (header "aimass-run 1"); decodeRunRecord() reads it back,
/// kDataLoss for a malformed record.
std::string encodeRunRecord(const RunRecord& record);
Expected<RunRecord> decodeRunRecord(std::string_view text);

/// A double as 16 hex digits whose bytewise order is the numeric order (-inf first, +inf
/// last); and back (nullopt for anything else).
std::string sortableNumber(double value);
std::optional<double> parseSortableNumber(std::string_view text);

}  // namespace aimass::core
