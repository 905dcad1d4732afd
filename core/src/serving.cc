// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/serving.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <utility>
#include <variant>

#include "aimass/core/graph.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/tensor_names.h"
#include "aimass/util/number_text.h"
#include "data_profile.h"
#include "input_check.h"
#include "latency_histogram.h"
#include "monitoring/payload_log.h"
#include "outlier_scoring.h"
#include "pipeline/pipeline_node.h"
#include "prometheus_text.h"
#include "sequence_store.h"
#include "serving_feedback.h"
#include "serving_graph.h"
#include "traffic_split.h"

namespace aimass::core {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t nanosSince(Clock::time_point start, Clock::time_point end) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
}

void addDuration(DurationStat& stat, std::uint64_t ns, std::uint64_t times = 1) {
  stat.count += times;
  stat.ns += ns;
}

constexpr InferFailure kAllFailures[] = {InferFailure::kInvalid, InferFailure::kRejected,
                                         InferFailure::kTimeout, InferFailure::kUnavailable,
                                         InferFailure::kBackend};

/// True when every input and output of `schema` has a variable first (batch) dimension, so
/// requests can be stacked along it and outputs cut back apart. Request-wide inputs do not
/// count: a request that carries one runs alone.
bool batchable(const ModelSchema& schema) {
  auto variable_first = [](const TensorSpec& spec) {
    return spec.request_wide || (!spec.shape.empty() && spec.shape[0] == -1);
  };
  return !schema.inputs.empty() && !schema.outputs.empty() &&
         std::all_of(schema.inputs.begin(), schema.inputs.end(), variable_first) &&
         std::all_of(schema.outputs.begin(), schema.outputs.end(), variable_first);
}

/// Checks `inputs` against the schema; fills `rows` with the batch size (the shared first
/// dimension of the inputs that are not request-wide, or 1 for models that do not batch).
Status validateInputs(const std::string& model, const ModelSchema& schema, bool batched,
                      const TensorMap& inputs, std::int64_t& rows) {
  rows = -1;
  for (const auto& [name, tensor] : inputs) {
    auto spec = std::find_if(schema.inputs.begin(), schema.inputs.end(),
                             [&](const TensorSpec& s) { return s.name == name; });
    if (spec == schema.inputs.end()) {
      std::string known;
      for (const auto& s : schema.inputs) {
        known += (known.empty() ? "" : ", ") + s.name;
      }
      return invalidArgument("model '" + model + "' has no input '" + name + "' (inputs: " + known +
                             ")");
    }
    bool shape_ok = tensor.rank() == spec->shape.size();
    for (std::size_t d = 0; shape_ok && d < spec->shape.size(); ++d) {
      shape_ok = spec->shape[d] < 0 || spec->shape[d] == tensor.dim(d);
    }
    if (tensor.dtype() != spec->dtype || !shape_ok) {
      return invalidArgument(
          "input '" + name + "' of model '" + model + "' must be " +
          std::string(dtypeName(spec->dtype)) + " " + shapeToString(spec->shape) + ", got " +
          std::string(dtypeName(tensor.dtype())) + " " + shapeToString(tensor.shape()));
    }
    if (batched && !spec->request_wide) {
      if (rows >= 0 && tensor.dim(0) != rows) {
        return invalidArgument(
            "the inputs of model '" + model + "' disagree on the batch (first) dimension: " +
            std::to_string(rows) + " and " + std::to_string(tensor.dim(0)) + " in '" + name + "'");
      }
      rows = tensor.dim(0);
    }
  }
  for (const auto& spec : schema.inputs) {
    if (!spec.optional && inputs.find(spec.name) == nullptr) {
      return invalidArgument("missing input '" + spec.name + "' of model '" + model + "'");
    }
  }
  if (!batched || rows < 0) {
    rows = 1;
  }
  return okStatus();
}

/// Why a request failed when the model returned `status`: kInvalidArgument is the request's
/// fault, anything else the backend's.
InferFailure modelFailure(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument ? InferFailure::kInvalid
                                                       : InferFailure::kBackend;
}

/// Rows [begin, end) of `tensor` along its first dimension, copied.
Tensor sliceRows(const Tensor& tensor, std::int64_t begin, std::int64_t end) {
  Shape shape = tensor.shape();
  const std::int64_t rows = shape[0];
  shape[0] = end - begin;
  if (tensor.dtype() == DType::kBytes) {
    const auto& all = tensor.strings();
    const std::size_t per_row = rows > 0 ? all.size() / static_cast<std::size_t>(rows) : 0;
    std::vector<std::string> part(all.begin() + static_cast<std::ptrdiff_t>(begin * per_row),
                                  all.begin() + static_cast<std::ptrdiff_t>(end * per_row));
    return Tensor::fromStrings(std::move(part)).reshaped(shape);
  }
  Tensor out(tensor.dtype(), shape);
  const std::size_t row_bytes = rows > 0 ? tensor.nbytes() / static_cast<std::size_t>(rows) : 0;
  if (out.nbytes() > 0) {
    std::memcpy(out.raw(), static_cast<const std::byte*>(tensor.raw()) + begin * row_bytes,
                out.nbytes());
  }
  return out;
}

/// Stacks the same input of several requests along the first dimension.
Tensor concatRows(const std::vector<const Tensor*>& parts) {
  Shape shape = parts.front()->shape();
  std::int64_t rows = 0;
  for (const Tensor* p : parts) {
    rows += p->dim(0);
  }
  shape[0] = rows;
  if (parts.front()->dtype() == DType::kBytes) {
    std::vector<std::string> all;
    for (const Tensor* p : parts) {
      all.insert(all.end(), p->strings().begin(), p->strings().end());
    }
    return Tensor::fromStrings(std::move(all)).reshaped(shape);
  }
  Tensor out(parts.front()->dtype(), shape);
  auto* at = static_cast<std::byte*>(out.raw());
  for (const Tensor* p : parts) {
    if (p->nbytes() > 0) {
      std::memcpy(at, p->raw(), p->nbytes());
      at += p->nbytes();
    }
  }
  return out;
}

/// Same input names, dtypes and non-batch dimensions: the two requests can share a batch.
bool stackable(const TensorMap& a, const TensorMap& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (const auto& [name, ta] : a) {
    const Tensor* tb = b.find(name);
    if (tb == nullptr || tb->dtype() != ta.dtype() || tb->rank() != ta.rank()) {
      return false;
    }
    for (std::size_t d = 1; d < ta.rank(); ++d) {
      if (ta.dim(d) != tb->dim(d)) {
        return false;
      }
    }
  }
  return true;
}

std::string labelValue(std::string_view v) { return prometheusLabel(v); }

std::string formatSeconds(std::uint64_t ns) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9f", static_cast<double>(ns) / 1e9);
  return buffer;
}

std::int64_t unixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

/// Feedback (learn()) calls of one version that learns online.
struct FeedbackCounts {
  std::uint64_t success = 0;
  std::uint64_t failure = 0;
  std::uint64_t rows = 0;
};

/// Counters of one version, shared by every queue the version gets over its life.
struct VersionStats {
  mutable std::mutex mutex;
  ModelStatistics stats;
  FeedbackCounts feedback;
  std::map<std::int64_t, BatchStat> batches;
  std::map<InferFailure, std::uint64_t> failures;
  LatencyHistogram latency;          // of successful requests, end to end
  InputValidationCounts validation;  // atomics: counted without the mutex
  OutlierCounts outliers;            // likewise

