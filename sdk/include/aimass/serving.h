// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/tensor.h"

namespace aimass {

/// Why a request failed, as counted in statistics and the `reason` label of metrics.
enum class InferFailure {
  kInvalid,      ///< the request did not match the model's schema (HTTP 400)
  kRejected,     ///< the model's queue was full (back-pressure, HTTP 503)
  kTimeout,      ///< the request waited longer than its timeout (HTTP 503)
  kUnavailable,  ///< the model was not ready or was unloaded meanwhile (HTTP 503)
  kBackend,      ///< Model::predict failed (HTTP 500, or the model's own status)
};

/// "invalid", "rejected", "timeout", "unavailable", "backend".
constexpr std::string_view inferFailureName(InferFailure f) noexcept {
  switch (f) {
    case InferFailure::kInvalid:
      return "invalid";
    case InferFailure::kRejected:
      return "rejected";
    case InferFailure::kTimeout:
      return "timeout";
    case InferFailure::kUnavailable:
      return "unavailable";
    case InferFailure::kBackend:
      return "backend";
  }
  return "backend";
}

/// A model a frontend can serve, as ModelServing::list() names it.
struct ServedModel {
  std::string name;                    ///< what clients put in the URL
  std::string version;                 ///< "1", "2", ...
  std::shared_ptr<const Model> model;  ///< keeps the model (and its plugin) alive while in use
  /// True for a version loaded from the model repository (ModelServing::load()), false for a
  /// model node of the graph. A frontend that serves only some of the graph's models (a
  /// `models:` list) still serves what the repository loaded.
  bool from_repository = false;
};

/// One version of a model, pinned for the length of a request: the request runs entirely on
/// this version even if a newer one is loaded or this one is unloaded meanwhile.
///
/// Ownership: hold the shared_ptr for as long as the request runs; the model stays alive.
/// Threading: every method is safe from many threads at once.
class PinnedModel {
 public:
  virtual ~PinnedModel() = default;
  /// Name, version and the model itself.
  virtual const ServedModel& served() const = 0;
  /// Checks `inputs` against the model's schema (names, datatypes, ranks, fixed dimensions,
  /// missing inputs) and runs them with `options`: batched with other requests when the
  /// model's batching is on and `options` are the defaults; a request with other options or
  /// with a request-wide input runs alone, on the calling thread. On
  /// failure, sets `failure` (when non-null) and returns kInvalidArgument (bad input),
  /// kUnavailable (queue full, timed out, not ready; the message says which) or the model's
  /// own status. Counts the request in the statistics. Never throws.
  virtual Status infer(const TensorMap& inputs, const PredictOptions& options, TensorMap& outputs,
                       InferFailure* failure) = 0;
  /// infer(), streamed: a model with Model::streaming() hands its pieces to `emit` as it makes
  /// them (never batched); any other model answers in one piece holding every output. Same
  /// checks, failures and statistics as infer(); `emit` runs on the calling thread.
  virtual Status inferStream(const TensorMap& inputs, const PredictOptions& options,
                             const StreamingPrediction::Emit& emit, InferFailure* failure) = 0;
  /// Counts a request the frontend refused before infer() (e.g. undecodable JSON) as failed.
  virtual void countFailure(InferFailure reason) = 0;
};

/// What ModelServing::learn() did.
struct LearnResult {
  std::string version;        ///< the version that learned
  std::uint64_t rows = 0;     ///< observations folded in
  bool persisted = false;     ///< written to the feedback storage, so a restart replays them
  std::uint64_t sequence = 0; ///< this batch's number among the version's persisted batches
};

/// A model known to the repository, as POST /v2/repository/index lists it.
struct RepositoryEntry {
  std::string name;
  std::string version;  ///< empty for a model with no loaded version
  std::string state;    ///< "READY", "UNAVAILABLE", "LOADING", "UNLOADING"
  std::string reason;   ///< why it is not READY; empty otherwise
};

/// A duration statistic: how many times and how long in total.
struct DurationStat {
  std::uint64_t count = 0;
  std::uint64_t ns = 0;
};

/// Per batch size: how long each phase of executions of that size took.
struct BatchStat {
  std::int64_t batch_size = 0;
  DurationStat compute_input;
  DurationStat compute_infer;
  DurationStat compute_output;
};

/// The statistics of one model version, as Triton's statistics extension defines them.
struct ModelStatistics {
  std::string name;
  std::string version;
  std::int64_t last_inference_ms = 0;  ///< milliseconds since the epoch; 0 before the first
  std::uint64_t inference_count = 0;   ///< rows inferred (a request of 8 rows counts 8)
  std::uint64_t execution_count = 0;   ///< Model::predict calls (one per batch)
  DurationStat success;                ///< requests that succeeded, end to end
  DurationStat fail;                   ///< requests that failed
  DurationStat queue;                  ///< time requests waited for a batch
  DurationStat compute_input;          ///< assembling batches
  DurationStat compute_infer;          ///< Model::predict
  DurationStat compute_output;         ///< splitting outputs back per request
  std::vector<std::pair<std::string, std::uint64_t>> failures;  ///< by InferFailure name
  std::int64_t pending = 0;            ///< requests queued now, not yet executing
  std::vector<BatchStat> batch_stats;  ///< by batch size, ascending
};

/// How one model's requests are queued and batched. With max_batch_size of 0 or 1, or for a
/// model whose inputs or outputs have no variable first (batch) dimension, requests run at once
/// on the caller's thread and the queue settings do not apply.
struct BatchingOptions {
  /// Most rows in one Model::predict call. A single request with more rows runs alone.
  std::int64_t max_batch_size = 0;
  /// A batch is dispatched at once when this many rows wait (the largest one counts), without
  /// waiting for max_queue_delay_us; otherwise when max_batch_size rows wait or the oldest
  /// request has waited max_queue_delay_us.
  std::vector<std::int64_t> preferred_batch_sizes;
  std::int64_t max_queue_delay_us = 500;
  /// Requests that may wait; one more is refused with kUnavailable (back-pressure).
  std::int64_t max_queue_size = 1024;
  /// How long a request may wait in the queue before it fails with kUnavailable; 0: no limit.
  std::int64_t timeout_ms = 0;
};

/// Which registry versions a model loaded by its bare name serves.
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  std::int64_t latest = 1;             ///< kLatest: the N highest versions
  std::vector<std::int64_t> versions;  ///< kSpecific: exactly these
};

