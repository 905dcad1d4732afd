// SPDX-License-Identifier: Apache-2.0
// What a monitor's update policy does: starts a retraining when a trigger holds, follows its
// job, gates the version it registered against the champion on held-out rows, promotes it (and
// hot-swaps serving) when it passes, and watches a promoted version to roll it back.

#include <algorithm>
#include <filesystem>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/model_events.h"
#include "aimass/core/progress.h"
#include "aimass/core/registry.h"
#include "aimass/core/sha256.h"
#include "aimass/job_service.h"
#include "aimass/util/json_writer.h"
#include "evaluate_job.h"
#include "file_whole.h"
#include "monitoring/monitor_node.h"
#include "monitoring/monitor_state.h"
#include "record_text.h"

namespace aimass::core {
namespace {

std::string versionText(std::int64_t version) { return "version " + std::to_string(version); }

/// The gate's metric when the configuration leaves it to the task.
GateSpec gateFor(GateSpec spec, const EvaluationReport& report) {
  if (spec.metric.empty()) {
    spec.metric = report.regression || report.forecast ? "rmse" : "accuracy";
  }
  return spec;
}

}  // namespace

Status MonitorNode::applyPolicy() {
  MonitorState& s = *state_;
  if (s.watched != 0) {
    return watchNewChampion();
  }
  if (!settings_.retrains) {
    s.drift_pending = false;
    return Status();
  }
  if (s.retrain_job != 0) {
    s.drift_pending = false;  // the retraining in flight answers it
    return followRetraining();
  }
  PolicySignals signals;
  signals.now_ms = record::nowUnixMs();
  signals.last_retrain_ms = s.last_retrain_ms;
  signals.schedule_from_ms = s.last_retrain_ms != 0 ? s.last_retrain_ms : s.started_ms;
  signals.drift = s.drift_pending;
  signals.live_metric = liveMetricOf(s, s.champion);
  signals.live_rows = s.live.count(s.champion) ? s.live.at(s.champion).scores.size() : 0;
  signals.lower_is_better = s.lower_is_better;
  signals.labelled_rows_since = s.labelled_since_retrain;
  const RetrainDecision decision = decideRetrain(settings_.triggers, signals);
  s.drift_pending = false;  // acted on, or held by the cooldown: later windows will tell again
  return decision.retrain ? startRetraining(decision) : Status();
}

Expected<std::string> MonitorNode::writeFeedbackCsv() {
  const MonitorState& s = *state_;
  std::string csv;
  if (s.profile) {
    for (const auto& feature : s.profile->features) {
      csv += feature.name + ",";
    }
  } else {
    return failedPrecondition("the watched version has no training-data profile to name the "
                              "feedback CSV's columns");
  }
  csv += "label\n";
  const std::size_t header = csv.size();
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_->list(labelledRowsPrefix(settings_.model)));
  for (const auto& key : keys) {
    AIMASS_ASSIGN_OR_RETURN(std::string lines, storage_->get(key));
    csv += lines;
  }
  const auto rows = static_cast<std::uint64_t>(
      std::count(csv.begin() + static_cast<std::ptrdiff_t>(header), csv.end(), '\n'));
  // Whole or not at all: a retraining never reads a half-written file.
  const std::filesystem::path& path = settings_.feedback_csv;
  AIMASS_RETURN_IF_ERROR(writeFileWhole(path, csv).withContext("the feedback CSV"));
  NewDatasetVersion version;
  version.type = "dataset.csv";
  version.source = "ground truth joined by the monitor of '" + settings_.model + "' (" +
                   path.string() + ")";
  version.sha256 = Sha256::of(csv);
  version.rows = rows;
  AIMASS_ASSIGN_OR_RETURN(DatasetVersion registered,
                          DatasetRegistry(*storage_).registerVersion(
                              settings_.model + ".feedback", version));
  JsonWriter json;
  json.beginObject().key("path").value(path.string()).key("rows").value(rows);
  json.key("dataset").value(registered.name + "/" + std::to_string(registered.version));
  json.endObject();
  return json.str();
}