  void fail(InferFailure reason, std::uint64_t ns) {
    std::lock_guard lock(mutex);
    addDuration(stats.fail, ns);
    ++failures[reason];
  }
  void succeed(std::uint64_t ns) {
    std::lock_guard lock(mutex);
    addDuration(stats.success, ns);
    latency.record(ns);
  }
  LatencyHistogram latencyCopy() const {
    std::lock_guard lock(mutex);
    return latency;
  }
  /// Counts one learn() call: `rows` learned, or a failure.
  void learned(bool ok, std::uint64_t rows) {
    std::lock_guard lock(mutex);
    ++(ok ? feedback.success : feedback.failure);
    feedback.rows += ok ? rows : 0;
  }
  FeedbackCounts feedbackCounts() const {
    std::lock_guard lock(mutex);
    return feedback;
  }
  void execution(std::int64_t rows, std::size_t requests, std::uint64_t queue_ns,
                 std::uint64_t input_ns, std::uint64_t infer_ns, std::uint64_t output_ns) {
    std::lock_guard lock(mutex);
    stats.inference_count += static_cast<std::uint64_t>(rows);
    ++stats.execution_count;
    stats.last_inference_ms = unixMillisNow();
    addDuration(stats.queue, queue_ns, requests);
    addDuration(stats.compute_input, input_ns, requests);
    addDuration(stats.compute_infer, infer_ns, requests);
    addDuration(stats.compute_output, output_ns, requests);
    BatchStat& b = batches[rows];
    b.batch_size = rows;
    addDuration(b.compute_input, input_ns);
    addDuration(b.compute_infer, infer_ns);
    addDuration(b.compute_output, output_ns);
  }
  ModelStatistics snapshot(std::int64_t pending) const {
    std::lock_guard lock(mutex);
    ModelStatistics out = stats;
    out.pending = pending;
    for (InferFailure f : kAllFailures) {
      auto it = failures.find(f);
      out.failures.emplace_back(std::string(inferFailureName(f)),
                                it == failures.end() ? 0 : it->second);
    }
    for (const auto& [size, b] : batches) {
      out.batch_stats.push_back(b);
    }
    return out;
  }
};

/// The aimass_input_validation_flagged_total family of the versions in `checked` (their
/// labels and counters); nothing when no version checks its inputs.
std::string inputValidationMetrics(
    const std::vector<std::pair<std::string, std::shared_ptr<VersionStats>>>& checked) {
  if (checked.empty()) {
    return {};
  }
  std::string out =
      "# HELP aimass_input_validation_flagged_total Requests whose rows did not look like the "
      "training data (input validation against the model's training-data profile), by the "
      "first problem found and what was done: warned (answered) or rejected (400).\n"
      "# TYPE aimass_input_validation_flagged_total counter\n";
  for (const auto& [labels, stats] : checked) {
    for (std::size_t k = 0; k < kInputProblemKinds; ++k) {
      const std::string problem(inputProblemName(static_cast<InputProblemKind>(k)));
      for (const auto& [action, counts] : {std::pair{"warned", &stats->validation.warned},
                                           std::pair{"rejected", &stats->validation.rejected}}) {
        out += "aimass_input_validation_flagged_total{" + labels + ",problem=\"" + problem +
               "\",action=\"" + action + "\"} " +
               std::to_string((*counts)[k].load(std::memory_order_relaxed)) + "\n";
      }
    }
  }
  return out;
}

/// The aimass_outlier_scored_rows_total and aimass_outliers_total families of the versions in
/// `scored` (their labels and counters); nothing when no version scores its rows.
std::string outlierMetrics(
    const std::vector<std::pair<std::string, std::shared_ptr<VersionStats>>>& scored) {
  if (scored.empty()) {
    return {};
  }
  std::string out;
  auto family = [&](const std::string& name, const char* help, auto counter) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [labels, stats] : scored) {
      out += name + "{" + labels + "} " +
             std::to_string((stats->outliers.*counter).load(std::memory_order_relaxed)) + "\n";
    }
  };
  family("aimass_outlier_scored_rows_total", "Rows given an outlier score (outlier_scores on).",
         &OutlierCounts::scored_rows);
  family("aimass_outliers_total",
         "Rows whose outlier score was above the threshold learnt from the training data.",
         &OutlierCounts::outliers);
  return out;
}

/// Sets `value` as `model`'s own setting in `per_model`, or as every model's (`fallback`) when
/// `model` is empty.
template <typename Value>
void setModelSetting(std::string_view model, const Value& value, Value& fallback,
                     std::map<std::string, Value, std::less<>>& per_model) {
  if (model.empty()) {
    fallback = value;
  } else {
    per_model[std::string(model)] = value;
  }
}

/// One queued request; lives on the caller's stack while the caller waits for it.
struct QueuedRequest {
  const TensorMap* inputs = nullptr;
  TensorMap* outputs = nullptr;
  std::int64_t rows = 1;
  Clock::time_point enqueued;
  Clock::time_point deadline = Clock::time_point::max();
  enum class State { kQueued, kRunning, kDone } state = State::kQueued;
  Status status;
  InferFailure failure = InferFailure::kBackend;
};

/// The queue and worker of one batched version. The worker forms batches, runs predict once
/// per batch and hands each request its rows; it drains the queue before it stops.
class Batcher {
 public:
  Batcher(std::string name, std::shared_ptr<const Model> model, BatchingOptions options,
          std::shared_ptr<VersionStats> stats, PredictOptions predict_options)
      : name_(std::move(name)),
        model_(std::move(model)),
        options_(std::move(options)),
        stats_(std::move(stats)),
        predict_options_(std::move(predict_options)) {
    for (auto p : options_.preferred_batch_sizes) {
      dispatch_rows_ = std::max(dispatch_rows_, p);
    }
    if (dispatch_rows_ <= 0 || dispatch_rows_ > options_.max_batch_size) {
      dispatch_rows_ = options_.max_batch_size;
    }
    worker_ = std::thread([this] { work(); });
  }

