// SPDX-License-Identifier: Apache-2.0
// The built-in `service.monitor` node: watches one registered model while it is served, and
// keeps it right (docs/monitoring.md). Every interval it
//   - reads the requests serving logged (payload_record.h) for the version the alias points at
//     and tests each full window of them against the version's training-data profile
//     (drift_tests.h), recording each window's result and exporting its scores to /metrics;
//   - joins the ground truth posted to POST /v2/models/<model>/ground_truth with the logged
//     answers and keeps live accuracy (or RMSE) per version over a sliding window;
//   - applies its update policy: retrains (a job of the job service) when a trigger holds,
//     evaluates the new version against the champion on held-out rows (gate.h), promotes it
//     when it passes (serving hot-swaps to it), and rolls a promoted version back when its live
//     metric falls below the old champion's (policy.h).
// Every decision is an event in the model's history (model_events.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <vector>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aimass/dataset.h"
#include "aimass/host.h"
#include "aimass/node.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"
#include "aimass/core/registry.h"
#include "aimass/core/serving.h"
#include "monitoring/drift_tests.h"
#include "monitoring/gate.h"
#include "monitoring/policy.h"
#include "periodic_loop.h"

namespace aimass {
class JobService;
}

namespace aimass::core {

class TypeRegistry;
struct MonitorState;

inline constexpr char kMonitorServiceType[] = "service.monitor";
/// The nice value of a monitor's thread: below serving's, so that requests come first.
inline constexpr int kMonitorNice = 10;

/// Prometheus sample lines by metric family name.
using MetricSamples = std::map<std::string, std::vector<std::string>>;

/// What a monitor watches and how it acts, checked.
struct MonitorSettings {
  std::string model;               ///< the registered model
  std::string alias = "champion";  ///< the version watched, promoted and rolled back
  std::int64_t interval_ms = 5000;
  std::size_t window = 1000;       ///< logged rows per drift window
  DriftOptions drift;
  std::size_t feedback_window = 500;  ///< labelled rows a live metric is measured over
  RetrainTriggers triggers;
  bool retrains = false;           ///< any trigger set (then retrain_graph is read)
  std::string retrain_graph;       ///< the graph submitted to retrain (its text)
  std::string retrain_graph_name;  ///< the file it was read from, for errors
  std::string queue = "default";
  std::int64_t retrain_threads = 1;  ///< threads the retraining job asks for
  /// Where the labelled rows from ground truth are written (a CSV, whole, before each
  /// retraining, and registered as a dataset version); empty: not kept.
  std::filesystem::path feedback_csv;
  GateSpec gate;
  /// Served rows with ground truth the gate also judges on (shadow traffic); 0: none.
  std::size_t shadow_rows = 0;
  RollbackWatch watch;
};

/// The node. Threading: start() and stop() on the host's main thread; the loop runs on its own
/// thread; the ground-truth route and metrics may be called from any thread.
class MonitorNode final : public Node {
 public:
  MonitorNode(MonitorSettings settings, std::shared_ptr<Storage> storage,
              std::shared_ptr<JobService> jobs, std::shared_ptr<const Dataset> holdout,
              ModelFactory factory, Host& host);
  ~MonitorNode() override;

  NodeKind kind() const noexcept override { return NodeKind::kService; }
  /// Starts the loop; `serving` is the runtime it hot-swaps (may be null: nothing served).
  Status start(ServingRuntime* serving);
  void stop();
  /// Runs one cycle now, on the calling thread (tests); the loop must not be running.
  Status runOnce();
  /// Adds the monitor's Prometheus samples (drift scores, live metrics, decisions) to
  /// `samples`, by metric family (monitorsPrometheusMetrics() writes them). Never waits for a
  /// cycle: while one runs, they are as of its last decision or the cycle before.
  void collectMetrics(MetricSamples& samples) const;
  const MonitorSettings& settings() const noexcept { return settings_; }

