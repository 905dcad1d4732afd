// SPDX-License-Identifier: Apache-2.0
#include "traffic_split.h"

#include <chrono>
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "aimass/util/json_writer.h"
#include "prometheus_text.h"
#include "outlier_scoring.h"
#include "param_conversion.h"

namespace aimass::core {
namespace {

using Clock = std::chrono::steady_clock;


std::string number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

bool discrete(DType t) {
  return t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kFloat16 &&
         t != DType::kBFloat16;
}

double element(const Tensor& t, std::int64_t i) {
  return t.dtype() == DType::kFloat64 ? t.data<double>()[i] : t.data<float>()[i];
}

/// The served request parameters without `request_id`, which only chooses the version.
PredictOptions withoutRequestId(const PredictOptions& options) {
  PredictOptions out = options;
  std::erase_if(out.parameters, [](const auto& p) { return p.first == "request_id"; });
  return out;
}

/// The PinnedModel a split hands out: see TrafficRoute::pin().
class SplitPinned final : public PinnedModel {
 public:
  SplitPinned(std::shared_ptr<TrafficRoute> route, std::shared_ptr<PinnedModel> drawn)
      : route_(std::move(route)), pinned_(std::move(drawn)), served_(pinned_->served()) {}

  const ServedModel& served() const override { return served_; }

  Status infer(const TensorMap& inputs, const PredictOptions& options, TensorMap& outputs,
               InferFailure* failure) override {
    AIMASS_RETURN_IF_ERROR(choose(options, failure));
    const PredictOptions forwarded = withoutRequestId(options);
    Status status = pinned_->infer(inputs, forwarded, outputs, failure);
    if (status.ok()) {
      route_->shadow(inputs, forwarded, outputs, served_.version);
    }
    return status;
  }

  Status inferStream(const TensorMap& inputs, const PredictOptions& options,
                     const StreamingPrediction::Emit& emit, InferFailure* failure) override {
    AIMASS_RETURN_IF_ERROR(choose(options, failure));
    return pinned_->inferStream(inputs, withoutRequestId(options), emit, failure);
  }

  void countFailure(InferFailure reason) override { pinned_->countFailure(reason); }

 private:
  Status choose(const PredictOptions& options, InferFailure* failure) {
    if (const std::string* id = options.parameter("request_id")) {
      const std::string& version = route_->split().byKey(*id);
      if (version != served_.version) {
        auto pinned = route_->pinVersion(version);
        if (!pinned.ok()) {
          if (failure != nullptr) {
            *failure = InferFailure::kUnavailable;
          }
          return unavailable(pinned.status().message());
        }
        // The previous version stays pinned (in old_) so that what the caller took from
        // served() before this call stays alive.
        old_ = std::move(pinned_);
        pinned_ = std::move(pinned).value();
        served_ = pinned_->served();
      }
    }
    route_->countRequest(served_.version);
    return okStatus();
  }