  ~Batcher() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    worker_.join();
  }

  std::int64_t pending() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::int64_t>(queue_.size());
  }

  /// Queues `request` and waits until it ran, failed, or timed out in the queue.
  void run(QueuedRequest& request) {
    std::unique_lock lock(mutex_);
    if (static_cast<std::int64_t>(queue_.size()) >= options_.max_queue_size) {
      request.status =
          unavailable("model '" + name_ + "' is overloaded: its queue is full (" +
                      std::to_string(queue_.size()) + " requests waiting, max_queue_size " +
                      std::to_string(options_.max_queue_size) + "); retry later");
      request.failure = InferFailure::kRejected;
      request.state = QueuedRequest::State::kDone;
      return;
    }
    request.enqueued = Clock::now();
    if (options_.timeout_ms > 0) {
      request.deadline = request.enqueued + std::chrono::milliseconds(options_.timeout_ms);
    }
    queue_.push_back(&request);
    queued_rows_ += request.rows;
    work_cv_.notify_one();
    while (request.state != QueuedRequest::State::kDone) {
      if (request.state == QueuedRequest::State::kQueued &&
          request.deadline != Clock::time_point::max()) {
        if (done_cv_.wait_until(lock, request.deadline) == std::cv_status::timeout &&
            request.state == QueuedRequest::State::kQueued) {
          queue_.erase(std::find(queue_.begin(), queue_.end(), &request));
          queued_rows_ -= request.rows;
          expire(request);
        }
      } else {
        done_cv_.wait(lock);
      }
    }
  }

 private:
  void expire(QueuedRequest& request) {
    request.status = unavailable("model '" + name_ + "': the request waited longer than its " +
                                 std::to_string(options_.timeout_ms) +
                                 " ms timeout (queue_timeout_ms) in the queue");
    request.failure = InferFailure::kTimeout;
    request.state = QueuedRequest::State::kDone;
  }

  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;
      }
      const auto dispatch_at =
          queue_.front()->enqueued + std::chrono::microseconds(options_.max_queue_delay_us);
      while (!stopping_ && !queue_.empty() && queued_rows_ < dispatch_rows_ &&
             Clock::now() < dispatch_at) {
        work_cv_.wait_until(lock, dispatch_at);
      }
      std::vector<QueuedRequest*> batch;
      std::int64_t rows = 0;
      const auto now = Clock::now();
      bool expired = false;
      while (!queue_.empty()) {
        QueuedRequest* r = queue_.front();
        if (now >= r->deadline) {
          queue_.pop_front();
          queued_rows_ -= r->rows;
          expire(*r);
          expired = true;
          continue;
        }
        if (!batch.empty() && (rows + r->rows > options_.max_batch_size ||
                               !stackable(*batch.front()->inputs, *r->inputs))) {
          break;
        }
        queue_.pop_front();
        queued_rows_ -= r->rows;
        r->state = QueuedRequest::State::kRunning;
        batch.push_back(r);
        rows += r->rows;
      }
      if (expired) {
        done_cv_.notify_all();
      }
      if (batch.empty()) {
        continue;
      }
      lock.unlock();
      execute(batch, rows, now);
      lock.lock();
      for (QueuedRequest* r : batch) {
        r->state = QueuedRequest::State::kDone;
      }
      done_cv_.notify_all();
    }
  }

  /// Runs one batch; fills each request's status and outputs. Called without the lock.
  void execute(const std::vector<QueuedRequest*>& batch, std::int64_t rows,
               Clock::time_point started) {
    std::uint64_t queue_ns = 0;
    for (QueuedRequest* r : batch) {
      queue_ns += nanosSince(r->enqueued, started);
    }
    if (batch.size() == 1) {
      runAlone(*batch.front(), queue_ns, 1);
      return;
    }
    auto fail_all = [&](const Status& status) {
      for (QueuedRequest* r : batch) {
        r->status = status;
        r->failure = InferFailure::kBackend;
      }
    };
    auto t0 = Clock::now();
    TensorMap stacked;
    Status assembled = guard("assembling a batch", [&] {
      for (const auto& [name, first] : *batch.front()->inputs) {
        std::vector<const Tensor*> parts;
        for (QueuedRequest* r : batch) {
          parts.push_back(r->inputs->find(name));
        }
        stacked.set(name, concatRows(parts));
      }
      return okStatus();
    });
    if (!assembled.ok()) {
      fail_all(assembled);
      return;
    }
    auto t1 = Clock::now();
    TensorMap outputs;
    Status predicted =
        guard("predict", [&] { return model_->predict(stacked, outputs, predict_options_); });
    auto t2 = Clock::now();
    if (!predicted.ok()) {
      stats_->execution(rows, batch.size(), queue_ns, nanosSince(t0, t1), nanosSince(t1, t2), 0);
      if (predicted.code() == StatusCode::kInvalidArgument) {
        // The model refused what some rows hold (an empty text, an unknown id): the fault is
        // one request's, and its message counts rows of the batch. Each request runs alone so
        // that only the one at fault fails, with an error about its own rows.
        for (QueuedRequest* r : batch) {
          runAlone(*r, 0, 0);
        }
        return;
      }
      fail_all(predicted);
      return;
    }
    Status split = guard("splitting a batch", [&] {
      for (const auto& [name, tensor] : outputs) {
        if (tensor.rank() == 0 || tensor.dim(0) != rows) {
          return internalError("model '" + name_ + "' answered a batch of " + std::to_string(rows) +
                               " rows with output '" + name + "' of shape " +
                               shapeToString(tensor.shape()) +
                               "; its first dimension must be the batch (set max_batch_size 0 "
                               "for this model)");
        }
      }
      std::int64_t begin = 0;
      for (QueuedRequest* r : batch) {
        for (const auto& [name, tensor] : outputs) {
          r->outputs->set(name, sliceRows(tensor, begin, begin + r->rows));
        }
        begin += r->rows;
        r->status = okStatus();
      }
      return okStatus();
    });
    auto t3 = Clock::now();
    if (!split.ok()) {
      fail_all(split);
    }
    stats_->execution(rows, batch.size(), queue_ns, nanosSince(t0, t1), nanosSince(t1, t2),
                      nanosSince(t2, t3));
  }

  /// Runs `r` by itself on its own inputs and outputs. `requests` is how many requests the
  /// statistics count for it: 0 when it already counted in a batch that failed.
  void runAlone(QueuedRequest& r, std::uint64_t queue_ns, std::size_t requests) {
    auto t0 = Clock::now();
    r.status =
        guard("predict", [&] { return model_->predict(*r.inputs, *r.outputs, predict_options_); });
    r.failure = modelFailure(r.status);
    stats_->execution(r.rows, requests, queue_ns, 0, nanosSince(t0, Clock::now()), 0);
  }

  const std::string name_;
  const std::shared_ptr<const Model> model_;
  const BatchingOptions options_;
  const std::shared_ptr<VersionStats> stats_;
  const PredictOptions predict_options_;  // the version's (its serving precision)
  std::int64_t dispatch_rows_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;  // the worker waits for requests
  std::condition_variable done_cv_;  // callers wait for their request
  std::deque<QueuedRequest*> queue_;
  std::int64_t queued_rows_ = 0;
  bool stopping_ = false;
  std::thread worker_;  // last: started once everything above exists
};

/// One served version. Immutable once made; settings changes make a new one.
struct ServingRuntime::Version {
  /// What clients see: served.model is `model`, or wraps it with outlier_score in its schema
  /// when `scorer` is set.
  ServedModel served;
  std::shared_ptr<const Model> model;  // the model itself: what predicts
  ModelSchema schema;                  // the model's own (without outlier_score)
  bool batched = false;
  std::string sha256;  // registry versions: the artifact's hash, to skip reloading it
  std::string type;    // graph models: the node's type, which names its artifact
  std::shared_ptr<VersionStats> stats;
  std::shared_ptr<FeedbackState> feedback;  // shared with the Versions setBatching() remakes
  std::shared_ptr<SequenceStore> sequences;  // the runtime's, shared by every version
  std::unique_ptr<Batcher> batcher;  // null: predict on the caller's thread
  /// What every request's options start from: the serving precision as "precision" (nothing
  /// for fp32); a request's own parameters win.
  PredictOptions defaults;
  std::shared_ptr<const DataProfile> profile;  // null: none (older artifacts, untrained models)
  std::shared_ptr<const InputCheck> check;     // null: requests are not checked (policy off)
  /// Logs a warned request (set with `check` under policy warn).
  std::function<void(LogLevel, const std::string&, const std::string&)> log;
  std::shared_ptr<PayloadTap> payload;  // null: its requests are not logged (payload_sample 0)
  /// Scores the rows of "input" into the outlier_score output; null: outlier_scores off, or
  /// the version has no scorer that fits it.
  std::shared_ptr<const OutlierScorer> scorer;
};

namespace {

class PinnedVersion final : public PinnedModel {
 public:
  explicit PinnedVersion(std::shared_ptr<ServingRuntime::Version> version)
      : version_(std::move(version)) {}

  const ServedModel& served() const override { return version_->served; }

  /// Payload logging wraps the request: an unsampled one costs the tap's counter; a sampled one
  /// is timed and copied to the log's queue, answered or failed, unless it did not fit the
  /// schema (its tensors are not the model's). Streamed requests are not logged.
  Status infer(const TensorMap& inputs, const PredictOptions& options, TensorMap& outputs,
               InferFailure* failure) override {
    PayloadTap* tap = version_->payload.get();
    if (tap == nullptr || !tap->sampled()) {
      return inferUnlogged(inputs, options, outputs, failure);
    }
    const auto start = Clock::now();
    InferFailure why = InferFailure::kBackend;
    Status status = inferUnlogged(inputs, options, outputs, &why);
    if (!status.ok() && failure != nullptr) {
      *failure = why;
    }
    std::int64_t rows = 0;
    if (status.ok() ||
        validateInputs(version_->served.name, version_->schema, version_->batched, inputs, rows)
            .ok()) {
      tap->record(options.request_id, inputs, status.ok() ? &outputs : nullptr,
                  static_cast<std::int64_t>(nanosSince(start, Clock::now()) / 1000),
                  status.ok() ? std::string_view("ok") : inferFailureName(why));
    }
    return status;
  }

  Status inferStream(const TensorMap& inputs, const PredictOptions& options,
                     const StreamingPrediction::Emit& emit, InferFailure* failure) override {
    if (const std::string* id = options.parameter("sequence_id")) {
      return inSequence(*id, inputs, options, failure,
                        [&](const TensorMap& fed, std::optional<Tensor>& state) {
                          auto keep = [&](const TensorMap& piece) {
                            if (const Tensor* out = piece.find(tensor_names::kState)) {
                              state = *out;
                            }
                            return emit(piece);
                          };
                          return streamOnce(fed, options, keep, failure);
                        });
    }
    return streamOnce(inputs, options, emit, failure);
  }

  void countFailure(InferFailure reason) override { version_->stats->fail(reason, 0); }

