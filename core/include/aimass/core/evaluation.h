// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "aimass/core/clustering_metrics.h"
#include "aimass/core/evaluation_curves.h"
#include "aimass/core/sequence_metrics.h"
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
  /// Two classes with probabilities and rows of both: the ROC and precision-recall curves of
  /// class 1's probability (evaluation_curves.h), and their average precision.
  std::optional<BinaryCurves> curves;
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
  /// A sample of (predicted, actual) pairs and a histogram of the residuals, for plots.
  std::optional<ResidualReport> residuals;
};

/// Accumulates class predictions batch by batch and computes ClassificationReport.
///
/// Keeps the confusion matrix and, when probabilities are given, every row's probabilities
/// (rows x classes floats), which ROC-AUC and the curves need. Not thread-safe.
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

/// Accumulates real-valued predictions batch by batch and computes RegressionReport. With
/// `residuals` it keeps every (predicted, actual) value, 8 bytes each, for the report's
/// residuals; without, its memory does not grow with the rows. Not thread-safe.
class RegressionMetrics {
 public:
  explicit RegressionMetrics(std::int64_t targets, bool residuals = true);

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
  bool keep_residuals_;
  std::vector<float> predicted_;  // every value, row-major, for the residuals
  std::vector<float> actual_;
  std::uint64_t rows_ = 0;
};

/// Ranking quality of a recommender's top-k lists, averaged over the users that have at least
/// one relevant item. Per user, with rel the relevant items and top the k items recommended
/// (best first, fewer when the model had fewer to give):
/// - precision@k = |rel ∩ top| / k
/// - recall@k = |rel ∩ top| / |rel|
/// - NDCG@k = DCG / IDCG, binary gains discounted by 1 / log2(rank + 1) (rank from 1), IDCG the
///   DCG of min(|rel|, k) relevant items ranked first
/// - MAP@k: average precision truncated at k, the sum of precision@i at every rank i that holds
///   a relevant item, divided by min(|rel|, k)
struct RankingReport {
  std::int64_t k = 0;
  std::uint64_t users = 0;           ///< users evaluated (with at least one relevant item)
  std::uint64_t fallback_users = 0;  ///< of them, unknown to the model (given its fallback)
  double precision_at_k = 0;
  double recall_at_k = 0;
  double ndcg_at_k = 0;
  double map_at_k = 0;
};

/// Accumulates RankingReport user by user. Not thread-safe.
class RankingMetrics {
 public:
  /// kInvalidArgument later, from add(), unless k >= 1.
  explicit RankingMetrics(std::int64_t k);

  /// One user: the recommended items, best first (empty strings are padding and never match;
  /// an item repeated counts once; beyond k are ignored), the user's relevant items and whether
  /// the model fell back for an unknown user. A user without relevant items is skipped.
  /// kInvalidArgument when k < 1.
  Status add(std::span<const std::string> recommended,
             const std::unordered_set<std::string>& relevant, bool fallback);

  /// kFailedPrecondition when no user with a relevant item was added.
  Expected<RankingReport> report() const;

 private:
  std::int64_t k_;
  std::uint64_t users_ = 0;
  std::uint64_t fallback_users_ = 0;
  double precision_ = 0;  // sums over users
  double recall_ = 0;
  double ndcg_ = 0;
  double map_ = 0;
};

/// A recommender's evaluation: rating errors over the dataset's (user, item) pairs when the
/// data has ratings, and ranking quality of its top-k lists for every user of the data.
struct RecommendationReport {
  std::uint64_t rows = 0;  ///< interactions in the dataset
  /// Over the pairs, the model's "score" against the rating: only with ratings.
  std::optional<double> rmse;
  std::optional<double> mae;
  /// Pairs whose user or item the model did not know ("known" false); 0 without ratings.
  std::uint64_t unknown_pairs = 0;
  /// Only ratings >= this made an item relevant; nullopt: every item of the user's rows.
  std::optional<double> relevance_threshold;
  RankingReport ranking;
};

/// What one evaluation produced: exactly one of the reports is set.
struct EvaluationReport {
  std::string job;      ///< the job.evaluate node
  std::string model;    ///< the model node
  std::string dataset;  ///< the dataset node
  std::optional<ClassificationReport> classification;
  std::optional<RegressionReport> regression;
  std::optional<ClusteringReport> clustering;
  std::optional<RecommendationReport> recommendation;
  std::optional<LanguageModelReport> language_model;
  std::optional<ForecastReport> forecast;
};

/// A human-readable report: summary metrics, per-class precision/recall/F1/support with the
/// macro average, and the confusion matrix (rows: true class, columns: predicted).
std::string formatEvaluation(const EvaluationReport& report);

/// The report as one JSON object: {"job", "model", "dataset", "task", "rows", "metrics": {...},
/// "classes": [{"name", "precision", "recall", "f1", "support"}], "confusion_matrix": [[...]]}
/// (classes and confusion_matrix for classification only). Absent metrics are null. The
/// metrics are: classification accuracy, macro_precision, macro_recall, macro_f1, log_loss,
/// roc_auc, average_precision (binary only); regression rmse, mae, r2; clustering inertia,
/// silhouette, davies_bouldin, adjusted_rand, nmi, clusters, clusters_used, silhouette_rows,
/// inertia_from ("distances" or "centroids"); recommendation rmse, mae, precision_at_k,
/// recall_at_k, ndcg_at_k, map_at_k, k, users, fallback_users, unknown_pairs, relevance_threshold;
/// language models (task "language_model") loss, perplexity, bits_per_char, token_accuracy, tokens,
/// vocabulary, token_unit ("byte" or "char"); forecasting (task "forecasting") mae, rmse, mape,
/// mape_rows, mape_skipped, baseline_mae, baseline_rmse, mase, season, horizon, targets. With
/// curves (binary classification) also "roc": {"positive_class", "fpr": [], "tpr": [],
/// "thresholds": [], "distinct_thresholds"} and "pr": {"positive_class", "recall": [],
/// "precision": [], "thresholds": [], "distinct_thresholds", "average_precision"}, thresholds
/// null for the +infinity start point; regression also "residuals": {"predicted": [],
/// "actual": [], "stride", "values"} and "residual_histogram": {"edges": [], "counts": []}.
std::string evaluationJson(const EvaluationReport& report);

/// Several reports as a JSON array of evaluationJson() objects (`aimass eval --json`).
std::string evaluationsJson(const std::vector<EvaluationReport>& reports);

}  // namespace aimass::core
