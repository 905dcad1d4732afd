// SPDX-License-Identifier: Apache-2.0
// A/B splits and shadow versions: requests for a model without a version go to a version drawn
// by weight; each may also run, in the background, on a shadow version whose answers are
// compared with the served ones and recorded, never returned. See docs/pipelines.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aimass/params.h"
#include "aimass/serving.h"
#include "aimass/status.h"

namespace aimass::core {

/// One entry of the `serving.runtime` node's `traffic` map, already checked.
struct TrafficSpec {
  std::string model;
  std::vector<std::pair<std::string, std::int64_t>> weights;  ///< version -> weight (> 0)
  std::string shadow;              ///< the shadow version; empty: none
  std::uint64_t seed = 0;          ///< of the draw for requests without request_id; 0: random
  std::int64_t shadow_queue = 64;  ///< shadow requests that may wait; more are dropped
  std::int64_t keep = 100;         ///< recent comparisons kept for GET /v2/shadow/{model}
  std::string where;               ///< "FILE:LINE:COL: traffic.iris" for errors
};

/// The fields of a `traffic` record: versions, shadow, seed, shadow_queue, keep.
std::vector<ParamSpec> trafficFields();

/// The split of `model` from its record. kInvalidArgument naming the record's place for a
/// malformed "VERSION:WEIGHT" entry, a repeated version or a shadow that is also split.
Expected<TrafficSpec> trafficFromRecord(const std::string& model, const ParamRecord& record);

/// A weighted choice among versions: by a key's hash (FNV-1a, 64 bits), so that one key always
/// gets one version, or by a seeded draw. Threading: draw() locks; the rest is const.
class WeightedSplit {
 public:
  WeightedSplit(std::vector<std::pair<std::string, std::int64_t>> weights, std::uint64_t seed);
  /// The version whose share of [0, total weight) holds `point` modulo the total.
  const std::string& at(std::uint64_t point) const;
  const std::string& byKey(std::string_view key) const;
  const std::string& draw();

 private:
  std::vector<std::pair<std::string, std::int64_t>> weights_;
  std::uint64_t total_ = 0;
  std::mutex mutex_;
  std::mt19937_64 random_;
};

/// How a shadow's answer compared with the served one. Discrete outputs (integer, bool or
/// BYTES: labels, classes, clusters) count rows whose values all agree; float outputs add the
/// mean absolute difference over their elements.
struct ShadowComparison {
  std::int64_t unix_ms = 0;
  std::string version;         ///< the version that answered the client
  std::string shadow_version;
  std::int64_t rows = 0;
  std::int64_t agreeing_rows = -1;    ///< -1: no discrete output to compare
  double mean_abs_diff = -1;          ///< -1: no float output to compare
  std::uint64_t shadow_ns = 0;        ///< the shadow's own inference time
  std::string error;                  ///< why the shadow failed; empty when it answered
};

/// Compares the outputs both answers hold (same name, dtype and shape).
ShadowComparison compareOutputs(const TensorMap& served, const TensorMap& shadow);

/// The split and shadow of one model. Owns the shadow worker thread, joined on destruction
/// after the queued shadow requests were dropped.
///
/// Threading: every method is safe from many threads at once.
class TrafficRoute : public std::enable_shared_from_this<TrafficRoute> {
 public:
  using Pin = std::function<Expected<std::shared_ptr<PinnedModel>>(std::string_view version)>;
  TrafficRoute(TrafficSpec spec, Pin pin);
  ~TrafficRoute();
  TrafficRoute(const TrafficRoute&) = delete;
  TrafficRoute& operator=(const TrafficRoute&) = delete;

  const TrafficSpec& spec() const noexcept { return spec_; }
  /// A PinnedModel of a drawn version that, given a request parameter `request_id`, moves to
  /// the version of that id's hash (and drops the parameter), counts the request per version
  /// and hands successful requests to the shadow.
  Expected<std::shared_ptr<PinnedModel>> pin();
  /// Version `version` itself, outside the split.
  Expected<std::shared_ptr<PinnedModel>> pinVersion(std::string_view version) {
    return pin_(version);
  }
  WeightedSplit& split() noexcept { return split_; }

  void countRequest(const std::string& version);
  /// Queues a shadow run; false (and counted as dropped) when the queue is full or there is no
  /// shadow.
  bool shadow(const TensorMap& inputs, const PredictOptions& options, const TensorMap& outputs,
              const std::string& version);
  /// Waits until the shadow queue is empty and no shadow request runs (tests, shutdown).
  void drain();
  /// Drops the queued shadow requests and joins the worker once the one it runs finished;
  /// later shadow requests are dropped. The runtime calls it before it lets go of the route, so
  /// that no shadow request reaches the runtime after that. Idempotent; not from the worker.
  void stop();

  /// Prometheus samples (no HELP/TYPE lines) by family name (a summary's _sum and _count
  /// under its base name).
  void metrics(std::map<std::string, std::string>& families) const;
  /// {"model", "shadow_version", "requests", "dropped", "failed", "compared", "comparisons":
  /// [newest last]} as JSON.
  std::string recentJson() const;
  std::uint64_t dropped() const noexcept { return dropped_.load(); }
  std::uint64_t compared() const noexcept { return compared_.load(); }
  std::vector<ShadowComparison> recent() const;

 private:
  struct Job {
    TensorMap inputs;
    PredictOptions options;
    TensorMap outputs;
    std::string version;
  };
  void work();
  void record(ShadowComparison comparison);

  TrafficSpec spec_;
  Pin pin_;
  WeightedSplit split_;

  mutable std::mutex mutex_;  // everything below
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Job> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::map<std::string, std::uint64_t> requests_;  // by version
  std::deque<ShadowComparison> recent_;
  std::uint64_t rows_ = 0;
  std::uint64_t agreeing_rows_ = 0;
  double abs_diff_sum_ = 0;
  std::uint64_t diff_count_ = 0;
  std::uint64_t shadow_ns_ = 0;

  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> compared_{0};
  std::thread worker_;
  std::mutex join_mutex_;  // serialises stop()
};

/// The Prometheus text of every route's families, with HELP and TYPE lines.
std::string trafficMetricsText(const std::vector<std::shared_ptr<TrafficRoute>>& routes);

}  // namespace aimass::core
