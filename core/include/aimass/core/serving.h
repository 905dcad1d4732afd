// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/type_registry.h"
#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/serving.h"
#include "aimass/storage.h"

namespace aimass::core {

/// Makes an empty model of a node type ("model.softmax") with its default parameters, ready
/// for Model::load(). Set by the host, which knows the plugins' types.
using ModelFactory = std::function<Expected<std::shared_ptr<Model>>(const std::string& type)>;

/// Version strings that are all digits compare as numbers ("10" after "9") and come before any
/// other string; other strings compare as text.
bool versionLess(std::string_view a, std::string_view b);

/// What serving does with a request whose rows do not look like the model's training data
/// (core/src/input_check.h): nothing (kOff, the default), answer and count it (kWarn), or
/// refuse it with kInvalidArgument, a 400 (kReject).
enum class InputPolicy { kOff, kWarn, kReject };

/// A model's input validation settings (serving.runtime's input_validation, input_margin).
struct InputValidation {
  InputPolicy policy = InputPolicy::kOff;
  double margin = 0.1;  ///< share of the training range a number may lie beyond min and max
};

/// A model's payload logging settings (serving.runtime's payload_sample, payload_exclude,
/// payload_max_rows, payload_max_age_s; core/src/monitoring/payload_log.h).
struct PayloadLogging {
  double sample = 0;  ///< share of requests logged, 0 (off: no work per request) to 1
  /// Inputs, outputs or training-profile number features left out wherever a version has them
  /// (the node-wide payload_exclude).
  std::vector<std::string> exclude;
  /// The model's own payload_exclude: each name must be an input, output or profiled number
  /// feature of a version, else that version is not logged (a misspelt exclusion must not log
  /// what it meant to leave out).
  std::vector<std::string> model_exclude;
  std::int64_t max_rows = 100000;      ///< most logged requests kept of the model
  std::int64_t max_age_s = 7 * 86400;  ///< logged requests older than this are removed
};

struct DataProfile;    // a training-data profile (core/src/data_profile.h)
class PayloadLog;      // the writer of logged payloads (core/src/monitoring/payload_log.h)
class PayloadTap;      // one version's side of payload logging (likewise)
class InputCheck;      // requests checked against one (core/src/input_check.h)
class OutlierScorer;   // rows scored against one (core/src/monitoring/outlier.h)
struct VersionStats;   // counters of one served version (serving.cc)
struct FeedbackState;  // online learning state of one served version (serving_feedback.h)
class SequenceStore;  // stored states of stateful sequences (sequence_store.h)
struct GraphSpec;     // a serving graph as declared (serving_graph.h)
class GraphModel;     // a serving graph served as a model (serving_graph.h)
struct TrafficSpec;   // an A/B split and shadow as declared (traffic_split.h)
class TrafficRoute;   // an A/B split and shadow at work (traffic_split.h)

/// The serving runtime: every loaded model version of the process, each behind its own
/// request queue and batching worker, with the statistics of Triton's statistics extension.
///
/// Models arrive two ways: add() (the graph's model nodes, under their node names) and load()
/// (versions from the model registry of the repository storage, under the registry's model
/// name; they replace whatever was served under that name). Requests pin() one version and run
/// entirely on it; load(), unload() and setBatching() swap in new state that later requests
/// see, while requests already running keep what they pinned. Memory of a version goes when
/// the runtime and the last request holding it let go.
///
/// Online learning (learn()): with a feedback storage set (setFeedbackStorage()), every learned
/// batch is persisted under `feedback/<model>/<identity>/<sequence>` and a version that learns
/// online replays its records before it serves: at add() or load() when the storage is already
/// set, else when it is set. <identity> names the trained state (a registry version's artifact
/// sha256; for a graph model the sha256 of its saved payload, taken when the storage is set,
/// before it learns anything), so a retrained model starts clean. A record that cannot be
/// replayed (corrupt, unreadable, refused by the model) keeps the version from serving: load()
/// and setFeedbackStorage() fail naming the key, add() records the error for the repository
/// index. See serving_feedback.h for the record format.
///
/// Threading: every method is safe from many threads at once; load() calls run one at a time.
/// Each batched version owns one worker thread, joined when the version is released (after
/// its queue drained) or in clear().
class ServingRuntime final : public ModelServing {
 public:
  ServingRuntime();
  ~ServingRuntime();
  ServingRuntime(const ServingRuntime&) = delete;
  ServingRuntime& operator=(const ServingRuntime&) = delete;