Status MonitorNode::startRetraining(const RetrainDecision& decision) {
  MonitorState& s = *state_;
  std::string feedback;
  if (!settings_.feedback_csv.empty()) {
    auto written = writeFeedbackCsv();
    if (!written.ok()) {
      s.last_retrain_ms = record::nowUnixMs();  // held by the cooldown, not retried every cycle
      return recordEvent("retrain_failed", s.champion,
                         "the labelled rows could not be written for the retraining: " +
                             written.status().message(),
                         "");
    }
    feedback = *written;
  }
  JsonWriter details;
  details.beginObject().key("trigger").value(decision.trigger).key("reason").value(decision.reason);
  details.key("champion").value(s.champion);
  if (!feedback.empty()) {
    details.key("feedback").json(feedback);
  }
  details.endObject();
  AIMASS_RETURN_IF_ERROR(recordEvent("trigger", s.champion,
                                     "retraining triggered by " + decision.trigger + ": " +
                                         decision.reason,
                                     details.str()));
  JobSubmitRequest request;
  request.config = settings_.retrain_graph;
  request.config_name = settings_.retrain_graph_name;
  request.queue = settings_.queue;
  request.owner = "monitor:" + settings_.model;
  request.resources.threads = settings_.retrain_threads;
  s.last_retrain_ms = record::nowUnixMs();
  s.labelled_since_retrain = 0;
  auto job = jobs_->submit(request);
  if (!job.ok()) {
    return recordEvent("retrain_failed", s.champion,
                       "the retraining could not be submitted: " + job.status().message(), "");
  }
  s.retrain_job = job->id;
  s.retrain_started_ms = s.last_retrain_ms;
  ++s.retrains;
  JsonWriter job_details;
  job_details.beginObject().key("job").value(job->id).key("queue").value(job->queue).endObject();
  return recordEvent("retrain_job", s.champion,
                     "retraining submitted as job " + std::to_string(job->id) + " to queue '" +
                         job->queue + "'",
                     job_details.str());
}

Status MonitorNode::followRetraining() {
  MonitorState& s = *state_;
  AIMASS_ASSIGN_OR_RETURN(JobInfo job, jobs_->get(s.retrain_job));
  if (job.state == "queued" || job.state == "running") {
    return Status();
  }
  const std::int64_t id = s.retrain_job;
  s.retrain_job = 0;
  if (job.state != "succeeded") {
    return recordEvent("retrain_failed", s.champion,
                       "retraining job " + std::to_string(id) + " " + job.state +
                           (job.reason.empty() ? "" : ": " + job.reason),
                       "");
  }
  // The challenger: the newest version registered since the retraining started.
  ModelRegistry registry(*storage_);
  AIMASS_ASSIGN_OR_RETURN(auto versions, registry.listVersions(settings_.model));
  std::int64_t challenger = 0;
  for (const auto& v : versions) {
    if (v.created_unix_ms >= s.retrain_started_ms && v.version != s.champion) {
      challenger = v.version;
    }
  }
  if (challenger == 0) {
    return recordEvent("retrain_failed", s.champion,
                       "retraining job " + std::to_string(id) +
                           " succeeded but registered no new version of '" + settings_.model +
                           "' (does its graph's job.train have `storage:`?)",
                       "");
  }
  return judgeChallenger(challenger);
}

Expected<EvaluationReport> MonitorNode::evaluateVersion(std::int64_t version,
                                                        std::shared_ptr<const Dataset> data,
                                                        const std::string& data_name) {
  ModelRegistry registry(*storage_);
  AIMASS_ASSIGN_OR_RETURN(ModelVersion record, registry.getVersion(settings_.model, version));
  AIMASS_ASSIGN_OR_RETURN(auto model, factory_(record.node_type));
  AIMASS_RETURN_IF_ERROR(loadModel(*model, record.node_type, *storage_, record.artifact_key));
  EvaluateTargets targets;
  targets.model = model;
  targets.model_name = settings_.model + "/" + std::to_string(version);
  targets.dataset = std::move(data);
  targets.dataset_name = data_name;
  EvaluateJob job("gate", std::move(targets));
  SilentProgress progress;
  AIMASS_RETURN_IF_ERROR(job.run(host_, progress));
  return *job.report();
}