 private:
  Status inferUnlogged(const TensorMap& inputs, const PredictOptions& options, TensorMap& outputs,
                       InferFailure* failure) {
    if (const std::string* id = options.parameter("sequence_id")) {
      return inSequence(*id, inputs, options, failure,
                        [&](const TensorMap& fed, std::optional<Tensor>& state) {
                          AIMASS_RETURN_IF_ERROR(inferOnce(fed, options, outputs, failure));
                          if (const Tensor* out = outputs.find(tensor_names::kState)) {
                            state = *out;
                          }
                          return okStatus();
                        });
    }
    return inferOnce(inputs, options, outputs, failure);
  }

  /// A request of sequence `id` (see runSequence()); `run` does the request itself.
  Status inSequence(const std::string& id, const TensorMap& inputs, const PredictOptions& options,
                    InferFailure* failure,
                    const std::function<Status(const TensorMap&, std::optional<Tensor>&)>& run) {
    const auto start = Clock::now();
    std::int64_t rows = 1;
    AIMASS_RETURN_IF_ERROR(admit(inputs, start, failure, rows));
    bool ran = false;
    Status status = runSequence(*version_->sequences, version_->served.name,
                                version_->served.version, version_->schema, id, rows, inputs,
                                options, [&](const TensorMap& fed, std::optional<Tensor>& state) {
                                  ran = true;
                                  return run(fed, state);
                                });
    if (!status.ok() && !ran) {  // (a failed run counted itself)
      return fail(status,
                  status.code() == StatusCode::kAborted ? InferFailure::kRejected
                                                        : InferFailure::kInvalid,
                  start, failure);
    }
    return status;
  }

  Status inferOnce(const TensorMap& inputs, const PredictOptions& options, TensorMap& outputs,
                   InferFailure* failure) {
    const auto start = Clock::now();
    std::int64_t rows = 1;
    AIMASS_RETURN_IF_ERROR(admit(inputs, start, failure, rows));
    const Model& model = *version_->model;
    Status status;
    const PredictOptions effective = withDefaults(options);
    if (version_->batcher && effective == version_->defaults && !hasRequestWideInput(inputs)) {
      QueuedRequest request;
      request.inputs = &inputs;
      request.outputs = &outputs;
      request.rows = rows;
      version_->batcher->run(request);
      if (!request.status.ok()) {
        return fail(request.status, request.failure, start, failure);
      }
    } else {
      auto t0 = Clock::now();
      status = guard("predict", [&] { return model.predict(inputs, outputs, effective); });
      version_->stats->execution(rows, 1, 0, 0, nanosSince(t0, Clock::now()), 0);
      if (!status.ok()) {
        return fail(status, modelFailure(status), start, failure);
      }
    }
    if (version_->scorer) {
      if (const Tensor* block = inputs.find(tensor_names::kInput)) {
        outputs.set(std::string(kOutlierScoreOutput),
                    scoreRows(*version_->scorer, *block, version_->stats->outliers));
      }
    }
    version_->stats->succeed(nanosSince(start, Clock::now()));
    return okStatus();
  }

  /// `options` with the version's defaults added where the request gave no value of its own.
  PredictOptions withDefaults(const PredictOptions& options) const {
    PredictOptions out = options;
    for (const auto& [name, value] : version_->defaults.parameters) {
      if (out.parameter(name) == nullptr) {
        out.parameters.emplace_back(name, value);
      }
    }
    return out;
  }

  Status streamOnce(const TensorMap& inputs, const PredictOptions& options,
                    const StreamingPrediction::Emit& emit, InferFailure* failure) {
    const StreamingPrediction* streaming = version_->served.model->streaming();
    if (streaming == nullptr) {
      TensorMap outputs;
      AIMASS_RETURN_IF_ERROR(inferOnce(inputs, options, outputs, failure));
      emit(outputs);  // the only piece: whether the client wants more does not matter
      return okStatus();
    }
    const auto start = Clock::now();
    std::int64_t rows = 1;
    AIMASS_RETURN_IF_ERROR(admit(inputs, start, failure, rows));
    auto t0 = Clock::now();
    Status status = guard("predictStream",
                          [&] { return streaming->predictStream(inputs, options, emit); });
    version_->stats->execution(rows, 1, 0, 0, nanosSince(t0, Clock::now()), 0);
    if (!status.ok()) {
      return fail(status, modelFailure(status), start, failure);
    }
    version_->stats->succeed(nanosSince(start, Clock::now()));
    return okStatus();
  }

  /// Counts a failed request and says why; returns `status`.
  Status fail(Status status, InferFailure reason, Clock::time_point start,
              InferFailure* failure) const {
    version_->stats->fail(reason, nanosSince(start, Clock::now()));
    if (failure != nullptr) {
      *failure = reason;
    }
    return status;
  }

  /// Checks that the version can answer and that `inputs` fit its schema (the rows they hold
  /// in `rows`); counts and returns the failure otherwise.
  Status admit(const TensorMap& inputs, Clock::time_point start, InferFailure* failure,
               std::int64_t& rows) const {
    const std::string& name = version_->served.name;
    if (!version_->served.model->ready()) {
      return fail(unavailable("model '" + name + "' version '" + version_->served.version +
                              "' is not ready"),
                  InferFailure::kUnavailable, start, failure);
    }
    Status valid = validateInputs(name, version_->schema, version_->batched, inputs, rows);
    if (!valid.ok()) {
      return fail(valid, InferFailure::kInvalid, start, failure);
    }
    if (version_->check) {
      return checkProfile(inputs, start, failure);
    }
    return okStatus();
  }

  /// Input validation against the training-data profile: counts what it finds, and refuses
  /// the request under policy reject or logs it under warn (the 1st, 2nd, 4th, 8th ... time).
  Status checkProfile(const TensorMap& inputs, Clock::time_point start,
                      InferFailure* failure) const {
    auto problem = version_->check->check(inputs);
    if (!problem) {
      return okStatus();
    }
    const auto kind = static_cast<std::size_t>(problem->kind);
    const std::string what = "input validation (version '" + version_->served.version +
                             "', training-data profile): " + problem->message();
    if (version_->check->policy() == InputPolicy::kReject) {
      version_->stats->validation.rejected[kind].fetch_add(1, std::memory_order_relaxed);
      return fail(invalidArgument(what), InferFailure::kInvalid, start, failure);
    }
    const std::uint64_t n =
        version_->stats->validation.warned[kind].fetch_add(1, std::memory_order_relaxed) + 1;
    if (version_->log && (n & (n - 1)) == 0) {
      version_->log(LogLevel::kWarning, "serving",
                    "model '" + version_->served.name + "': " + what + " (answered: policy warn; " +
                        std::to_string(n) + " such requests)");
    }
    return okStatus();
  }

  /// Whether `inputs` carries an input the schema marks request-wide (such requests run alone).
  bool hasRequestWideInput(const TensorMap& inputs) const {
    for (const auto& spec : version_->schema.inputs) {
      if (spec.request_wide && inputs.find(spec.name) != nullptr) {
        return true;
      }
    }
    return false;
  }

  std::shared_ptr<ServingRuntime::Version> version_;
};

/// Splits "name@alias" / "name/3" / "name".
struct Reference {
  std::string name;
  std::string alias;
  std::int64_t version = 0;
};

Expected<Reference> parseReference(std::string_view text) {
  Reference ref;
  auto at = text.find('@');
  auto slash = text.find('/');
  if (at != std::string_view::npos) {
    ref.name = std::string(text.substr(0, at));
    ref.alias = std::string(text.substr(at + 1));
    AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(ref.alias, "alias"));
  } else if (slash != std::string_view::npos) {
    ref.name = std::string(text.substr(0, slash));
    std::string_view digits = text.substr(slash + 1);
    bool ok =
        !digits.empty() && digits.size() < 16 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    ref.version = ok ? std::stoll(std::string(digits)) : 0;
    if (ref.version < 1) {
      return invalidArgument("model reference '" + std::string(text) +
                             "': the version after '/' must be a whole number from 1");
    }
  } else {
    ref.name = std::string(text);
  }
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(ref.name, "model"));
  return ref;
}

}  // namespace

