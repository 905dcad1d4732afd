// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The platform services a frontend exposes besides serving: the model registry, the dataset
/// registry and experiment tracking, as typed interfaces (Host::registry(), datasets(),
/// tracking()). They speak no protocol: results are plain structs, errors Status codes, and a
/// frontend decides how to show them (frontend.http serves them under /api/v1).
///
/// Implemented by the host, over the storage the graph's frontends serve (the storage a
/// frontend names as its `repository`, else the graph's only storage node). Every service
/// outlives every frontend that uses it. Threading: every method is safe to call from many
/// threads at once; the registry and tracking are written for concurrent processes sharing a
/// store, so a result is a snapshot that another writer may change right after.
///
/// Errors, the same for every method unless it says otherwise: kInvalidArgument for a bad name
/// or value (the message names it); kNotFound for an unknown model, version, alias, dataset,
/// run or experiment; kFailedPrecondition for a change the registry's state refuses (deleting
/// a version an alias points at without force, a rollback with no earlier target); kDataLoss
/// for an artifact or record that no longer matches; the storage's own status when it fails.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/status.h"

namespace aimass {

// --- model registry -------------------------------------------------------------------------

/// One registered version of a model, with the aliases pointing at it.
struct ModelVersionInfo {
  std::string model;
  std::int64_t version = 0;          ///< 1, 2, ... in registration order
  std::string artifact_key;          ///< storage key of the saved model
  std::string sha256;                ///< SHA-256 of the artifact, 64 lower-case hex digits
  std::string node;                  ///< the config node that produced it ("train")
  std::string node_type;             ///< its type ("model.softmax")
  std::string dataset_fingerprint;   ///< the dataset reader's fingerprint (may be empty)
  std::string dataset_name;          ///< the registered dataset; empty in older records
  std::int64_t dataset_version = 0;  ///< its version, 0 when not registered
  std::string dataset_sha256;
  std::string code_version;  ///< git commit of the aimass that registered it
  std::string created_by;    ///< user name of the registering process
  std::int64_t created_unix_ms = 0;
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> tags;
  std::vector<std::string> aliases;  ///< names of the aliases pointing at it, sorted
  /// The version it was fine-tuned from ("NAME/VERSION", job.train's init_from); empty for a
  /// model trained from scratch.
  std::string parent;
  /// Storage key of the training-data profile saved with it; empty when it has none. ABI 12.
  std::string profile_key;
};

/// One entry of a model's history: a change to it (a version registered or deleted, an alias
/// moved) or a decision about it (drift found, a retraining triggered, a gate's verdict, a
/// promotion, a rollback). The registry appends them as they happen and never rewrites one.
struct ModelEventInfo {
  std::string model;
  std::int64_t sequence = 0;  ///< 1, 2, ... per model, in the order they were recorded
  std::int64_t unix_ms = 0;   ///< when it was recorded
  /// What happened: "registered", "deleted" (with the aliases a forced delete removed),
  /// "alias_moved", "alias_rolled_back", or a decision of the monitoring services
  /// (docs/monitoring.md).
  std::string kind;
  std::int64_t version = 0;  ///< the version it concerns; 0 when none
  std::string alias;         ///< the alias it moved; empty when none
  std::string actor;         ///< who did it: a user name, or the node that decided
  std::string message;       ///< one line for people
  /// The kind's own fields (a gate's report, a drift window's scores) as one JSON object;
  /// "{}" when it has none.
  std::string details = "{}";
};

/// Which events events() returns: those after `after_sequence`, oldest first, at most `limit`,
/// only of `kind` when it is set.
struct ModelEventQuery {
  std::int64_t after_sequence = 0;
  std::size_t limit = 100;
  std::string kind;
};

/// A named pointer at one version ("champion") and the targets it had before, oldest first.
struct ModelAliasInfo {
  std::string model;
  std::string alias;
  std::int64_t version = 0;
  std::vector<std::int64_t> history;
};

/// One model in the list of models.
struct ModelSummary {
  std::string model;
  std::uint64_t versions = 0;  ///< how many versions it has
  std::int64_t latest = 0;     ///< its newest version; 0 when it has only aliases
  std::vector<std::pair<std::string, std::int64_t>> aliases;  ///< alias -> version, by name
};

/// One model with all its versions.
struct ModelInfo {
  std::string model;
  std::vector<std::pair<std::string, std::int64_t>> aliases;  ///< alias -> version, by name
  std::vector<ModelVersionInfo> versions;                     ///< oldest first
};

/// The model registry: the versions training registers and the aliases that point at them.
/// Implemented by the host (see the top of this file for threading and errors).
class ModelRegistryService {
 public:
  /// Checks a model or alias name without touching the store; `what` ("model", "alias") is
  /// the word the kInvalidArgument message uses.
  virtual Status validateName(std::string_view name, std::string_view what) const = 0;
  /// Every model with at least one version or alias, sorted by name.
  virtual Expected<std::vector<ModelSummary>> listModels() const = 0;
  /// One model's versions and aliases.
  virtual Expected<ModelInfo> model(std::string_view name) const = 0;
  /// One version, after re-hashing its artifact: kDataLoss when the artifact no longer matches
  /// the recorded SHA-256 or is missing.
  virtual Expected<ModelVersionInfo> version(std::string_view model,
                                             std::int64_t version) const = 0;
  /// Deletes a version and its artifact. kFailedPrecondition (naming them) while aliases
  /// point at it, unless `force`, which deletes those aliases too.
  virtual Status deleteVersion(std::string_view model, std::int64_t version, bool force) = 0;
  /// Sets the tags in `set` and removes the keys in `remove`, as one atomic change; returns
  /// the changed version (its artifact not re-hashed). kNotFound for a key in `remove` the
  /// version does not have; kInvalidArgument for an empty key or one both set and removed.
  virtual Expected<ModelVersionInfo> setTags(std::string_view model, std::int64_t version,
                                             const std::map<std::string, std::string>& set,
                                             const std::vector<std::string>& remove) = 0;
  /// Makes `tags` the version's whole tag set: sets them and removes every other tag, as one
  /// atomic change of the record read; returns the changed version (not re-hashed).
  virtual Expected<ModelVersionInfo> replaceTags(
      std::string_view model, std::int64_t version,
      const std::map<std::string, std::string>& tags) = 0;
  /// Points `alias` at `version` (which must exist), remembering its previous target.
  virtual Expected<ModelAliasInfo> promote(std::string_view model, std::string_view alias,
                                           std::int64_t version) = 0;
  /// Moves `alias` back to its previous target; kFailedPrecondition when it has none.
  virtual Expected<ModelAliasInfo> rollback(std::string_view model, std::string_view alias) = 0;
  /// The model's history (see ModelEventInfo), oldest first, as `query` selects; an empty list
  /// for a model with none. kNotFound for a model with neither versions, aliases nor events.
  /// ABI 12.
  virtual Expected<std::vector<ModelEventInfo>> events(std::string_view model,
                                                       const ModelEventQuery& query) const = 0;
  /// The training-data profile of one version as a JSON object (docs/monitoring.md shows its
  /// fields); kNotFound when the version has none. ABI 12.
  virtual Expected<std::string> profile(std::string_view model, std::int64_t version) const = 0;
  /// promote(), rollback() and deleteVersion() on behalf of `actor`, a frontend's authenticated
  /// principal, whom the model's event names as who did it; an empty `actor` is the host's
  /// user, as the calls above record. ABI 12.3.
  virtual Expected<ModelAliasInfo> promoteAs(std::string_view model, std::string_view alias,
                                             std::int64_t version, std::string_view actor) = 0;
  virtual Expected<ModelAliasInfo> rollbackAs(std::string_view model, std::string_view alias,
                                              std::string_view actor) = 0;
  virtual Status deleteVersionAs(std::string_view model, std::int64_t version, bool force,
                                 std::string_view actor) = 0;