/// The host's serving runtime: the models that can be served, loaded versions, batching, the
/// repository, statistics. Implemented by the host (core/include/aimass/core/serving.h);
/// frontends reach it through Host::serving().
///
/// Threading: every method is safe from many threads at once. A ServedModel or PinnedModel
/// returned stays valid for as long as the caller holds it, even if the model is unloaded
/// meanwhile.
class ModelServing {
 public:
  /// Every model and version that can be served now, sorted by name then version.
  virtual std::vector<ServedModel> list() const = 0;
  /// The model `name` at `version`, or its highest loaded version when `version` is empty.
  /// kNotFound when the name or version is unknown. For metadata; a request that runs the
  /// model pins it instead, so that it is counted and batched.
  virtual Expected<ServedModel> find(std::string_view name, std::string_view version) const = 0;
  /// The version `version` of `name`, or the highest loaded one when `version` is empty.
  /// kNotFound naming what is unknown.
  virtual Expected<std::shared_ptr<PinnedModel>> pin(std::string_view name,
                                                     std::string_view version) = 0;
  /// Every model the runtime knows (loaded, or in a repository), sorted by name then version.
  /// `ready_only`: only versions that can answer now.
  virtual std::vector<RepositoryEntry> index(bool ready_only) const = 0;
  /// Loads (or reloads) `reference` from the repository: "name" (by the model's version
  /// policy), "name@alias" or "name/version". Versions that the policy no longer selects are
  /// unloaded once the new ones are serving; requests in flight finish on the version they
  /// pinned. On failure nothing changes and the error names the reference. kNotFound for an
  /// unknown model; kFailedPrecondition when no repository is configured.
  virtual Status load(std::string_view reference) = 0;
  /// Stops serving every version of `name`; their memory is released once the last request
  /// holding them finishes. kNotFound when nothing of that name is loaded.
  virtual Status unload(std::string_view name) = 0;
  /// Statistics of every version (empty name), of every version of `name`, or of one version.
  /// kNotFound for an unknown name or version.
  virtual Expected<std::vector<ModelStatistics>> statistics(std::string_view name,
                                                            std::string_view version) const = 0;
  /// Every model's counters and the process' CPU time and resident memory in the Prometheus
  /// text exposition format (version 0.0.4).
  virtual std::string prometheusMetrics() const = 0;

  /// The batching `model`'s requests get: its own settings, or the default (setBatching() with
  /// an empty name). Frontends ask it to decide whether a request may run inline or waits for
  /// a batch (max_batch_size above 1).
  virtual BatchingOptions batching(std::string_view model) const = 0;
  /// Batching of `model` (every model without settings of its own when `model` is empty).
  /// Applies at once: versions already loaded get a new queue; requests already queued finish
  /// on the old one.
  virtual void setBatching(std::string_view model, const BatchingOptions& options) = 0;
  /// Version policy of `model` (of every model without its own when empty), used by the next
  /// load() of the bare name.
  virtual void setVersionPolicy(std::string_view model, const VersionPolicy& policy) = 0;
  /// The storage whose model registry load() reads. The runtime keeps `storage` alive.
  /// kFailedPrecondition when the host cannot create models from their saved type.
  virtual Status setRepository(std::shared_ptr<Storage> storage) = 0;

  /// Folds `observations` into version `version` of `name` (its highest when empty) through the
  /// model's OnlineLearning, then, with a feedback storage set, persists them so that the same
  /// trained version replays them when it is served again (a retrained version starts clean).
  /// kNotFound for an unknown model or version; kFailedPrecondition when the model does not
  /// learn online; kInvalidArgument (naming the input) for observations that do not match
  /// OnlineLearning::observationInputs(); nothing is learned or written then. Safe from many
  /// threads at once; batches of one version are learned and persisted in one order.
  virtual Expected<LearnResult> learn(std::string_view name, std::string_view version,
                                      const TensorMap& observations) = 0;
  /// Where learn() persists observations, and from where versions served from now on replay
  /// theirs. Without one, learned observations last until the process ends.
  virtual Status setFeedbackStorage(std::shared_ptr<Storage> storage) = 0;

 protected:
  ~ModelServing() = default;
};

}  // namespace aimass

// Inline helpers, outside the ABI (sdk/include/aimass/util/).
#include "aimass/util/version_policy_text.h"