bool versionLess(std::string_view a, std::string_view b) {
  auto numeric = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  bool na = numeric(a), nb = numeric(b);
  if (na != nb) {
    return na;
  }
  if (!na) {
    return a < b;
  }
  auto strip = [](std::string_view s) {
    std::size_t zeros = s.find_first_not_of('0');
    return zeros == std::string_view::npos ? std::string_view("0") : s.substr(zeros);
  };
  a = strip(a);
  b = strip(b);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

ServingRuntime::ServingRuntime() : sequences_(std::make_shared<SequenceStore>()) {}

SequenceStore& ServingRuntime::sequences() noexcept { return *sequences_; }

ServingRuntime::~ServingRuntime() { clear(); }

BatchingOptions ServingRuntime::batching(std::string_view model) const {
  std::lock_guard lock(settings_mutex_);
  return batchingFor(model);
}

BatchingOptions ServingRuntime::batchingFor(std::string_view name) const {
  auto it = batching_.find(name);
  return it == batching_.end() ? default_batching_ : it->second;
}

std::shared_ptr<ServingRuntime::Version> ServingRuntime::makeVersion(
    const std::string& name, const std::string& version, std::shared_ptr<const Model> model,
    std::string sha256, std::shared_ptr<VersionStats> stats,
    std::shared_ptr<FeedbackState> feedback, std::shared_ptr<const DataProfile> profile) const {
  auto v = std::make_shared<Version>();
  v->profile = std::move(profile);
  v->model = model;
  v->feedback = feedback ? std::move(feedback) : std::make_shared<FeedbackState>();
  v->sequences = sequences_;
  v->served = ServedModel{name, version, std::move(model), /*from_repository=*/!sha256.empty()};
  v->sha256 = std::move(sha256);
  if (!stats) {
    stats = std::make_shared<VersionStats>();
    stats->stats.name = name;
    stats->stats.version = version;
  }
  v->stats = std::move(stats);
  if (v->served.model) {
    v->schema = v->served.model->schema();
    BatchingOptions options;
    std::string precision;
    {
      std::lock_guard lock(settings_mutex_);
      options = batchingFor(name);
      auto it = precision_.find(name);
      precision = it == precision_.end() ? default_precision_ : it->second;
    }
    if (precision != "fp32") {
      v->defaults.parameters.emplace_back("precision", precision);
    }
    v->batched = batchable(v->schema);
    if (v->batched && options.max_batch_size > 1) {
      v->batcher = std::make_unique<Batcher>(name, v->model, options, v->stats, v->defaults);
    }
    v->check = inputCheckFor(*v);
    v->scorer = outlierScorerFor(*v);
    if (v->scorer) {
      v->served.model = std::make_shared<ScoredModel>(v->model);
    }
    v->payload = payloadTapFor(name, version, v->served.model->schema(), v->profile.get());
    if (v->check) {
      std::lock_guard lock(settings_mutex_);
      v->log = log_;
    }
  }
  return v;
}

std::shared_ptr<const InputCheck> ServingRuntime::inputCheckFor(const Version& v) const {
  InputValidation settings;
  {
    std::lock_guard lock(settings_mutex_);
    auto it = validation_.find(v.served.name);
    settings = it == validation_.end() ? default_validation_ : it->second;
  }
  if (settings.policy == InputPolicy::kOff) {
    return nullptr;
  }
  const std::string policy(inputPolicyName(settings.policy));
  const std::string which = "model '" + v.served.name + "' version '" + v.served.version + "'";
  if (!v.profile) {
    log(LogLevel::kWarning, "serving",
        which +
            " has no training-data profile (trained before profiles, or not by job.train): "
            "input_validation " +
            policy + " does not apply; it is served unchecked");
    return nullptr;
  }
  std::string why;
  auto check = InputCheck::make(v.profile, v.schema, settings, why);
  if (!check) {
    log(LogLevel::kWarning, "serving",
        which + ": input_validation " + policy + " does not apply (" + why +
            "); it is served unchecked");
    return nullptr;
  }
  log(LogLevel::kInfo, "serving",
      which + " checks requests against its training-data profile (input_validation " + policy +
          ", input_margin " + formatNumber(settings.margin) + ")");
  return check;
}

std::shared_ptr<const OutlierScorer> ServingRuntime::outlierScorerFor(const Version& v) const {
  {
    std::lock_guard lock(settings_mutex_);
    auto it = outlier_scores_.find(v.served.name);
    if (!(it == outlier_scores_.end() ? default_outlier_scores_ : it->second)) {
      return nullptr;
    }
  }
  const std::string which = "model '" + v.served.name + "' version '" + v.served.version + "'";
  std::string why;
  auto scorer = core::outlierScorerFor(v.profile.get(), *v.model, why);
  if (!scorer) {
    log(LogLevel::kWarning, "serving",
        which + ": outlier_scores on does not apply (" + why +
            "); it is served without an outlier_score output");
    return nullptr;
  }
  log(LogLevel::kInfo, "serving",
      which + " scores the rows of its 'input' against its training data (outlier_scores on, " +
          "threshold " + formatNumber(scorer->threshold()) + ")");
  return scorer;
}

void ServingRuntime::setOutlierScores(std::string_view model, bool on) {
  {
    std::lock_guard lock(settings_mutex_);
    setModelSetting(model, on, default_outlier_scores_, outlier_scores_);
  }
  remake(model);
}

void ServingRuntime::log(LogLevel level, const std::string& node,
                         const std::string& message) const {
  std::function<void(LogLevel, const std::string&, const std::string&)> sink;
  {
    std::lock_guard lock(settings_mutex_);
    sink = log_;
  }
  if (sink) {
    sink(level, node, message);
  }
}

void ServingRuntime::setLog(
    std::function<void(LogLevel, const std::string&, const std::string&)> log) {
  std::lock_guard lock(settings_mutex_);
  log_ = std::move(log);
}

void ServingRuntime::setInputValidation(std::string_view model, const InputValidation& settings) {
  {
    std::lock_guard lock(settings_mutex_);
    setModelSetting(model, settings, default_validation_, validation_);
  }
  remake(model);
}

void ServingRuntime::add(std::string name, std::string version, std::shared_ptr<const Model> model,
                         std::string type, std::shared_ptr<const DataProfile> profile) {
  auto made =
      makeVersion(name, version, std::move(model), "", nullptr, nullptr, std::move(profile));
  made->type = std::move(type);
  Status replayed = attachFeedback(*made, feedbackStorage());
  if (!replayed.ok()) {
    std::lock_guard lock(settings_mutex_);
    load_errors_[name] = replayed.message();
    return;
  }
  std::unique_lock lock(mutex_);
  models_[std::move(name)][std::move(version)] = std::move(made);
}

void ServingRuntime::clear() {
  std::map<std::string, VersionMap, std::less<>> dropped;
  std::map<std::string, std::shared_ptr<GraphModel>, std::less<>> graphs;
  std::map<std::string, std::shared_ptr<TrafficRoute>, std::less<>> traffic;
  {
    std::lock_guard lock(settings_mutex_);
    graphs.swap(graphs_);
    traffic.swap(traffic_);
  }
  for (auto& [name, route] : traffic) {
    route->stop();  // joins its shadow worker: no shadow request reaches the runtime after this
  }
  traffic.clear();
  {
    std::unique_lock lock(mutex_);
    dropped.swap(models_);
  }
  dropped.clear();  // joins the workers outside the lock
  stopPayloadLog();  // writes what the requests before queued
  std::lock_guard lock(settings_mutex_);
  repository_.reset();
  feedback_storage_.reset();
  batching_.clear();
  default_precision_ = "fp32";
  precision_.clear();
  policies_.clear();
  default_validation_ = InputValidation();
  validation_.clear();
  log_ = nullptr;
  load_errors_.clear();
}

void ServingRuntime::setModelFactory(ModelFactory factory) {
  std::lock_guard lock(settings_mutex_);
  factory_ = std::move(factory);
}

std::vector<ServedModel> ServingRuntime::list() const {
  std::shared_lock lock(mutex_);
  std::vector<ServedModel> out;
  for (const auto& [name, versions] : models_) {
    std::size_t first = out.size();
    for (const auto& [version, v] : versions) {
      out.push_back(v->served);
    }
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const ServedModel& a, const ServedModel& b) {
                return versionLess(a.version, b.version);
              });
  }
  return out;
}