 protected:
  ~ModelRegistryService() = default;
};

// --- dataset registry -----------------------------------------------------------------------

/// One registered version of a dataset: a distinct content under one name.
struct DatasetVersionInfo {
  std::string name;
  std::int64_t version = 0;
  std::string type;    ///< the dataset node's type ("dataset.csv")
  std::string source;  ///< where the data came from, for people
  std::string sha256;  ///< content hash, 64 lower-case hex digits
  std::uint64_t rows = 0;
  std::string fingerprint;  ///< the reader's own fingerprint, may be empty
  std::string created_by;
  std::int64_t created_unix_ms = 0;
};

/// One dataset in the list of datasets.
struct DatasetSummary {
  std::string name;
  std::uint64_t versions = 0;
  DatasetVersionInfo latest;
};

/// The dataset registry: every distinct content of a dataset a registered model was trained
/// on. Implemented by the host (see the top of this file for threading and errors).
class DatasetRegistryService {
 public:
  /// Every dataset with its latest version, sorted by name.
  virtual Expected<std::vector<DatasetSummary>> listDatasets() const = 0;
  /// The versions of `name`, oldest first.
  virtual Expected<std::vector<DatasetVersionInfo>> versions(std::string_view name) const = 0;
  /// One version of `name`.
  virtual Expected<DatasetVersionInfo> version(std::string_view name,
                                               std::int64_t version) const = 0;

 protected:
  ~DatasetRegistryService() = default;
};

// --- tracking ---------------------------------------------------------------------------------

/// Where a run stands: it starts running and ends in exactly one of the others.
enum class RunState : unsigned char { kRunning, kFinished, kFailed, kKilled };

/// "running", "finished", "failed", "killed".
inline std::string_view runStateName(RunState state) noexcept {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kFinished:
      return "finished";
    case RunState::kFailed:
      return "failed";
    case RunState::kKilled:
      return "killed";
  }
  return "running";
}

/// The inverse of runStateName(); nullopt for any other text.
inline std::optional<RunState> parseRunState(std::string_view name) noexcept {
  for (RunState state :
       {RunState::kRunning, RunState::kFinished, RunState::kFailed, RunState::kKilled}) {
    if (runStateName(state) == name) {
      return state;
    }
  }
  return std::nullopt;
}

