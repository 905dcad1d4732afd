// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "aimass/core/evaluation.h"
#include "aimass/dataset.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"

namespace aimass::core {

class Graph;
class HostServices;

/// The nodes and settings of one EvaluateJob.
struct EvaluateTargets {
  std::shared_ptr<const Model> model;
  std::string model_name;
  std::shared_ptr<const Dataset> dataset;
  std::string dataset_name;
  std::uint64_t batch_size = 256;
  /// Where to write the JSON report (already resolved); empty: not written.
  std::filesystem::path output;
  /// Recommendation: the length of the top-k lists ranked.
  std::int64_t k = 10;
  /// Recommendation with ratings: only items rated at least this are relevant to a user.
  std::optional<double> relevance_threshold;
  /// Clustering: rows the silhouette is computed on (0: every row).
  std::uint64_t silhouette_sample = 5000;
  /// Clustering: seeds the choice of the silhouette sample.
  std::uint64_t seed = 0;
  /// Forecasting: the naive-seasonal baseline's season in steps (1: the last value).
  std::int64_t season = 1;
  /// Forecasting: how many of each input step's first features are the forecast series.
  std::int64_t forecast_targets = 1;
  /// Where to record the evaluation as a tracked run with its report (evaluation_record.h);
  /// null: not recorded.
  std::shared_ptr<Storage> storage;
  /// The tracked run's experiment.
  std::string experiment = "evaluation";
  /// Classification and regression: what predict() gets; `precision` (bf16, auto) becomes
  /// its "precision" parameter, which models that run in lower precision read (model.mlp).
  PredictOptions predict_options;
};

/// The built-in `job.evaluate` node: runs a ready model over every row of a dataset and
/// computes the metrics of evaluation.h for the model's task:
/// - classification, with class labels: from the "label" output (and "probabilities" when the
///   model has it);
/// - regression, with value labels: from the "prediction" output;
/// - clustering, labels optional: inertia, the silhouette of a seeded sample, Davies-Bouldin
///   (clustering_metrics.h) from "cluster" and "distances" or "responsibilities"; with class
///   labels also the adjusted Rand index and NMI against them. Two passes over the rows.
/// - recommendation, on (user, item) INT64 rows, ratings optional: with ratings RMSE and MAE
///   of the pairs' "score"; then every user's top-k ("items", "fallback") ranked against the
///   user's items in the data (those rated >= relevance_threshold when set). Ids are passed to
///   the model as text through the dataset's id_names.
///
/// Failures: kFailedPrecondition when the model is not trained or loaded (run a job.train
/// first: `after:` orders it), kInvalidArgument when the data does not suit the model's task
/// (no labels for a classifier or regressor, features for a recommender), when the model's
/// classes differ from the dataset's or its outputs do not fit the data, naming the model and
/// the dataset; kCancelled on a stop request. The output file is written whole or not at all
/// (a temporary file renamed).
///
/// With a storage, the report is also recorded there as a finished run of job.evaluate in the
/// tracking (its params, headline metrics and the whole report, see evaluation_record.h), and
/// indexed under the registered model version whose artifact holds the model's exact weights.
/// A storage error then fails the job, after the output file was written.
///
/// Threading: run() is called once, on the host's main thread; predict() is const, so the
/// model may be served meanwhile.
class EvaluateJob final : public Job {
 public:
  explicit EvaluateJob(std::string name, EvaluateTargets targets);

  Status run(Host& host, JobProgress& progress) override;

  /// The last successful run's report; nullopt before.
  const std::optional<EvaluationReport>& report() const noexcept { return report_; }

 private:
  Status evaluate(Host& host, JobProgress& progress, EvaluationReport& report);
  Status record(Host& host, const EvaluationReport& report);

  std::string name_;
  EvaluateTargets targets_;
  std::optional<EvaluationReport> report_;
};

/// The `job.evaluate` node type: parameters, documentation and factory.
NodeType evaluateJobNodeType();

/// `aimass eval`: creates the graph's nodes, runs every job that is not a job.evaluate in
/// order (training first), then every job.evaluate, and prints their reports to `out` as
/// tables or, with `json`, as one JSON array. Progress and errors go to `err`. Returns the
/// CLI exit code: 0, 1 when a node or job failed or was cancelled, 2 when the graph has no
/// job.evaluate node. Does not start frontends.
/// `precision` (fp32, bf16 or auto; empty: each job's own) overrides every job.evaluate's
/// `precision` parameter (`aimass eval --precision`).
int runEvaluation(Graph& graph, HostServices& host, bool json, std::ostream& out, std::ostream& err,
                  const std::string& precision = {});

}  // namespace aimass::core
