// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aimass/core/evaluation.h"
#include "aimass/status.h"

/// The gate a challenger model passes before it replaces the champion: both are evaluated on
/// the same held-out rows (job.evaluate's metrics), and the challenger must be better on a named
/// metric by a margin, with no class's recall falling by more than a bound.
namespace aimass::core {

/// What a gate asks.
struct GateSpec {
  /// A metric job.evaluate reports for the task ("accuracy", "macro_f1", "rmse", ...; see
  /// evaluationJson()). Whether higher is better follows from the name (gateLowerIsBetter()).
  std::string metric = "accuracy";
  /// How much better the challenger must be, in the metric's own units (>= 0): for accuracy
  /// 0.01 means one point.
  double margin = 0;
  /// Classification: the most any class's recall may fall from champion to challenger
  /// (0..1); unset: not checked.
  std::optional<double> max_class_regression;
};

/// One class's recall under both models (classification with a class-regression bound).
struct GateClass {
  std::string name;
  double champion_recall = 0;
  double challenger_recall = 0;
  std::uint64_t support = 0;
};

/// The gate's verdict and everything it was decided on.
struct GateReport {
  bool passed = false;
  std::string metric;
  bool lower_is_better = false;
  double champion = 0;    ///< the champion's value of the metric
  double challenger = 0;  ///< the challenger's
  double improvement = 0; ///< how much better the challenger is (negative: worse)
  double margin = 0;
  std::optional<double> max_class_regression;
  std::vector<GateClass> classes;  ///< filled when the class bound is checked
  std::uint64_t rows = 0;          ///< held-out rows both were evaluated on
  /// One line: why it passed or failed ("accuracy 0.912 vs 0.887: +0.025 >= margin 0.01").
  std::string reason;

  /// The report as one JSON object (an event's details): {"passed", "metric",
  /// "lower_is_better", "champion", "challenger", "improvement", "margin",
  /// "max_class_regression", "rows", "classes": [{"name", "champion_recall",
  /// "challenger_recall", "support"}], "reason"}; with `shadow`, also "shadow": its report
  /// (the same fields) on shadow traffic.
  std::string json(const GateReport* shadow = nullptr) const;
};

/// A number in a decision's line of text (a gate's or a policy's reason): four significant
/// digits ("0.1", "0.9125", "1.5e+04"); the JSON details keep every digit.
std::string decisionNumber(double value);

/// Whether a smaller value of `metric` is better (losses and errors: log_loss, rmse, mae, mape,
/// mase, loss, perplexity, bits_per_char, inertia, davies_bouldin, baseline_*).
bool gateLowerIsBetter(const std::string& metric);

/// Checks a spec before any evaluation: kInvalidArgument naming the field (`where` prefixes
/// the message, e.g. "FILE:LINE:COL: policy.gate").
Status validateGateSpec(const GateSpec& spec, const std::string& where);

/// Decides the gate from the two models' reports on the same rows. kInvalidArgument when the
/// reports are of different tasks or rows, or either lacks the metric (naming the metrics it
/// has), or the class bound is asked of a task without classes.
Expected<GateReport> judgeGate(const EvaluationReport& champion,
                               const EvaluationReport& challenger, const GateSpec& spec);

}  // namespace aimass::core