/// A condition on a run's last metric value: `val_accuracy>0.8`.
struct RunMetricFilter {
  enum class Op : unsigned char { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };
  std::string metric;
  Op op = Op::kGreater;
  double value = 0;
};

/// Which runs TrackingService::listRuns() returns, in which order.
struct RunListQuery {
  std::string experiment;                ///< empty: every experiment
  std::vector<RunMetricFilter> filters;  ///< all must hold
  std::optional<RunState> state;         ///< only runs in this state
  std::string sort_metric;  ///< empty: newest first; else by its last value, runs without it last
  bool descending = false;  ///< with sort_metric: largest first
  std::size_t limit = 100;  ///< at most this many runs; 0: all
};

/// Everything recorded about one run except its metric history.
struct RunInfo {
  std::int64_t id = 0;  ///< 1, 2, ... in start order across the store
  std::string experiment;
  RunState state = RunState::kRunning;
  std::string node;       ///< the config node that ran ("train")
  std::string node_type;  ///< its type ("job.train")
  std::int64_t start_unix_ms = 0;
  std::int64_t end_unix_ms = 0;  ///< 0 while running
  std::string error;             ///< why it failed or was killed; empty otherwise
  std::int64_t pid = 0;          ///< the process that ran it
  std::string host;              ///< that process's host name
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> artifacts;  ///< e.g. "model_version" -> "iris/3"
  std::map<std::string, double> metrics;         ///< the last value of every metric
};

/// The runs a query matched.
struct RunListing {
  std::size_t matched = 0;    ///< how many matched before the limit
  std::vector<RunInfo> runs;  ///< in the query's order, at most its limit
};

/// A metric's history in brief.
struct RunMetricSummary {
  std::string name;
  double last = 0;  ///< the value at the highest step
  std::int64_t last_step = 0;
  double min = 0;  ///< over the finite values (NaN when there is none)
  double max = 0;
  std::uint64_t points = 0;
};

/// One run with the summaries of its metrics.
struct RunDetails {
  RunInfo run;
  std::vector<RunMetricSummary> metrics;  ///< by name
};

/// One logged value of a run's metric.
struct RunMetricPoint {
  std::int64_t step = 0;  ///< what the logger counts in (job.train: optimizer step or epoch)
  double value = 0;       ///< may be NaN or infinite, as logged
  std::int64_t unix_ms = 0;
};

/// Which values of one run's metric TrackingService::metricHistory() returns.
struct RunMetricQuery {
  std::int64_t run = 0;
  std::string metric;
  /// Only the values logged at a later step (a client polling a running job's curve passes
  /// the last step it has); nullopt: from the first.
  std::optional<std::int64_t> after_step;
  /// At most about this many values: the page ends with a whole step, so it holds more when
  /// the values of its last step go past the limit. 0: all.
  std::size_t limit = 0;
};

/// A page of one metric's values, by step, then in logging order.
struct RunMetricHistory {
  std::int64_t run = 0;
  std::string metric;
  std::vector<RunMetricPoint> points;
  std::uint64_t total = 0;  ///< the metric's values in all, before after_step and limit
  bool more = false;        ///< the limit left later values out (ask again after the last step)
};

/// Experiment tracking: runs, their parameters, metrics and artifacts. Implemented by the host
/// (see the top of this file for threading and errors). Runs whose process died without
/// finishing them are marked failed before each read, as `aimass runs` does.
class TrackingService {
 public:
  /// Checks an experiment or metric name without touching the store; `what` ("experiment",
  /// "metric") is the word the kInvalidArgument message uses.
  virtual Status validateName(std::string_view name, std::string_view what) const = 0;
  /// Reads filters joined by ',' or "and" (`val_accuracy>0.8, loss<=0.3`; operators < <= > >=
  /// = == !=), the syntax of `aimass runs list --filter`. kInvalidArgument naming the bad token.
  virtual Expected<std::vector<RunMetricFilter>> parseFilters(std::string_view text) const = 0;
  /// The runs matching `query`. kNotFound for an unknown experiment.
  virtual Expected<RunListing> listRuns(const RunListQuery& query) = 0;
  /// One run.
  virtual Expected<RunDetails> run(std::int64_t id) = 0;
  /// The values of one metric of one run (`aimass runs metric`). kNotFound for an unknown run,
  /// kInvalidArgument for a bad metric name; a metric the run has not logged (yet) has no
  /// values. Added in ABI 12.1, at the end of the interface, which only the host implements.
  virtual Expected<RunMetricHistory> metricHistory(const RunMetricQuery& query) = 0;
  /// listRuns() from the `offset`-th matching run (0: the first) on, in the query's order: a
  /// page of a long table. `matched` still counts every matching run. Runs are skipped by
  /// their index entries, so a deep page reads no more records than the first. Added in ABI
  /// 12.2, at the end of the interface.
  virtual Expected<RunListing> listRunsFrom(const RunListQuery& query, std::size_t offset) = 0;

 protected:
  ~TrackingService() = default;
};

}  // namespace aimass
