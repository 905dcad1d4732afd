// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aimass/status.h"
#include "jobs/cron.h"

/// The decisions of an automatic update policy, apart from the I/O that feeds them: when to
/// retrain a model, and when a newly promoted champion is to be rolled back. The monitor node
/// gathers the signals (drift verdicts, live metrics from feedback, labelled rows, the clock)
/// and acts on what these functions decide; keeping them pure makes every rule testable.
namespace aimass::core {

/// When to retrain. Any trigger set fires a retraining; none set: the policy never retrains.
struct RetrainTriggers {
  bool on_drift = false;  ///< a monitored window was flagged as drifted
  std::optional<jobs::CronExpression> schedule;  ///< at these times (UTC)
  /// The live metric from feedback crossed this: under it for a higher-is-better metric
  /// (accuracy), over it for a lower-is-better one (rmse).
  std::optional<double> live_metric_threshold;
  std::optional<std::uint64_t> new_labelled_rows;  ///< this many labelled rows since the last
  std::int64_t cooldown_ms = 3600 * 1000;  ///< the least time between two retrainings
  /// Labelled requests a live metric needs before it may trigger (or judge a rollback).
  std::uint64_t min_feedback = 100;
};

/// What the monitor knows when it asks.
struct PolicySignals {
  std::int64_t now_ms = 0;
  /// When the last retraining was started (0: never).
  std::int64_t last_retrain_ms = 0;
  /// The schedule fires at its first time after this: the last retraining's start, or when
  /// the monitor began watching the model.
  std::int64_t schedule_from_ms = 0;
  bool retrain_running = false;  ///< a retraining job of this model is queued or running
  bool drift = false;            ///< the latest window was flagged
  std::optional<double> live_metric;  ///< over the latest feedback window
  std::uint64_t live_rows = 0;        ///< labelled requests behind live_metric
  bool lower_is_better = false;       ///< of the live metric
  std::uint64_t labelled_rows_since = 0;  ///< labelled rows since the last retraining
};

/// What decideRetrain() decided, and why (for the event it becomes).
struct RetrainDecision {
  bool retrain = false;
  std::string trigger;  ///< "drift", "schedule", "live_metric", "new_rows"; empty: none
  std::string reason;   ///< one line
};

/// Whether to retrain now. Never while a retraining runs or within the cooldown of the last
/// one; otherwise the first trigger that holds, in the order drift, live metric, new rows,
/// schedule.
RetrainDecision decideRetrain(const RetrainTriggers& triggers, const PolicySignals& signals);

/// What a drift window's verdict adds to the model's history. Drift is recorded by episode,
/// not by window: an event when the watched version's inputs start drifting and one when they
/// stop; every window's result is kept in the window records and on /metrics.
enum class DriftEpisodeEvent {
  kNone,     ///< the verdict is the window before's
  kStarted,  ///< a "drift" event: the first window drifted, or one after a window that did not
  kCleared,  ///< a "drift_cleared" event: a window that did not drift after ones that did
};

/// The event of a window that `drifted`, after a window whose verdict was `previous` (of the
/// same watched version; nullopt for the version's first window, which starts an episode
/// when it drifts and records nothing when it does not).
DriftEpisodeEvent driftEpisodeEvent(std::optional<bool> previous, bool drifted);

/// How a new champion is watched after its promotion.
struct RollbackWatch {
  /// Labelled requests the new champion is judged on; 0: no watch, never rolled back.
  std::uint64_t rows = 0;
  /// How much worse than the old champion's live metric the new one's may be before it is
  /// rolled back (in the metric's units, >= 0).
  double tolerance = 0;
};

/// What decideRollback() decided.
struct RollbackDecision {
  enum class Verdict { kWatching, kKeep, kRollBack };
  Verdict verdict = Verdict::kWatching;
  std::string reason;
};

/// Judges a new champion once it has `rows` labelled requests (kWatching before): rolled back
/// when its live metric is worse than `baseline` (the old champion's, measured before the
/// promotion) by more than the tolerance, kept otherwise. Without a baseline it is kept.
RollbackDecision decideRollback(const RollbackWatch& watch, std::optional<double> baseline,
                                double live_metric, std::uint64_t live_rows,
                                bool lower_is_better);

}  // namespace aimass::core