Expected<ServedModel> ServingRuntime::find(std::string_view name, std::string_view version) const {
  std::shared_lock lock(mutex_);
  auto versions = models_.find(name);
  if (versions == models_.end() || versions->second.empty()) {
    return notFound("model '" + std::string(name) + "' is not found");
  }
  if (version.empty()) {
    auto best = versions->second.begin();
    for (auto it = versions->second.begin(); it != versions->second.end(); ++it) {
      if (versionLess(best->first, it->first)) {
        best = it;
      }
    }
    return best->second->served;
  }
  auto found = versions->second.find(std::string(version));
  if (found == versions->second.end()) {
    return notFound("model '" + std::string(name) + "' has no version '" + std::string(version) +
                    "'");
  }
  return found->second->served;
}

Expected<std::shared_ptr<ServingRuntime::Version>> ServingRuntime::chooseVersion(
    std::string_view name, std::string_view version) const {
  std::shared_ptr<Version> chosen;
  {
    std::shared_lock lock(mutex_);
    auto versions = models_.find(name);
    if (versions == models_.end() || versions->second.empty()) {
      return notFound("unknown model '" + std::string(name) + "'");
    }
    if (version.empty()) {
      for (const auto& [v, state] : versions->second) {
        if (!chosen || versionLess(chosen->served.version, v)) {
          chosen = state;
        }
      }
    } else {
      auto found = versions->second.find(std::string(version));
      if (found == versions->second.end()) {
        return notFound("unknown model '" + std::string(name) + "' version '" +
                        std::string(version) + "'");
      }
      chosen = found->second;
    }
  }
  if (!chosen->served.model) {
    return notFound("unknown model '" + std::string(name) + "'");
  }
  return chosen;
}

Expected<std::shared_ptr<PinnedModel>> ServingRuntime::pin(std::string_view name,
                                                           std::string_view version) {
  if (version.empty()) {
    if (auto route = trafficFor(name)) {
      return route->pin();  // an A/B split: a version drawn by weight (traffic_split.h)
    }
  }
  AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<Version> chosen, chooseVersion(name, version));
  return std::shared_ptr<PinnedModel>(std::make_shared<PinnedVersion>(std::move(chosen)));
}

std::vector<RepositoryEntry> ServingRuntime::index(bool ready_only) const {
  std::map<std::string, std::vector<RepositoryEntry>> entries;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, versions] : models_) {
      for (const auto& [version, v] : versions) {
        bool ready = v->served.model && v->served.model->ready();
        entries[name].push_back({name, version, ready ? "READY" : "UNAVAILABLE",
                                 ready ? "" : "the model is not ready (not trained or loaded)"});
      }
    }
  }
  std::shared_ptr<Storage> repository;
  {
    std::lock_guard lock(settings_mutex_);
    repository = repository_;
    for (const auto& name : loading_) {
      entries[name].push_back({name, "", "LOADING", ""});
    }
    for (const auto& [name, error] : load_errors_) {
      if (!entries.count(name)) {
        entries[name].push_back({name, "", "UNAVAILABLE", error});
      }
    }
  }
  if (repository) {
    ModelRegistry registry(*repository);
    auto names = registry.listModels();
    if (names.ok()) {
      for (const auto& name : *names) {
        if (!entries.count(name)) {
          entries[name].push_back({name, "", "UNAVAILABLE", "unloaded"});
        }
      }
    }
  }
  std::vector<RepositoryEntry> out;
  for (auto& [name, list] : entries) {
    std::sort(list.begin(), list.end(), [](const RepositoryEntry& a, const RepositoryEntry& b) {
      return versionLess(a.version, b.version);
    });
    for (auto& e : list) {
      if (!ready_only || e.state == "READY") {
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

Expected<std::vector<std::pair<std::int64_t, std::string>>> ServingRuntime::selectVersions(
    std::string_view reference, std::string& name) const {
  auto ref = parseReference(reference);
  if (!ref.ok()) {
    return ref.status();
  }
  name = ref->name;
  std::shared_ptr<Storage> repository;
  VersionPolicy policy;
  {
    std::lock_guard lock(settings_mutex_);
    repository = repository_;
    auto it = policies_.find(ref->name);
    policy = it == policies_.end() ? default_policy_ : it->second;
  }
  if (!repository) {
    return failedPrecondition("cannot load '" + std::string(reference) +
                              "': no model repository is configured (set 'repository' on the "
                              "graph's serving.runtime node to a storage node)");
  }
  ModelRegistry registry(*repository);
  std::vector<ModelVersion> chosen;
  if (!ref->alias.empty() || ref->version > 0) {
    auto one = registry.resolve(reference);
    if (!one.ok()) {
      return one.status();
    }
    chosen.push_back(std::move(one).value());
  } else {
    auto all = registry.listVersions(ref->name);
    if (!all.ok()) {
      return all.status();
    }
    switch (policy.kind) {
      case VersionPolicy::Kind::kAll:
        chosen = std::move(all).value();
        break;
      case VersionPolicy::Kind::kLatest: {
        std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(policy.latest), all->size());
        chosen.assign(all->end() - static_cast<std::ptrdiff_t>(n), all->end());
        break;
      }
      case VersionPolicy::Kind::kSpecific:
        for (std::int64_t wanted : policy.versions) {
          auto it = std::find_if(all->begin(), all->end(),
                                 [&](const ModelVersion& v) { return v.version == wanted; });
          if (it == all->end()) {
            return notFound("model '" + ref->name + "' has no version " + std::to_string(wanted) +
                            " (its version policy asks for it)");
          }
          chosen.push_back(*it);
        }
        break;
    }
    if (chosen.empty()) {
      return notFound("model '" + ref->name + "' has no registered version");
    }
  }
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const auto& v : chosen) {
    out.emplace_back(v.version, encodeModelVersion(v));
  }
  return out;
}

Status ServingRuntime::load(std::string_view reference) {
  std::lock_guard serial(load_mutex_);
  std::string name;
  auto selected = selectVersions(reference, name);
  if (!selected.ok()) {
    return Status(
        selected.status().code(),
        selected.status().message().find(std::string(reference)) == std::string::npos
            ? "cannot load '" + std::string(reference) + "': " + selected.status().message()
            : selected.status().message());
  }
  std::shared_ptr<Storage> repository;
  std::shared_ptr<Storage> feedback;
  ModelFactory factory;
  {
    std::lock_guard lock(settings_mutex_);
    repository = repository_;
    feedback = feedback_storage_;
    factory = factory_;
    loading_.insert(name);
  }
  VersionMap current;
  {
    std::shared_lock lock(mutex_);
    auto it = models_.find(name);
    if (it != models_.end()) {
      current = it->second;
    }
  }
  VersionMap next;
  Status status;
  for (const auto& [number, record] : *selected) {
    auto version = decodeModelVersion(record);
    if (!version.ok()) {
      status = version.status();
      break;
    }
    const std::string key = std::to_string(number);
    auto existing = current.find(key);
    if (existing != current.end() && existing->second->sha256 == version->sha256) {
      next[key] = existing->second;  // same bytes already serving: keep it and its queue
      continue;
    }
    if (!factory) {
      status =
          failedPrecondition("this host cannot create models of type '" + version->node_type + "'");
      break;
    }
    auto model = factory(version->node_type);
    if (!model.ok()) {
      status = model.status();
      break;
    }
    status = loadModel(**model, version->node_type, *repository, version->artifact_key);
    if (!status.ok()) {
      break;
    }
    if (!(*model)->ready()) {
      status = failedPrecondition("the loaded model is not ready");
      break;
    }
    std::shared_ptr<const DataProfile> profile;
    if (!version->profile_key.empty()) {
      auto read = readDataProfile(*repository, version->profile_key);
      if (read.ok()) {
        profile = std::move(read).value();
      } else {
        log(LogLevel::kWarning, "serving",
            "model '" + name + "' version '" + key +
                "' is served without its training-data "
                "profile: " +
                read.status().message());
      }
    }
    auto made = makeVersion(name, key, std::move(model).value(), version->sha256, nullptr, nullptr,
                            std::move(profile));
    status = attachFeedback(*made, feedback);  // replayed before it serves
    if (!status.ok()) {
      break;
    }
    next[key] = std::move(made);
  }
  {
    std::lock_guard lock(settings_mutex_);
    loading_.erase(name);
    if (!status.ok()) {
      status = Status(status.code(), "cannot load '" + std::string(reference) +
                                         "': " + status.message() +
                                         (current.empty() ? std::string()
                                                          : "; the versions already loaded "
                                                            "keep serving"));
      if (current.empty()) {
        load_errors_[name] = status.message();
      }
      return status;
    }
    load_errors_.erase(name);
  }
  {
    std::unique_lock lock(mutex_);
    current = std::exchange(models_[name], std::move(next));
  }
  current.clear();  // versions no longer selected go once their last request finishes
  return okStatus();
}

Status ServingRuntime::unload(std::string_view name) {
  std::lock_guard serial(load_mutex_);
  VersionMap dropped;
  {
    std::unique_lock lock(mutex_);
    auto it = models_.find(name);
    if (it == models_.end()) {
      return notFound("cannot unload '" + std::string(name) + "': no such model is loaded");
    }
    dropped = std::move(it->second);
    models_.erase(it);
  }
  dropped.clear();
  return okStatus();
}

Expected<std::vector<ModelStatistics>> ServingRuntime::statistics(std::string_view name,
                                                                  std::string_view version) const {
  std::vector<std::shared_ptr<Version>> chosen;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [n, versions] : models_) {
      if (!name.empty() && n != name) {
        continue;
      }
      for (const auto& [v, state] : versions) {
        if (version.empty() || v == version) {
          chosen.push_back(state);
        }
      }
    }
    if (!name.empty() && chosen.empty()) {
      if (models_.find(name) == models_.end()) {
        return notFound("unknown model '" + std::string(name) + "'");
      }
      return notFound("unknown model '" + std::string(name) + "' version '" + std::string(version) +
                      "'");
    }
  }
  std::sort(chosen.begin(), chosen.end(), [](const auto& a, const auto& b) {
    return a->served.name != b->served.name ? a->served.name < b->served.name
                                            : versionLess(a->served.version, b->served.version);
  });
  std::vector<ModelStatistics> out;
  for (const auto& v : chosen) {
    out.push_back(v->stats->snapshot(v->batcher ? v->batcher->pending() : 0));
  }
  if (version.empty() || version == "1") {
    for (auto& step : graphStepStatistics(name)) {
      out.push_back(std::move(step));
    }
  }
  return out;
}