  std::shared_ptr<TrafficRoute> route_;
  std::shared_ptr<PinnedModel> pinned_;
  std::shared_ptr<PinnedModel> old_;
  ServedModel served_;
};

}  // namespace

std::vector<ParamSpec> trafficFields() {
  return {
      ParamSpec::list("versions", ParamType::kStringList,
                      "The split: \"VERSION:WEIGHT\" entries, e.g. [\"3:90\", \"4:10\"]; a "
                      "request without a version goes to one drawn by weight.")
          .withExample("[\"3:90\", \"4:10\"]"),
      ParamSpec::string("shadow",
                        "A version that also runs every request served through the split, in "
                        "the background; its answers are compared and recorded, never "
                        "returned (default: none).")
          .optional(),
      ParamSpec::integer("seed",
                         "Seed of the draw for requests without a request_id parameter; 0 "
                         "draws from the system's random source.")
          .range(0, std::int64_t{1} << 62)
          .withDefault(std::int64_t{0}),
      ParamSpec::integer("shadow_queue",
                         "Shadow requests that may wait; one more is dropped and counted.")
          .range(1, 1 << 20)
          .withDefault(std::int64_t{64}),
      ParamSpec::integer("keep",
                         "Recent shadow comparisons kept in memory for GET /v2/shadow/{model}.")
          .range(1, 100000)
          .withDefault(std::int64_t{100}),
  };
}

Expected<TrafficSpec> trafficFromRecord(const std::string& model, const ParamRecord& record) {
  TrafficSpec spec;
  spec.model = model;
  spec.where = placeOf(record);
  const std::string at = placeOf(record, "versions") + ".versions";
  std::set<std::string> seen;
  for (const auto& entry : record.getStringList("versions")) {
    const auto colon = entry.rfind(':');
    std::int64_t weight = 0;
    bool valid = colon != std::string::npos && colon > 0 && colon + 1 < entry.size();
    if (valid) {
      const std::string digits = entry.substr(colon + 1);
      valid = digits.size() <= 9 && digits.find_first_not_of("0123456789") == std::string::npos;
      weight = valid ? std::stoll(digits) : 0;
    }
    if (!valid || weight < 1) {
      return invalidArgument(at + ": '" + entry + "' must be VERSION:WEIGHT with a whole "
                             "weight of 1 or more, e.g. \"3:90\"");
    }
    const std::string version = entry.substr(0, colon);
    if (!seen.insert(version).second) {
      return invalidArgument(at + ": version '" + version + "' is listed twice");
    }
    spec.weights.emplace_back(version, weight);
  }
  if (spec.weights.empty()) {
    return invalidArgument(at + ": list at least one VERSION:WEIGHT");
  }
  if (record.has("shadow")) {
    spec.shadow = record.getString("shadow");
    if (seen.count(spec.shadow) != 0) {
      return invalidArgument(placeOf(record, "shadow") + ".shadow: version '" + spec.shadow +
                             "' is also in the split; a shadow runs besides the served version");
    }
  }
  spec.seed = static_cast<std::uint64_t>(record.getInt("seed"));
  spec.shadow_queue = record.getInt("shadow_queue");
  spec.keep = record.getInt("keep");
  return spec;
}

WeightedSplit::WeightedSplit(std::vector<std::pair<std::string, std::int64_t>> weights,
                             std::uint64_t seed)
    : weights_(std::move(weights)), random_(seed != 0 ? seed : std::random_device{}()) {
  for (const auto& [version, weight] : weights_) {
    total_ += static_cast<std::uint64_t>(weight);
  }
}

const std::string& WeightedSplit::at(std::uint64_t point) const {
  point %= total_;
  for (const auto& [version, weight] : weights_) {
    if (point < static_cast<std::uint64_t>(weight)) {
      return version;
    }
    point -= static_cast<std::uint64_t>(weight);
  }
  return weights_.back().first;
}

const std::string& WeightedSplit::byKey(std::string_view key) const {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : key) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  return at(hash);
}

const std::string& WeightedSplit::draw() {
  std::lock_guard lock(mutex_);
  return at(random_());
}

ShadowComparison compareOutputs(const TensorMap& served, const TensorMap& shadow) {
  ShadowComparison out;
  std::vector<bool> agree;
  double diff = 0;
  std::uint64_t diffs = 0;
  for (const auto& [name, a] : served) {
    const Tensor* b = shadow.find(name);
    // Outlier scores (outlier_scores on) measure the input against each version's own
    // training data, not what the versions predict.
    if (name == kOutlierScoreOutput || b == nullptr || b->dtype() != a.dtype() || b->shape() != a.shape() || a.rank() == 0) {
      continue;
    }
    const std::int64_t rows = a.dim(0);
    out.rows = std::max(out.rows, rows);
    if (discrete(a.dtype())) {
      agree.resize(static_cast<std::size_t>(std::max<std::int64_t>(rows, 0)), true);
      const std::int64_t per_row = rows > 0 ? a.numel() / rows : 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        bool same = true;
        if (a.dtype() == DType::kBytes) {
          for (std::int64_t k = 0; k < per_row; ++k) {
            same = same && a.strings()[r * per_row + k] == b->strings()[r * per_row + k];
          }
        } else {
          const std::size_t row_bytes = a.nbytes() / static_cast<std::size_t>(rows);
          same = std::memcmp(static_cast<const std::byte*>(a.raw()) + r * row_bytes,
                             static_cast<const std::byte*>(b->raw()) + r * row_bytes,
                             row_bytes) == 0;
        }
        agree[r] = agree[r] && same;
      }
    } else if (a.dtype() == DType::kFloat32 || a.dtype() == DType::kFloat64) {
      for (std::int64_t i = 0; i < a.numel(); ++i) {
        diff += std::fabs(element(a, i) - element(*b, i));
        ++diffs;
      }
    }
  }
  if (!agree.empty()) {
    out.agreeing_rows = 0;
    for (bool a : agree) {
      out.agreeing_rows += a ? 1 : 0;
    }
  }
  if (diffs > 0) {
    out.mean_abs_diff = diff / static_cast<double>(diffs);
  }
  return out;
}

