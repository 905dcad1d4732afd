// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

/// Precision, recall and F1 of one class, with its support (rows whose true class it is).
struct ClassScores {
  std::string name;
  double precision = 0;  ///< 0 when the class was never predicted (scikit-learn's zero_division)
  double recall = 0;     ///< 0 when the class never occurs
  double f1 = 0;         ///< 0 when precision + recall is 0
  std::uint64_t support = 0;
};

/// Classification metrics over every row seen, defined as scikit-learn defines them.
struct ClassificationReport {
  std::uint64_t rows = 0;
  double accuracy = 0;
  std::vector<ClassScores> classes;  ///< one per class, in class-index order
  double macro_precision = 0;        ///< unweighted means over every class, also absent ones
  double macro_recall = 0;
  double macro_f1 = 0;
  /// confusion[t][p]: rows of true class t predicted as p.
  std::vector<std::vector<std::uint64_t>> confusion;
  /// Mean -log p(true class), probabilities clipped to [1e-15, 1 - 1e-15] and renormalised per
  /// row; absent without probabilities.
  std::optional<double> log_loss;
  /// Area under the ROC curve: of class 1's probability for two classes, else the unweighted
  /// mean of one-vs-rest AUCs. Absent without probabilities or when a class (for two classes:
  /// either class) has no rows, where it is undefined.
  std::optional<double> roc_auc;
};

/// Regression metrics; with several targets each is the unweighted mean of the per-target
/// values (scikit-learn's multioutput="uniform_average").
struct RegressionReport {
  std::uint64_t rows = 0;
  std::int64_t targets = 0;
  double rmse = 0;
  double mae = 0;
  /// 1 - SS_res / SS_tot; for constant true values 1 when predictions are exact, 0 otherwise.
  double r2 = 0;
};

/// Accumulates class predictions batch by batch and computes ClassificationReport.
///
/// Keeps the confusion matrix and, when probabilities are given, every row's probabilities
/// (rows x classes floats), which ROC-AUC needs. Not thread-safe.
class ClassificationMetrics {
 public:
  explicit ClassificationMetrics(std::vector<std::string> class_names);

  /// Adds one batch: true class indices, predicted class indices and optionally the
  /// probabilities, row-major [rows, classes] (empty: none). Either every batch has
  /// probabilities or none does. kInvalidArgument (naming the row within the batch) for a
  /// class index outside [0, classes), mismatched lengths, a non-finite or negative probability,
  /// or a change in whether probabilities are given; nothing is added then.
  Status add(std::span<const std::int64_t> truth, std::span<const std::int64_t> predicted,
             std::span<const float> probabilities);

  /// kFailedPrecondition when no row was added.
  Expected<ClassificationReport> report() const;

 private:
  std::vector<std::string> class_names_;
  std::vector<std::vector<std::uint64_t>> confusion_;
  std::vector<std::int64_t> truth_;  // kept only with probabilities, for ROC-AUC
  std::vector<float> probabilities_;
  std::optional<bool> with_probabilities_;
  double log_loss_sum_ = 0;
  std::uint64_t rows_ = 0;
};

/// Accumulates real-valued predictions batch by batch and computes RegressionReport.
/// Not thread-safe.
class RegressionMetrics {
 public:
  explicit RegressionMetrics(std::int64_t targets);

  /// Adds one batch, both row-major [rows, targets]. kInvalidArgument for mismatched or
  /// non-multiple lengths and non-finite values; nothing is added then.
  Status add(std::span<const float> truth, std::span<const float> predicted);

  /// kFailedPrecondition when no row was added.
  Expected<RegressionReport> report() const;

 private:
  struct Target {
    double mean = 0;  // of the true values (Welford)
    double m2 = 0;    // sum of squared deviations of the true values
    double squared_error = 0;
    double absolute_error = 0;
  };
  std::vector<Target> targets_;
  std::uint64_t rows_ = 0;
};

/// What one evaluation produced: exactly one of the reports is set.
struct EvaluationReport {
  std::string job;      ///< the job.evaluate node
  std::string model;    ///< the model node
  std::string dataset;  ///< the dataset node
  std::optional<ClassificationReport> classification;
  std::optional<RegressionReport> regression;
};

/// A human-readable report: summary metrics, per-class precision/recall/F1/support with the
/// macro average, and the confusion matrix (rows: true class, columns: predicted).
std::string formatEvaluation(const EvaluationReport& report);

/// The report as one JSON object: {"job", "model", "dataset", "task", "rows", "metrics": {...},
/// "classes": [{"name", "precision", "recall", "f1", "support"}], "confusion_matrix": [[...]]}
/// (classes and confusion_matrix for classification only). Absent metrics are null.
std::string evaluationJson(const EvaluationReport& report);

/// Several reports as a JSON array of evaluationJson() objects (`aimass eval --json`).
std::string evaluationsJson(const std::vector<EvaluationReport>& reports);

}  // namespace aimass::core