std::string ServingRuntime::prometheusMetrics() const {
  std::vector<std::pair<bool, ModelStatistics>> all;
  std::vector<LatencyHistogram> latencies;                       // of all's versions, in its order
  std::vector<std::pair<std::string, FeedbackCounts>> learning;  // labels, counts
  std::vector<std::pair<std::string, std::shared_ptr<VersionStats>>> checked;  // labels, counts
  std::vector<std::pair<std::string, std::shared_ptr<VersionStats>>> scored;   // likewise
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, versions] : models_) {
      for (const auto& [version, v] : versions) {
        all.emplace_back(v->served.model && v->served.model->ready(),
                         v->stats->snapshot(v->batcher ? v->batcher->pending() : 0));
        latencies.push_back(v->stats->latencyCopy());
        const std::string labels =
            "model=\"" + labelValue(name) + "\",version=\"" + labelValue(version) + "\"";
        if (v->served.model && v->served.model->onlineLearning() != nullptr) {
          learning.emplace_back(labels, v->stats->feedbackCounts());
        }
        if (v->scorer) {
          scored.emplace_back(labels, v->stats);
        }
        if (v->check) {
          checked.emplace_back(labels, v->stats);
        }
      }
    }
  }
  std::string out;
  auto family = [&](const char* metric, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + metric + " " + help + "\n# TYPE " + metric + " " + type + "\n";
    for (const auto& [ready, s] : all) {
      std::string labels =
          "model=\"" + labelValue(s.name) + "\",version=\"" + labelValue(s.version) + "\"";
      value(out, metric, labels, ready, s);
    }
  };
  auto line = [](std::string& o, const char* metric, const std::string& labels,
                 const std::string& v) {
    o += std::string(metric) + "{" + labels + "} " + v + "\n";
  };
  family("aimass_model_ready", "gauge", "1 when the model version can answer, else 0.",
         [&](std::string& o, const char* m, const std::string& l, bool ready,
             const ModelStatistics&) { line(o, m, l, ready ? "1" : "0"); });
  family("aimass_inference_request_success_total", "counter",
         "Inference requests that succeeded; a request counts once whatever its batch size.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, std::to_string(s.success.count));
         });
  family("aimass_inference_request_failure_total", "counter",
         "Inference requests that failed, by reason: invalid (bad input), rejected (queue "
         "full), timeout (waited too long), unavailable (not ready), backend (predict failed).",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           for (const auto& [reason, count] : s.failures) {
             line(o, m, l + ",reason=\"" + reason + "\"", std::to_string(count));
           }
         });
  family("aimass_inference_count_total", "counter", "Rows inferred; a request of n rows counts n.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, std::to_string(s.inference_count));
         });
  family("aimass_inference_exec_count_total", "counter",
         "Model executions (predict calls); several batched requests count once.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, std::to_string(s.execution_count));
         });
  family("aimass_inference_request_duration_seconds_total", "counter",
         "Cumulative end-to-end time of successful requests inside the runtime.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, formatSeconds(s.success.ns));
         });
  out +=
      "# HELP aimass_inference_request_latency_seconds End-to-end time of successful "
      "requests inside the runtime, in buckets (for percentiles with histogram_quantile).\n"
      "# TYPE aimass_inference_request_latency_seconds histogram\n";
  for (std::size_t i = 0; i < all.size(); ++i) {
    const ModelStatistics& s = all[i].second;
    latencies[i].appendPrometheus(
        out, "aimass_inference_request_latency_seconds",
        "model=\"" + labelValue(s.name) + "\",version=\"" + labelValue(s.version) + "\"");
  }
  family("aimass_inference_queue_duration_seconds_total", "counter",
         "Cumulative time requests waited in the batching queue.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, formatSeconds(s.queue.ns));
         });
  family("aimass_inference_compute_input_duration_seconds_total", "counter",
         "Cumulative time spent assembling batches, per request.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, formatSeconds(s.compute_input.ns));
         });
  family("aimass_inference_compute_infer_duration_seconds_total", "counter",
         "Cumulative time spent in the model's predict, per request.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, formatSeconds(s.compute_infer.ns));
         });
  family("aimass_inference_compute_output_duration_seconds_total", "counter",
         "Cumulative time spent splitting batch outputs, per request.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, formatSeconds(s.compute_output.ns));
         });
  family("aimass_inference_pending_requests", "gauge",
         "Requests waiting in the batching queue, not yet executing.",
         [&](std::string& o, const char* m, const std::string& l, bool, const ModelStatistics& s) {
           line(o, m, l, std::to_string(s.pending));
         });

  auto learning_family = [&](const char* metric, const char* help, auto value) {
    if (learning.empty()) {
      return;
    }
    out += std::string("# HELP ") + metric + " " + help + "\n# TYPE " + metric + " counter\n";
    for (const auto& [labels, counts] : learning) {
      out += std::string(metric) + "{" + labels + "} " + std::to_string(value(counts)) + "\n";
    }
  };
  learning_family("aimass_feedback_request_success_total",
                  "Feedback requests (online learning) that were learned, per version of a model "
                  "that learns online.",
                  [](const FeedbackCounts& c) { return c.success; });
  learning_family("aimass_feedback_request_failure_total",
                  "Feedback requests that were refused (bad observations) or failed.",
                  [](const FeedbackCounts& c) { return c.failure; });
  learning_family("aimass_feedback_rows_total", "Observations learned through feedback.",
                  [](const FeedbackCounts& c) { return c.rows; });
  out += inputValidationMetrics(checked);
  out += outlierMetrics(scored);
  out += "# HELP aimass_sequences_stored Stateful sequences whose state is stored (sequence_id).\n"
         "# TYPE aimass_sequences_stored gauge\n"
         "aimass_sequences_stored " + std::to_string(sequences_->size()) + "\n";
  out += "# HELP aimass_sequence_state_bytes Bytes of the stored sequence states.\n"
         "# TYPE aimass_sequence_state_bytes gauge\n"
         "aimass_sequence_state_bytes " + std::to_string(sequences_->bytes()) + "\n";
  out += "# HELP aimass_sequence_evictions_total Sequence states evicted to stay within "
         "max_sequences or max_sequence_bytes.\n"
         "# TYPE aimass_sequence_evictions_total counter\n"
         "aimass_sequence_evictions_total " + std::to_string(sequences_->evictions()) + "\n";

  out += graphAndTrafficMetrics();
  out += payloadMetrics();

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6f", cpu);
  out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n";
  out += "# TYPE process_cpu_seconds_total counter\n";
  out += std::string("process_cpu_seconds_total ") + buffer + "\n";
  out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
  out += "# TYPE process_resident_memory_bytes gauge\n";
  out += "process_resident_memory_bytes " + std::to_string(residentMemoryBytes()) + "\n";
  std::function<std::string()> extension;
  {
    std::lock_guard lock(settings_mutex_);
    extension = metrics_extension_;
  }
  if (extension) {
    out += extension();
  }
  return out;
}