 private:
  Status cycle();
  /// Finds the version the alias points at; when it moved, starts over with it (and watches
  /// and hot-swaps a move made by someone else).
  Status followAlias();
  /// The version the alias points at (the newest one while there is no alias); nullopt when
  /// the model has no version yet.
  Expected<std::optional<ModelVersion>> aliasTarget() const;
  /// The watched version's profile for the ground-truth route: the loop's, or read afresh
  /// before the loop's first cycle; null with `note` saying why when there is none.
  std::shared_ptr<const DataProfile> profileForRows(std::string& note);
  Status readLoggedRequests();
  /// Removes the oldest window records beyond kWindowsKept, listing them only once every
  /// kWindowsTrimEvery windows.
  Status trimWindowRecords();
  Status testWindowIfFull();
  Status testPredictionsIfFull();
  Status readOutcomes();
  Status applyPolicy();
  Status startRetraining(const RetrainDecision& decision);
  Status followRetraining();
  Status judgeChallenger(std::int64_t challenger);
  /// Evaluates `version` on `data` (job.evaluate's report), as the gate does.
  Expected<EvaluationReport> evaluateVersion(std::int64_t version,
                                             std::shared_ptr<const Dataset> data,
                                             const std::string& data_name);
  /// With gate_shadow_rows: the gate's verdict on the shadow traffic kept so far.
  Expected<GateReport> judgeOnShadowTraffic(std::int64_t challenger, const GateSpec& spec);
  Status watchNewChampion();
  Status hotSwap(const std::string& why);
  /// Writes every labelled row kept so far to feedback_csv and registers it as a version of
  /// dataset "<model>.feedback"; its details go in the trigger event.
  Expected<std::string> writeFeedbackCsv();
  Status recordEvent(const std::string& kind, std::int64_t version, const std::string& message,
                     const std::string& details);
  void addGroundTruthRoute();
  /// POST /v2/models/<model>/ground_truth: outcomes of served requests and new labelled rows.
  void takeFeedback(const HttpRequest& request, HttpResponse& response);
  /// Reads what the last run of this monitor saved (monitor_memory.cc); once, first cycle.
  Status recallMemory();
  /// Saves the ground-truth cursor, the retraining followed and the watch when they changed.
  Status rememberState();
  /// The samples of the state (caller holds mutex_).
  MetricSamples samplesOfState() const;
  /// Replaces snapshot_ with the state's samples (caller holds mutex_).
  void refreshSnapshot() const;

  MonitorSettings settings_;
  std::shared_ptr<Storage> storage_;
  std::shared_ptr<JobService> jobs_;
  std::shared_ptr<const Dataset> holdout_;
  ModelFactory factory_;
  Host& host_;
  ServingRuntime* serving_ = nullptr;
  std::unique_ptr<MonitorState> state_;
  bool recalled_ = false;      ///< recallMemory() ran
  std::string saved_memory_;   ///< what rememberState() wrote last
  mutable std::mutex mutex_;  ///< guards state_ between the loop and metrics readers
  mutable std::mutex snapshot_mutex_;  ///< guards snapshot_
  mutable MetricSamples snapshot_;     ///< the samples as of the last refresh
  /// The watched version's profile for the ground-truth route, which must not wait for a
  /// cycle (a gate's evaluation holds mutex_ for seconds); set by the loop each cycle.
  std::mutex profile_mutex_;
  std::shared_ptr<const DataProfile> watched_profile_;
  /// Labelled rows posted since the loop last counted them (toward retrain_after_labels).
  std::atomic<std::uint64_t> posted_rows_{0};
  PeriodicLoop loop_;  ///< last: stopped (by the destructor) before the state it reads goes
};

/// The version's training-data profile; null, with `note` saying why, when it has none that
/// reads.
std::shared_ptr<const DataProfile> profileOf(const Storage& storage, const ModelVersion& version,
                                             std::string& note);

/// Where one post's labelled rows are stored: under labelledRowsPrefix(), named by the time
/// and a random tag (record::timeTaggedName()), apart from the monitor's own records there.
std::string postedRowsKey(std::string_view model);

/// The samples of every monitor under one HELP and TYPE line per family.
std::string monitorsPrometheusMetrics(const std::vector<const MonitorNode*>& monitors);

/// The live metric of `version` over its window: accuracy, or the RMSE of its squared errors;
/// nullopt before any labelled row.
std::optional<double> liveMetricOf(const MonitorState& state, std::int64_t version);

/// Where a monitor keeps the live metric of one version for `aimass models show`:
/// "monitoring/<model>/live/<version>", a JSON object {"metric", "value", "window_rows",
/// "labelled_rows", "unix_ms"} rewritten each cycle new ground truth moves it.
std::string liveMetricKey(std::string_view model, std::int64_t version);
std::string liveMetricRecord(const MonitorState& state, std::int64_t version);

/// "monitoring/<model>/labelled/": records of CSV lines, one per row labelled by ground truth
/// (features, then the label or value), one record per cycle that joined any (feedback_csv).
std::string labelledRowsPrefix(std::string_view model);

/// The `service.monitor` node type.
NodeType monitorNodeType(const TypeRegistry& registry);

}  // namespace aimass::core
