// SPDX-License-Identifier: Apache-2.0
// The monitor's life: its loop, its ground-truth route (outcomes and new labelled rows), its
// metrics and its events. What one cycle reads is in monitor_cycle.cc, what its policy does in
// monitor_policy.cc, the gate's shadow traffic in monitor_shadow.cc.
#include "monitoring/monitor_node.h"

#include <chrono>
#include <exception>

#include "aimass/core/model_events.h"
#include "aimass/util/http_text.h"
#include "aimass/util/json_writer.h"
#include "monitoring/ground_truth.h"
#include "monitoring/monitor_state.h"
#include "record_text.h"
#include "prometheus_text.h"

namespace aimass::core {
MonitorNode::MonitorNode(MonitorSettings settings, std::shared_ptr<Storage> storage,
                         std::shared_ptr<JobService> jobs, std::shared_ptr<const Dataset> holdout,
                         ModelFactory factory, Host& host)
    : settings_(std::move(settings)),
      storage_(std::move(storage)),
      jobs_(std::move(jobs)),
      holdout_(std::move(holdout)),
      factory_(std::move(factory)),
      host_(host),
      state_(std::make_unique<MonitorState>()) {
  state_->started_ms = record::nowUnixMs();
  addGroundTruthRoute();
}

MonitorNode::~MonitorNode() { stop(); }

Status MonitorNode::start(ServingRuntime* serving) {
  serving_ = serving;
  // A failing cycle (the store down, a record unreadable) is logged once per distinct error
  // and retried next interval; the monitor never stops on its own.
  loop_.start(host_,
              {std::chrono::milliseconds(settings_.interval_ms), settings_.model, "monitor: ",
               kMonitorNice},
              [this] { return cycle(); });
  return Status();
}

void MonitorNode::stop() { loop_.stop(); }

Status MonitorNode::runOnce() { return cycle(); }

Status MonitorNode::cycle() {
  std::lock_guard lock(mutex_);
  if (!recalled_) {
    AIMASS_RETURN_IF_ERROR(recallMemory());
    recalled_ = true;
  }
  Status followed = followAlias();
  {
    std::lock_guard profile_lock(profile_mutex_);
    watched_profile_ = state_->profile;
  }
  AIMASS_RETURN_IF_ERROR(followed);
  AIMASS_RETURN_IF_ERROR(readLoggedRequests());  // tests each window as it fills
  AIMASS_RETURN_IF_ERROR(readOutcomes());
  Status applied = applyPolicy();
  Status remembered = rememberState();
  refreshSnapshot();
  return applied.ok() ? remembered : applied;
}

void MonitorNode::addGroundTruthRoute() {
  Route route;
  route.method = "POST";
  route.pattern = "/v2/models/" + settings_.model + "/ground_truth";
  route.summary = "Ground truth of earlier requests of model '" + settings_.model +
                  "', by request id, and new labelled rows: {\"ground_truth\": [{\"id\", "
                  "\"label\"|\"value\"}], \"rows\": [{\"input\"|\"features\", "
                  "\"label\"|\"value\"}]}";
  route.role = Role::kOperator;
  route.handler = [this](const HttpRequest& request, HttpResponse& response) {
    takeFeedback(request, response);
  };
  Status added = host_.routes().add(std::move(route));
  if (!added.ok()) {
    host_.log(LogLevel::kError, settings_.model,
              "monitor: the ground-truth route could not be added: " + added.message());
  }
}

std::shared_ptr<const DataProfile> MonitorNode::profileForRows(std::string& note) {
  {
    std::lock_guard lock(profile_mutex_);
    if (watched_profile_) return watched_profile_;
  }
  auto watched = aliasTarget();
  if (!watched.ok()) {
    note = watched.status().message();
    return nullptr;
  }
  if (!*watched) {
    note = "there is none yet";
    return nullptr;
  }
  return profileOf(*storage_, **watched, note);
}

void MonitorNode::takeFeedback(const HttpRequest& request, HttpResponse& response) {
  auto post = parseFeedbackBody(request.body);
  if (!post.ok()) {
    return jsonError(response, 400, post.status().message());
  }
  // Everything is checked before anything is stored: a post is taken whole or not at all.
  std::string rows_csv;
  if (!post->rows.empty()) {
    if (settings_.feedback_csv.empty()) {
      return jsonError(response, 409,
                       "the monitor of model '" + settings_.model + "' keeps no labelled rows "
                       "(its feedback_csv is not set), so \"rows\" would be lost");
    }
    std::string note;
    auto profile = profileForRows(note);
    if (!profile) {
      return jsonError(response, 409,
                       "the features of \"rows\" cannot be named: the watched version of "
                       "model '" + settings_.model + "': " + note);
    }
    auto csv = labelledRowsCsv(post->rows, *profile);
    if (!csv.ok()) {
      return jsonError(response, 400, csv.status().message());
    }
    rows_csv = std::move(*csv);
  }
  const std::size_t outcomes = post->outcomes.size();
  if (outcomes > 0) {
    auto key = appendGroundTruth(*storage_, settings_.model, std::move(post->outcomes));
    if (!key.ok()) {
      return jsonError(response, httpStatusFor(key.status()), key.status().message());
    }
  }
  if (!rows_csv.empty()) {
    Status stored = storage_->put(postedRowsKey(settings_.model), rows_csv);
    if (!stored.ok()) {
      return jsonError(response, httpStatusFor(stored),
                       (outcomes > 0 ? "the outcomes were stored but the rows were not: "
                                     : "the rows were not stored: ") +
                           stored.message());
    }
    posted_rows_ += post->rows.size();
  }
  JsonWriter json;
  json.beginObject().key("model").value(settings_.model);
  json.key("accepted").value(static_cast<std::uint64_t>(outcomes));
  json.key("rows").value(static_cast<std::uint64_t>(post->rows.size())).endObject();
  response.body = json.str();
}

Status MonitorNode::recordEvent(const std::string& kind, std::int64_t version,
                                const std::string& message, const std::string& details) {
  ModelEvent event;
  event.model = settings_.model;
  event.kind = kind;
  event.version = version;
  event.actor = "monitor";
  event.message = message;
  event.details = details.empty() ? "{}" : details;
  auto appended = appendModelEvent(*storage_, std::move(event));
  refreshSnapshot();  // a decision's counters are on /metrics before what it does is seen
  host_.log(LogLevel::kInfo, settings_.model, kind + ": " + message);
  return appended.status();
}

namespace {

/// The monitor's metric families: name, type, help. Every monitor of a graph writes its samples
/// under the same families (monitorsPrometheusMetrics()).
struct MetricFamily {
  const char* name;
  const char* type;
  const char* help;
};
constexpr MetricFamily kFamilies[] = {
    {"aimass_monitor_champion_version", "gauge", "The version the monitored alias points at."},
    {"aimass_monitor_log_lag_seconds", "gauge",
     "How far behind the payload log the monitor's last cycle stopped; 0: it read all of it."},
    {"aimass_drift_windows_total", "counter", "Drift windows tested."},
    {"aimass_drift_windows_drifted_total", "counter", "Drift windows that drifted."},
    {"aimass_drift_window_drifted", "gauge", "1 when the last window drifted."},
    {"aimass_drift_feature_statistic", "gauge",
     "The last window's test statistic per feature (D, W1/std, PSI, chi2 or JS distance)."},
    {"aimass_drift_feature_p_value", "gauge",
     "The last window's adjusted p-value per feature (ks and chi2; 1 for distance tests)."},
    {"aimass_prediction_drift_windows_total", "counter",
     "Windows of answers tested against the version's first window."},
    {"aimass_prediction_drift_windows_drifted_total", "counter",
     "Windows of answers that drifted from the version's first window."},
    {"aimass_live_metric", "gauge",
     "Live accuracy (or RMSE) per version over the last feedback_window labelled rows."},
    {"aimass_live_labelled_rows_total", "counter", "Labelled rows joined per version."},
    {"aimass_ground_truth_unmatched_total", "counter",
     "Ground truth whose request was not logged (or is no longer remembered)."},
    {"aimass_labelled_rows_posted_total", "counter",
     "Labelled rows posted without a request (\"rows\" of the ground-truth route)."},
    {"aimass_monitor_decisions_total", "counter",
     "Retrainings started, promotions, gate failures and rollbacks."},
};

}  // namespace

void MonitorNode::collectMetrics(MetricSamples& samples) const {
  // A scrape never waits for a cycle (a gate's evaluation holds mutex_ for seconds): when the
  // state is free it is read now, else the snapshot the loop left serves.
  if (std::unique_lock lock(mutex_, std::try_to_lock); lock.owns_lock()) {
    refreshSnapshot();
  }
  std::lock_guard lock(snapshot_mutex_);
  for (const auto& [family, lines] : snapshot_) {
    auto& into = samples[family];
    into.insert(into.end(), lines.begin(), lines.end());
  }
}

void MonitorNode::refreshSnapshot() const {
  MetricSamples fresh = samplesOfState();
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(fresh);
}

MetricSamples MonitorNode::samplesOfState() const {
  MetricSamples samples;
  const MonitorState& s = *state_;
  const std::string model = "model=\"" + prometheusLabel(settings_.model) + "\"";
  auto add = [&samples](const char* name, const std::string& labels, double value) {
    samples[name].push_back(std::string(name) + "{" + labels + "} " + JsonWriter::number(value));
  };
  add("aimass_monitor_champion_version", model, static_cast<double>(s.champion));
  add("aimass_monitor_log_lag_seconds", model, static_cast<double>(s.log_lag_ns) / 1e9);
  add("aimass_drift_windows_total", model, static_cast<double>(s.windows_tested));
  add("aimass_drift_windows_drifted_total", model, static_cast<double>(s.windows_drifted));
  if (s.last_window) {
    add("aimass_drift_window_drifted", model, s.last_window->drifted ? 1 : 0);
    for (const auto& f : s.last_window->features) {
      const std::string labels = model + ",feature=\"" + prometheusLabel(f.feature) +
                                 "\",test=\"" + f.test + "\"";
      add("aimass_drift_feature_statistic", labels, f.statistic);
      add("aimass_drift_feature_p_value", labels, f.adjusted_p_value);
    }
  }
  for (const auto& [version, live] : s.live) {
    if (live.scores.empty()) continue;
    const std::string labels = model + ",version=\"" + std::to_string(version) + "\"";
    add("aimass_live_metric", labels + ",metric=\"" + liveMetricName(s) + "\"",
        liveMetricOf(s, version).value_or(0));
    add("aimass_live_labelled_rows_total", labels, static_cast<double>(live.labelled));
  }
  add("aimass_prediction_drift_windows_total", model,
      static_cast<double>(s.prediction_windows_tested));
  add("aimass_prediction_drift_windows_drifted_total", model,
      static_cast<double>(s.prediction_windows_drifted));
  add("aimass_ground_truth_unmatched_total", model, static_cast<double>(s.truth_unmatched));
  add("aimass_labelled_rows_posted_total", model, static_cast<double>(s.rows_posted));
  add("aimass_monitor_decisions_total", model + ",decision=\"retrain\"",
      static_cast<double>(s.retrains));
  add("aimass_monitor_decisions_total", model + ",decision=\"promotion\"",
      static_cast<double>(s.promotions));
  add("aimass_monitor_decisions_total", model + ",decision=\"gate_failed\"",
      static_cast<double>(s.gate_failures));
  add("aimass_monitor_decisions_total", model + ",decision=\"rollback\"",
      static_cast<double>(s.rollbacks));
  return samples;
}

std::string monitorsPrometheusMetrics(const std::vector<const MonitorNode*>& monitors) {
  MetricSamples samples;
  for (const MonitorNode* monitor : monitors) {
    monitor->collectMetrics(samples);
  }
  std::string out;
  for (const MetricFamily& family : kFamilies) {
    auto it = samples.find(family.name);
    if (it == samples.end()) continue;
    out += std::string("# HELP ") + family.name + " " + family.help + "\n# TYPE " + family.name +
           " " + family.type + "\n";
    for (const auto& line : it->second) {
      out += line;
      out += '\n';
    }
  }
  return out;
}

}  // namespace aimass::core