  /// Serves `model` as `name` at `version` (replacing an entry of the same name and version).
  /// `type`, the model's node type, names the artifact its trained state would be registered
  /// as, which identifies its learned feedback (see learn()).
  /// `profile`, when set, is the model's training-data profile, which input validation checks
  /// requests against (setInputValidation()).
  void add(std::string name, std::string version, std::shared_ptr<const Model> model,
           std::string type = {}, std::shared_ptr<const DataProfile> profile = nullptr);
  /// Drops every model, settings and the repository; waits for queued requests to finish. The
  /// host calls it after stopping the frontends and before destroying the graph.
  void clear();
  /// How load() creates models from their saved type (the host sets it from its plugins).
  void setModelFactory(ModelFactory factory);
  /// More Prometheus text appended to prometheusMetrics() (the monitors' families, which the
  /// host sets while they run); empty: none. Called on the threads that read metrics.
  void setMetricsExtension(std::function<std::string()> extension);

  // ModelServing
  std::vector<ServedModel> list() const override;
  Expected<ServedModel> find(std::string_view name, std::string_view version) const override;
  Expected<std::shared_ptr<PinnedModel>> pin(std::string_view name,
                                             std::string_view version) override;
  std::vector<RepositoryEntry> index(bool ready_only) const override;
  Status load(std::string_view reference) override;
  Status unload(std::string_view name) override;
  Expected<std::vector<ModelStatistics>> statistics(std::string_view name,
                                                    std::string_view version) const override;
  std::string prometheusMetrics() const override;
  BatchingOptions batching(std::string_view model) const override;
  void setBatching(std::string_view model, const BatchingOptions& options) override;
  void setVersionPolicy(std::string_view model, const VersionPolicy& policy) override;
  Status setRepository(std::shared_ptr<Storage> storage) override;
  Expected<LearnResult> learn(std::string_view name, std::string_view version,
                              const TensorMap& observations) override;
  Status setFeedbackStorage(std::shared_ptr<Storage> storage) override;

  /// The stored states of stateful sequences (request parameter sequence_id; see
  /// core/src/sequence_store.h), shared by every version; the serving.runtime node sets its
  /// limits.
  SequenceStore& sequences() noexcept;

  /// The precision `model`'s versions predict in (every model's without settings of its own
  /// when `model` is empty): "fp32" (the default), "bf16" or "auto", handed to predict() as the
  /// request parameter "precision" unless a request names its own. Models that run in one
  /// precision ignore it; model.mlp predicts with bf16 products (an error per request on a CPU
  /// without AVX512-BF16; auto picks bf16 only where it has it). Remakes the versions as
  /// setBatching() does.
  void setPrecision(std::string_view model, const std::string& precision);