TrafficRoute::TrafficRoute(TrafficSpec spec, Pin pin)
    : spec_(std::move(spec)), pin_(std::move(pin)), split_(spec_.weights, spec_.seed) {
  if (!spec_.shadow.empty()) {
    worker_ = std::thread([this] { work(); });
  }
}

TrafficRoute::~TrafficRoute() { stop(); }

void TrafficRoute::stop() {
  std::lock_guard join(join_mutex_);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    dropped_.fetch_add(queue_.size());
    queue_.clear();
  }
  wake_.notify_all();
  idle_.notify_all();
  if (worker_.joinable()) {
    worker_.join();
  }
}

Expected<std::shared_ptr<PinnedModel>> TrafficRoute::pin() {
  AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<PinnedModel> drawn, pin_(split_.draw()));
  return std::shared_ptr<PinnedModel>(
      std::make_shared<SplitPinned>(shared_from_this(), std::move(drawn)));
}

void TrafficRoute::countRequest(const std::string& version) {
  std::lock_guard lock(mutex_);
  ++requests_[version];
}

bool TrafficRoute::shadow(const TensorMap& inputs, const PredictOptions& options,
                          const TensorMap& outputs, const std::string& version) {
  if (spec_.shadow.empty()) {
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    if (stop_ || static_cast<std::int64_t>(queue_.size()) >= spec_.shadow_queue) {
      dropped_.fetch_add(1);
      return false;
    }
    queue_.push_back(Job{inputs, options, outputs, version});
  }
  wake_.notify_one();
  return true;
}

void TrafficRoute::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return stop_ || (queue_.empty() && !busy_); });
}

void TrafficRoute::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) {
      break;
    }
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    ShadowComparison comparison;
    const auto start = Clock::now();
    TensorMap answer;
    auto pinned = pin_(spec_.shadow);
    Status status = pinned.ok() ? (*pinned)->infer(job.inputs, job.options, answer, nullptr)
                                : pinned.status();
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    if (status.ok()) {
      comparison = compareOutputs(job.outputs, answer);
    } else {
      comparison.error = status.message();
    }
    comparison.version = job.version;
    comparison.shadow_version = spec_.shadow;
    comparison.shadow_ns = ns;
    comparison.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    record(std::move(comparison));
    lock.lock();
    busy_ = false;
    if (queue_.empty()) {
      idle_.notify_all();
    }
  }
  busy_ = false;
  idle_.notify_all();
}

void TrafficRoute::record(ShadowComparison comparison) {
  std::lock_guard lock(mutex_);
  if (!comparison.error.empty()) {
    failed_.fetch_add(1);
  } else {
    compared_.fetch_add(1);
    if (comparison.agreeing_rows >= 0) {
      rows_ += static_cast<std::uint64_t>(comparison.rows);
      agreeing_rows_ += static_cast<std::uint64_t>(comparison.agreeing_rows);
    }
    if (comparison.mean_abs_diff >= 0) {
      abs_diff_sum_ += comparison.mean_abs_diff;
      ++diff_count_;
    }
    shadow_ns_ += comparison.shadow_ns;
  }
  recent_.push_back(std::move(comparison));
  while (static_cast<std::int64_t>(recent_.size()) > spec_.keep) {
    recent_.pop_front();
  }
}

std::vector<ShadowComparison> TrafficRoute::recent() const {
  std::lock_guard lock(mutex_);
  return {recent_.begin(), recent_.end()};
}

