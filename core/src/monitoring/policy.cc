// SPDX-License-Identifier: Apache-2.0
#include "monitoring/policy.h"

#include "monitoring/gate.h"

namespace aimass::core {
namespace {

RetrainDecision fire(std::string trigger, std::string reason) {
  return RetrainDecision{true, std::move(trigger), std::move(reason)};
}

}  // namespace

DriftEpisodeEvent driftEpisodeEvent(std::optional<bool> previous, bool drifted) {
  if (drifted) {
    return previous.value_or(false) ? DriftEpisodeEvent::kNone : DriftEpisodeEvent::kStarted;
  }
  return previous.value_or(false) ? DriftEpisodeEvent::kCleared : DriftEpisodeEvent::kNone;
}

RetrainDecision decideRetrain(const RetrainTriggers& triggers, const PolicySignals& signals) {
  if (signals.retrain_running) {
    return {false, "", "a retraining is already queued or running"};
  }
  if (signals.last_retrain_ms > 0 &&
      signals.now_ms - signals.last_retrain_ms < triggers.cooldown_ms) {
    return {false, "", "within the cooldown of the last retraining"};
  }
  if (triggers.on_drift && signals.drift) {
    return fire("drift", "the latest window of served inputs drifted from the training data");
  }
  if (triggers.live_metric_threshold && signals.live_metric &&
      signals.live_rows >= triggers.min_feedback) {
    const double threshold = *triggers.live_metric_threshold, live = *signals.live_metric;
    const bool crossed = signals.lower_is_better ? live > threshold : live < threshold;
    if (crossed) {
      return fire("live_metric", "the live metric " + decisionNumber(live) + " over " +
                                     std::to_string(signals.live_rows) + " labelled requests is " +
                                     (signals.lower_is_better ? "above " : "under ") +
                                     decisionNumber(threshold));
    }
  }
  if (triggers.new_labelled_rows && signals.labelled_rows_since >= *triggers.new_labelled_rows) {
    return fire("new_rows", std::to_string(signals.labelled_rows_since) +
                                " labelled rows arrived since the last retraining (policy: " +
                                std::to_string(*triggers.new_labelled_rows) + ")");
  }
  if (triggers.schedule) {
    auto due = triggers.schedule->nextAfter(signals.schedule_from_ms);
    if (due && *due <= signals.now_ms) {
      return fire("schedule", "the schedule '" + triggers.schedule->text() + "' is due");
    }
  }
  return {false, "", "no trigger holds"};
}

RollbackDecision decideRollback(const RollbackWatch& watch, std::optional<double> baseline,
                                double live_metric, std::uint64_t live_rows,
                                bool lower_is_better) {
  using Verdict = RollbackDecision::Verdict;
  if (watch.rows == 0) {
    return {Verdict::kKeep, "no rollback watch"};
  }
  if (live_rows < watch.rows) {
    return {Verdict::kWatching, std::to_string(live_rows) + " of " + std::to_string(watch.rows) +
                                    " labelled requests seen"};
  }
  if (!baseline) {
    return {Verdict::kKeep, "the old champion had no live metric to compare with"};
  }
  const double worse_by = lower_is_better ? live_metric - *baseline : *baseline - live_metric;
  const std::string compared = "live metric " + decisionNumber(live_metric) + " over " +
                               std::to_string(live_rows) + " labelled requests vs " +
                               decisionNumber(*baseline) + " of the previous champion";
  if (worse_by > watch.tolerance) {
    return {Verdict::kRollBack,
            compared + ": worse by " + decisionNumber(worse_by) + " > tolerance " + decisionNumber(watch.tolerance)};
  }
  return {Verdict::kKeep, compared + ": within tolerance " + decisionNumber(watch.tolerance)};
}

}  // namespace aimass::core
