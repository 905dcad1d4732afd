// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "data_profile.h"
#include "monitoring/drift_report_cli.h"
#include "monitoring/drift_tests.h"
#include "monitoring/ground_truth.h"
#include "monitoring/payload_view.h"

/// What a monitor (monitor_node.h) remembers between cycles. Owned by the node, used by its
/// loop; readers of metrics take the node's mutex.
namespace aimass::core {

/// What a logged request was answered, kept to join with its ground truth.
struct LoggedAnswer {
  std::int64_t version = 0;
  std::vector<std::string> labels;  ///< classification: class names ("class") or indices
  bool labels_are_indices = false;  ///< from the "label" output (INT64)
  std::vector<double> values;       ///< regression: "prediction", row-major
  /// With feedback_csv: the request's rows as CSV fields (the features, in the profile's
  /// order), to become labelled rows once their ground truth comes.
  std::vector<std::string> rows_csv;
};

/// A served row that got ground truth, kept for the gate's shadow traffic: its number
/// features as the request held them and the outcome posted (a class name or index, or a
/// value).
struct ShadowRow {
  std::vector<float> features;
  std::string label;  ///< classification
  double value = 0;   ///< regression
};

/// Live metric of one version: per-row scores (1/0 correct, or squared error) of the last
/// feedback_window labelled rows.
struct LiveWindow {
  std::deque<double> scores;
  double sum = 0;
  std::uint64_t labelled = 0;  ///< every labelled row ever joined for this version
};

struct MonitorState {
  // --- the version watched
  std::int64_t champion = 0;  ///< the alias's target; 0: none yet
  std::shared_ptr<const DataProfile> profile;
  std::string profile_note;  ///< why the version is not drift-tested, when it is not
  // --- drift
  std::int64_t payload_from_ns = 0;  ///< read logged entries from this time on
  PayloadViews logged;               ///< the last read of the payload log (its buffers are reused)
  /// How far behind the payload log the last cycle stopped (0: it read everything logged).
  std::int64_t log_lag_ns = 0;
  FloatDriftWindow window;      ///< the requests' float inputs as they came (less window_block)
  std::size_t window_rows = 0;  ///< rows in the window, window_block's included
  WindowSpan window_span;  ///< the logged requests the window holds
  /// Logged rows on their way into the window's columns, row by row (moveBlockIntoWindow()).
  std::vector<float> window_block;
  std::size_t window_block_rows = 0;
  std::uint64_t windows_tested = 0;
  std::uint64_t windows_drifted = 0;
  /// Window records in the store as far as this monitor knows (a listing's count plus those
  /// written since); nullopt until the first listing.
  std::optional<std::size_t> window_records;
  std::optional<WindowDrift> last_window;
  bool drift_pending = false;  ///< a drifted window not yet acted on by the policy
  /// The verdict of the watched version's last window (nullopt before its first), and how
  /// many windows in a row have drifted: a drift episode's events (driftEpisodeEvent()).
  std::optional<bool> last_verdict;
  std::uint64_t episode_windows = 0;
  // --- prediction drift (monitor_predictions.cc)
  DriftWindow prediction_window;
  std::size_t prediction_rows = 0;
  std::optional<DataProfile> prediction_reference;  ///< the version's first full window
  std::uint64_t prediction_windows_tested = 0;
  std::uint64_t prediction_windows_drifted = 0;
  // --- feedback
  std::unordered_map<std::string, LoggedAnswer> answers;
  std::deque<std::string> answer_order;  ///< ids in arrival order, to bound `answers`
  std::string truth_cursor;
  std::uint64_t truth_unmatched = 0;  ///< outcomes whose request was not (or no longer) logged
  std::uint64_t truth_mismatched = 0; ///< outcomes whose row count differed from the answer's
  std::map<std::int64_t, LiveWindow> live;
  bool lower_is_better = false;  ///< rmse (regression) rather than accuracy
  std::uint64_t labelled_since_retrain = 0;
  std::uint64_t rows_posted = 0;  ///< labelled rows posted without a request (this run)
  /// Labelled rows joined but not yet stored, CSV lines (feedback_csv): kept when the write
  /// fails, so the next cycle stores them (the ground-truth cursor has moved past them).
  std::string labelled_csv;
  std::deque<ShadowRow> shadow;  ///< the last gate_shadow_rows of them (monitor_shadow.cc)
  // --- the update policy
  std::int64_t started_ms = 0;
  std::int64_t last_retrain_ms = 0;
  std::int64_t retrain_job = 0;        ///< the job running a retraining; 0: none
  std::int64_t retrain_started_ms = 0;
  std::uint64_t retrains = 0;
  std::uint64_t promotions = 0;
  std::uint64_t gate_failures = 0;
  std::uint64_t rollbacks = 0;
  // --- the watch of a promoted version
  /// The alias target the monitor itself set last (a promotion or a rollback): a move to any
  /// other version was made by someone else, and is watched like a promotion.
  std::int64_t expected_champion = 0;
  std::int64_t watched = 0;  ///< the promoted version under watch; 0: none
  std::int64_t previous_champion = 0;
  std::optional<double> baseline;  ///< the previous champion's live metric at promotion
};

/// The live metric's name: "rmse" for predicted values, "accuracy" for classes.
inline const char* liveMetricName(const MonitorState& state) {
  return state.lower_is_better ? "rmse" : "accuracy";
}

/// Adds an answer's classes or values to the prediction drift window.
void addPredictions(MonitorState& state, const LoggedAnswer& answer);

/// Keeps the joined rows of one outcome for shadow traffic (the last `limit` rows): their
/// number features read back from the answer's CSV fields. Rows with a category feature, or
/// whose fields do not read as numbers, are not kept.
void keepShadowRows(MonitorState& state, const LoggedAnswer& answer, const GroundTruth& truth,
                    std::size_t limit);

/// Most logged answers remembered for the ground-truth join.
inline constexpr std::size_t kMaxRememberedAnswers = 200000;

}  // namespace aimass::core