  /// How requests to `model`'s versions (every model's without settings of its own when
  /// `model` is empty) are checked against their training-data profile: off (the default: no
  /// work per request), warn (answer, log, count in aimass_input_validation_flagged_total) or
  /// reject (kInvalidArgument naming the row, the feature and what was wrong). A version
  /// without a profile, or whose profile does not fit its inputs, is served unchecked, which
  /// is logged when the version is made. Remakes the versions as setBatching() does.
  void setInputValidation(std::string_view model, const InputValidation& settings);
  /// Whether `model`'s versions (every model's without settings of its own when `model` is
  /// empty) score each row of their "input" block against their training data (the outlier
  /// scorer of the version's training-data profile, core/src/monitoring/outlier.h): off (the
  /// default: no work per request) or on: every answer then carries one more output,
  /// outlier_score (FP32 [rows]), which the served model's schema lists, and rows above the
  /// scorer's threshold are counted in aimass_outliers_total. A version without a scorer that
  /// fits it (no profile, one of format 1 or without a scorer, a model without an FP32
  /// "input" of the profile's width) is served as before, which is logged when the version is
  /// made. Remakes the versions as setBatching() does.
  void setOutlierScores(std::string_view model, bool on);
  /// Payload logging of `model` (every model's without settings of its own when `model` is
  /// empty): the share of requests logged with their answers, model version, latency and
  /// request id, what is left out, and the bounds (core/src/monitoring/payload_log.h). The
  /// request thread only counts (unsampled) or copies the tensors into a bounded queue
  /// (sampled); a background thread writes. Needs a payload storage (setPayloadStorage());
  /// remakes the versions as setBatching() does.
  void setPayloadLogging(std::string_view model, const PayloadLogging& settings);
  /// Where logged payloads are written (payloads/<model>/<version>/..., see
  /// core/src/monitoring/payload_record.h); null: nowhere. A previous storage's log writes what
  /// it queued first. Remakes every version.
  void setPayloadStorage(std::shared_ptr<Storage> storage);
  /// Waits until every payload logged so far is written (or failed).
  void flushPayloads() const;

  /// Where the runtime logs (input validation warnings); nothing is logged until it is set.
  /// The sink must outlive the runtime's use of it (the host clears it in clear()).
  void setLog(std::function<void(LogLevel, const std::string&, const std::string&)> log);

  /// Serves each of `graphs` (core/src/serving_graph.h) as a model of version "1" whose
  /// requests run its steps, each through the runtime (and so through its model's batching
  /// queue and traffic split), with per-step statistics ("GRAPH/STEP" entries of statistics())
  /// and metrics. Replaces the graphs set before. On failure (a step naming an unknown model or
  /// version, or another graph; a mapping that does not fit; a cycle) nothing changes and the
  /// error names the graph and the step.
  Status setGraphs(std::vector<GraphSpec> graphs);
  /// Splits the requests of each model of `traffic` that name no version among its versions by
  /// weight, with an optional shadow version (core/src/traffic_split.h). Replaces the splits
  /// set before. kNotFound naming the model and version when one is not loaded,
  /// kInvalidArgument when their inputs differ; nothing changes then.
  Status setTraffic(std::vector<TrafficSpec> traffic);
  /// The recent shadow comparisons of `model` as JSON (TrafficRoute::recentJson()); kNotFound
  /// when the model has no shadow.
  Expected<std::string> shadowComparisons(std::string_view model) const;
  /// Waits until every shadow queue is empty (tests).
  void drainShadows() const;

  struct Version;  // one loaded version: model, queue, statistics (serving.cc)