void TrafficRoute::metrics(std::map<std::string, std::string>& families) const {
  std::lock_guard lock(mutex_);
  const std::string model = "model=\"" + prometheusLabel(spec_.model) + "\"";
  for (const auto& [version, count] : requests_) {
    families["aimass_traffic_requests_total"] += "aimass_traffic_requests_total{" + model +
                                                 ",version=\"" + prometheusLabel(version) +
                                                 "\"} " + std::to_string(count) + "\n";
  }
  if (spec_.shadow.empty()) {
    return;
  }
  const std::string labels =
      "{" + model + ",shadow=\"" + prometheusLabel(spec_.shadow) + "\"} ";
  auto add = [&](const char* family, const char* suffix, const std::string& value) {
    families[family] += std::string(family) + suffix + labels + value + "\n";
  };
  add("aimass_shadow_requests_total", "", std::to_string(compared_.load()));
  add("aimass_shadow_failures_total", "", std::to_string(failed_.load()));
  add("aimass_shadow_dropped_total", "", std::to_string(dropped_.load()));
  add("aimass_shadow_rows_total", "", std::to_string(rows_));
  add("aimass_shadow_agreeing_rows_total", "", std::to_string(agreeing_rows_));
  add("aimass_shadow_abs_diff", "_sum", number(abs_diff_sum_));
  add("aimass_shadow_abs_diff", "_count", std::to_string(diff_count_));
  add("aimass_shadow_seconds", "_sum", number(static_cast<double>(shadow_ns_) / 1e9));
  add("aimass_shadow_seconds", "_count", std::to_string(compared_.load()));
}

std::string TrafficRoute::recentJson() const {
  std::lock_guard lock(mutex_);
  JsonWriter json;
  json.beginObject().key("model").value(spec_.model);
  json.key("shadow_version").value(spec_.shadow);
  json.key("compared").value(compared_.load());
  json.key("failed").value(failed_.load());
  json.key("dropped").value(dropped_.load());
  json.key("comparisons").beginArray();
  for (const auto& c : recent_) {
    json.beginObject().key("unix_ms").value(c.unix_ms).key("version").value(c.version);
    json.key("shadow_version").value(c.shadow_version).key("rows").value(c.rows);
    if (c.agreeing_rows >= 0) {
      json.key("agreeing_rows").value(c.agreeing_rows);
    }
    if (c.mean_abs_diff >= 0) {
      json.key("mean_abs_diff").value(c.mean_abs_diff);
    }
    json.key("shadow_ns").value(c.shadow_ns);
    if (!c.error.empty()) {
      json.key("error").value(c.error);
    }
    json.endObject();
  }
  json.endArray().endObject();
  return json.str();
}

std::string trafficMetricsText(const std::vector<std::shared_ptr<TrafficRoute>>& routes) {
  static const std::map<std::string, std::pair<const char*, const char*>> kHelp = {
      {"aimass_traffic_requests_total", {"counter", "Requests a traffic split sent, by version."}},
      {"aimass_shadow_requests_total", {"counter", "Shadow requests answered and compared."}},
      {"aimass_shadow_failures_total", {"counter", "Shadow requests that failed."}},
      {"aimass_shadow_dropped_total",
       {"counter", "Shadow requests dropped because the shadow queue was full."}},
      {"aimass_shadow_rows_total", {"counter", "Rows compared on discrete outputs (labels)."}},
      {"aimass_shadow_agreeing_rows_total",
       {"counter", "Rows whose shadow labels equal the served ones."}},
      {"aimass_shadow_abs_diff",
       {"summary", "Per request, the mean absolute difference of float outputs (shadow minus "
                   "served)."}},
      {"aimass_shadow_seconds", {"summary", "Time the shadow version spent answering."}},
  };
  std::map<std::string, std::string> families;
  for (const auto& route : routes) {
    route->metrics(families);
  }
  std::string out;
  for (const auto& [family, samples] : families) {
    auto help = kHelp.find(family);
    if (help != kHelp.end()) {
      out += "# HELP " + family + " " + help->second.second + "\n# TYPE " + family + " " +
             help->second.first + "\n";
    }
    out += samples;
  }
  return out;
}

}  // namespace aimass::core