Status MonitorNode::judgeChallenger(std::int64_t challenger) {
  MonitorState& s = *state_;
  ModelRegistry registry(*storage_);
  auto fail = [&](const Status& status) {
    return recordEvent("gate", challenger,
                       "the gate could not judge " + versionText(challenger) + ": " +
                           status.message(),
                       "");
  };
  auto champion_report = evaluateVersion(s.champion, holdout_, "holdout");
  if (!champion_report.ok()) return fail(champion_report.status());
  auto challenger_report = evaluateVersion(challenger, holdout_, "holdout");
  if (!challenger_report.ok()) return fail(challenger_report.status());
  const GateSpec spec = gateFor(settings_.gate, *champion_report);
  auto report = judgeGate(*champion_report, *challenger_report, spec);
  if (!report.ok()) return fail(report.status());
  std::optional<GateReport> shadow;
  if (settings_.shadow_rows > 0) {
    auto judged = judgeOnShadowTraffic(challenger, spec);
    if (!judged.ok()) return fail(judged.status());
    shadow = std::move(*judged);
    report->passed = report->passed && shadow->passed;
    report->reason += "; on shadow traffic: " + shadow->reason;
  }
  AIMASS_RETURN_IF_ERROR(recordEvent(
      "gate", challenger,
      versionText(challenger) + (report->passed ? " passed" : " failed") + " the gate against " +
          versionText(s.champion) + ": " + report->reason,
      report->json(shadow ? &*shadow : nullptr)));
  if (!report->passed) {
    ++s.gate_failures;
    return registry.setTags(settings_.model, challenger, {{"gate", "failed"}}, {}).status();
  }
  const std::int64_t previous = s.champion;
  AIMASS_RETURN_IF_ERROR(
      registry.setTags(settings_.model, challenger, {{"gate", "passed"}}, {}).status());
  AIMASS_RETURN_IF_ERROR(registry.promote(settings_.model, settings_.alias, challenger).status());
  s.expected_champion = challenger;
  ++s.promotions;
  s.watched = settings_.watch.rows > 0 ? challenger : 0;
  s.previous_champion = previous;
  s.baseline = liveMetricOf(s, previous);
  AIMASS_RETURN_IF_ERROR(recordEvent("promotion", challenger,
                                     versionText(challenger) + " promoted to '" +
                                         settings_.alias + "', replacing " +
                                         versionText(previous),
                                     ""));
  return hotSwap(versionText(challenger) + " promoted");
}

Status MonitorNode::watchNewChampion() {
  MonitorState& s = *state_;
  const std::int64_t watched = s.watched;
  const auto live = liveMetricOf(s, watched);
  const std::uint64_t rows = s.live.count(watched) ? s.live.at(watched).labelled : 0;
  const RollbackDecision decision = decideRollback(settings_.watch, s.baseline, live.value_or(0),
                                                   live ? rows : 0, s.lower_is_better);
  using Verdict = RollbackDecision::Verdict;
  if (decision.verdict == Verdict::kWatching) {
    return Status();
  }
  s.watched = 0;
  if (decision.verdict == Verdict::kKeep) {
    return recordEvent("watch_passed", watched, versionText(watched) + " kept: " + decision.reason,
                       "");
  }
  ModelRegistry registry(*storage_);
  auto moved = registry.rollback(settings_.model, settings_.alias);
  if (!moved.ok()) {
    return recordEvent("rollback_failed", watched,
                       "rolling " + versionText(watched) + " back failed: " +
                           moved.status().message(),
                       "");
  }
  s.expected_champion = moved->version;
  ++s.rollbacks;
  AIMASS_RETURN_IF_ERROR(registry.setTags(settings_.model, watched, {{"rolled_back", "true"}}, {})
                             .status());
  AIMASS_RETURN_IF_ERROR(recordEvent("rollback", moved->version,
                                     versionText(watched) + " rolled back to " +
                                         versionText(moved->version) + ": " + decision.reason,
                                     ""));
  return hotSwap(versionText(watched) + " rolled back");
}

Status MonitorNode::hotSwap(const std::string& why) {
  if (serving_ == nullptr) {
    return Status();
  }
  bool served = false;
  for (const auto& m : serving_->list()) {
    served = served || (m.name == settings_.model && m.from_repository);
  }
  if (!served) {
    return Status();
  }
  Status loaded = serving_->load(settings_.model + "@" + settings_.alias);
  if (!loaded.ok()) {
    return loaded.withContext("serving could not load " + settings_.model + "@" +
                              settings_.alias + " after " + why);
  }
  host_.log(LogLevel::kInfo, settings_.model,
            "monitor: serving now answers with " + settings_.model + "@" + settings_.alias +
                " (" + why + ")");
  return Status();
}

}  // namespace aimass::core