 private:
  using VersionMap = std::map<std::string, std::shared_ptr<Version>>;
  BatchingOptions batchingFor(std::string_view name) const;  // settings_mutex_ held
  // Remakes the versions of `model` (all models when empty) with their current schema and the
  // current batching settings; requests already running keep the old state.
  void remake(std::string_view model);
  std::shared_ptr<Version> makeVersion(const std::string& name, const std::string& version,
                                       std::shared_ptr<const Model> model, std::string sha256,
                                       std::shared_ptr<VersionStats> stats,
                                       std::shared_ptr<FeedbackState> feedback,
                                       std::shared_ptr<const DataProfile> profile) const;
  // The input check of a version being made; null when its policy is off or it cannot be
  // checked (said in the log).
  std::shared_ptr<const InputCheck> inputCheckFor(const Version& version) const;
  // The outlier scorer of a version being made (its model and profile set); null when
  // outlier_scores is off for it or no scorer fits it (said in the log).
  std::shared_ptr<const OutlierScorer> outlierScorerFor(const Version& version) const;
  // The payload tap of a version being made (serving_payloads.cc); null when its share is 0 or
  // it cannot be logged (said in the log).
  std::shared_ptr<PayloadTap> payloadTapFor(const std::string& name, const std::string& version,
                                            const ModelSchema& schema,
                                            const DataProfile* profile) const;
  // The aimass_payload_log_* families of prometheusMetrics().
  std::string payloadMetrics() const;
  // Stops the payload log (writing what it queued) and forgets the payload settings.
  void stopPayloadLog();
  void log(LogLevel level, const std::string& node, const std::string& message) const;
  // The version `version` of `name` (its highest when empty); kNotFound naming what is missing.
  Expected<std::shared_ptr<Version>> chooseVersion(std::string_view name,
                                                   std::string_view version) const;
  // Names the version's trained state and replays its feedback from `storage`, once per
  // storage; nothing for a version that does not learn online, is not ready, or no storage.
  static Status attachFeedback(Version& version, const std::shared_ptr<Storage>& storage);
  std::shared_ptr<Storage> feedbackStorage() const;
  // learn() on the chosen version, uncounted.
  Expected<LearnResult> learnOn(Version& version, const TensorMap& observations);
  Expected<std::vector<std::pair<std::int64_t, std::string>>> selectVersions(
      std::string_view reference, std::string& name) const;

  mutable std::shared_mutex mutex_;  // models_
  std::map<std::string, VersionMap, std::less<>> models_;

  mutable std::mutex settings_mutex_;  // everything below
  BatchingOptions default_batching_;
  std::map<std::string, BatchingOptions, std::less<>> batching_;
  std::string default_precision_ = "fp32";
  std::map<std::string, std::string, std::less<>> precision_;
  VersionPolicy default_policy_;
  std::map<std::string, VersionPolicy, std::less<>> policies_;
  InputValidation default_validation_;
  std::map<std::string, InputValidation, std::less<>> validation_;
  bool default_outlier_scores_ = false;
  std::map<std::string, bool, std::less<>> outlier_scores_;
  PayloadLogging default_payload_;
  std::map<std::string, PayloadLogging, std::less<>> payload_;
  std::shared_ptr<PayloadLog> payload_log_;  // null: no payload storage
  std::function<void(LogLevel, const std::string&, const std::string&)> log_;
  std::shared_ptr<Storage> repository_;
  std::shared_ptr<Storage> feedback_storage_;
  ModelFactory factory_;
  std::function<std::string()> metrics_extension_;  // guarded by settings_mutex_
  std::set<std::string, std::less<>> loading_;
  std::map<std::string, std::string, std::less<>> load_errors_;

  // Serving graphs and traffic splits (settings_mutex_).
  std::map<std::string, std::shared_ptr<GraphModel>, std::less<>> graphs_;
  std::map<std::string, std::shared_ptr<TrafficRoute>, std::less<>> traffic_;
  std::shared_ptr<TrafficRoute> trafficFor(std::string_view model) const;
  // The "GRAPH/STEP" statistics of the graphs `name` selects (every graph when empty).
  std::vector<ModelStatistics> graphStepStatistics(std::string_view name) const;
  // The graph step and traffic families of prometheusMetrics().
  std::string graphAndTrafficMetrics() const;

  std::mutex load_mutex_;  // serialises load() and unload()
  std::shared_ptr<SequenceStore> sequences_;
};

/// A ModelFactory over the host's node types: makes a `type` node with every parameter at its
/// default. kNotFound for an unknown type, kInvalidArgument for a type that is not a model or
/// has a required parameter without a default. The registry and host must outlive it.
ModelFactory typeRegistryModelFactory(const TypeRegistry& registry, Host& host);

/// Resident memory of this process in bytes, from /proc/self/statm; 0 when unreadable.
std::int64_t residentMemoryBytes();

}  // namespace aimass::core