void ServingRuntime::setMetricsExtension(std::function<std::string()> extension) {
  std::lock_guard lock(settings_mutex_);
  metrics_extension_ = std::move(extension);
}

void ServingRuntime::setBatching(std::string_view model, const BatchingOptions& options) {
  {
    std::lock_guard lock(settings_mutex_);
    if (model.empty()) {
      default_batching_ = options;
    } else {
      batching_[std::string(model)] = options;
    }
  }
  // Give the affected versions a queue with the new settings; the old queue drains with the
  // requests already in it.
  remake(model);
}

void ServingRuntime::setPrecision(std::string_view model, const std::string& precision) {
  {
    std::lock_guard lock(settings_mutex_);
    setModelSetting(model, precision, default_precision_, precision_);
  }
  remake(model);
}

void ServingRuntime::remake(std::string_view model) {
  std::lock_guard serial(load_mutex_);
  std::vector<std::shared_ptr<Version>> affected;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, versions] : models_) {
      if (model.empty() || name == model) {
        for (const auto& [v, state] : versions) {
          affected.push_back(state);
        }
      }
    }
  }
  std::vector<std::shared_ptr<Version>> replaced;
  for (const auto& old : affected) {
    auto fresh = makeVersion(old->served.name, old->served.version, old->model, old->sha256,
                             old->stats, old->feedback, old->profile);
    fresh->type = old->type;
    std::unique_lock lock(mutex_);
    auto versions = models_.find(old->served.name);
    if (versions != models_.end()) {
      auto it = versions->second.find(old->served.version);
      if (it != versions->second.end() && it->second == old) {
        replaced.push_back(std::exchange(it->second, std::move(fresh)));
      }
    }
  }
}

void ServingRuntime::setVersionPolicy(std::string_view model, const VersionPolicy& policy) {
  std::lock_guard lock(settings_mutex_);
  if (model.empty()) {
    default_policy_ = policy;
  } else {
    policies_[std::string(model)] = policy;
  }
}

Status ServingRuntime::setRepository(std::shared_ptr<Storage> storage) {
  std::lock_guard lock(settings_mutex_);
  if (!factory_) {
    return failedPrecondition(
        "this host cannot create models from the registry (no model factory)");
  }
  repository_ = std::move(storage);
  return okStatus();
}

std::shared_ptr<Storage> ServingRuntime::feedbackStorage() const {
  std::lock_guard lock(settings_mutex_);
  return feedback_storage_;
}

Status ServingRuntime::attachFeedback(Version& version, const std::shared_ptr<Storage>& storage) {
  const Model* model = version.served.model.get();
  OnlineLearning* learning = model != nullptr ? model->onlineLearning() : nullptr;
  if (learning == nullptr || !storage || !model->ready()) {
    return okStatus();
  }
  FeedbackState& state = *version.feedback;
  std::lock_guard lock(state.mutex);
  if (state.replayed_from == storage) {
    return okStatus();
  }
  if (state.identity.empty()) {
    if (!version.sha256.empty()) {
      state.identity = version.sha256;
    } else {
      auto identity = savedStateIdentity(*model, version.type);
      if (!identity.ok()) {
        return Status(identity.status().code(), "model '" + version.served.name +
                                                    "': cannot name its trained state for its "
                                                    "feedback records: " +
                                                    identity.status().message());
      }
      state.identity = std::move(identity).value();
    }
  }
  return replayFeedback(version.served.name, *learning, storage, state);
}

Expected<LearnResult> ServingRuntime::learn(std::string_view name, std::string_view version,
                                            const TensorMap& observations) {
  AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<Version> chosen, chooseVersion(name, version));
  auto result = learnOn(*chosen, observations);
  if (chosen->served.model->onlineLearning() != nullptr) {
    chosen->stats->learned(result.ok(), result.ok() ? result->rows : 0);
  }
  return result;
}

Expected<LearnResult> ServingRuntime::learnOn(Version& version, const TensorMap& observations) {
  const std::string& model_name = version.served.name;
  const std::string& number = version.served.version;
  const Model& model = *version.served.model;
  OnlineLearning* learning = model.onlineLearning();
  if (learning == nullptr) {
    return failedPrecondition("model '" + model_name + "' version '" + number +
                              "' does not learn online: feedback needs a model type that learns "
                              "while it is served");
  }
  if (!model.ready()) {
    return unavailable("model '" + model_name + "' version '" + number + "' is not ready");
  }
  ModelSchema expected;
  AIMASS_RETURN_IF_ERROR(guard("observationInputs", [&] {
    expected.inputs = learning->observationInputs();
    return okStatus();
  }));
  std::int64_t rows = 0;
  AIMASS_RETURN_IF_ERROR(validateInputs(model_name, expected, true, observations, rows));
  if (observations.empty() || rows == 0) {
    return invalidArgument("no observations for model '" + model_name + "' (0 rows)");
  }
  const std::shared_ptr<Storage> storage = feedbackStorage();
  AIMASS_RETURN_IF_ERROR(attachFeedback(version, storage));
  std::lock_guard lock(version.feedback->mutex);
  return learnAndPersist(model_name, number, *learning, observations, rows, storage.get(),
                         *version.feedback);
}

Status ServingRuntime::setFeedbackStorage(std::shared_ptr<Storage> storage) {
  std::lock_guard serial(load_mutex_);
  {
    std::lock_guard lock(settings_mutex_);
    feedback_storage_ = storage;
  }
  std::vector<std::shared_ptr<Version>> serving;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, versions] : models_) {
      for (const auto& [number, version] : versions) {
        serving.push_back(version);
      }
    }
  }
  Status first;
  for (const auto& version : serving) {
    Status replayed = attachFeedback(*version, storage);
    if (replayed.ok()) {
      continue;
    }
    // A partly replayed version must not serve: take it out and say why in the index.
    {
      std::unique_lock lock(mutex_);
      auto versions = models_.find(version->served.name);
      if (versions != models_.end()) {
        auto it = versions->second.find(version->served.version);
        if (it != versions->second.end() && it->second == version) {
          versions->second.erase(it);
        }
        if (versions->second.empty()) {
          models_.erase(versions);
        }
      }
    }
    {
      std::lock_guard lock(settings_mutex_);
      load_errors_[version->served.name] = replayed.message();
    }
    if (first.ok()) {
      first = replayed;
    }
  }
  return first;
}

ModelFactory typeRegistryModelFactory(const TypeRegistry& registry, Host& host) {
  // A model to load a saved version into: its parameters at their defaults, checked as a
  // configuration's would be.
  NodeMaker make = defaultNodeMaker(registry, host);
  return [make = std::move(make)](const std::string& type) -> Expected<std::shared_ptr<Model>> {
    AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<Node> node, make(type));
    if (node->kind() != NodeKind::kModel) {
      return invalidArgument("'" + type + "' is not a model type");
    }
    return std::static_pointer_cast<Model>(std::move(node));
  };
}

std::int64_t residentMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) {
    return 0;
  }
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace aimass::core
