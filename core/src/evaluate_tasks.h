// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "aimass/core/evaluation.h"
#include "evaluate_job.h"

namespace aimass::core {

/// What one task's evaluation needs: the job's nodes and settings, the host (stop requests,
/// logs) and the progress display, with the nodes named for errors.
struct EvaluationPass {
  Host& host;
  JobProgress& progress;
  const EvaluateTargets& targets;
  std::string job;         ///< the job.evaluate node, for logs
  std::string model_text;  ///< "model 'm'"
  std::string data_text;   ///< "dataset 'd'"
};

/// A progress phase that ends as "failed" when it goes out of scope without end().
class ProgressPhase {
 public:
  ProgressPhase(JobProgress& progress, const std::string& phase, std::uint64_t total)
      : progress_(progress) {
    progress_.begin(phase, total);
  }
  ~ProgressPhase() {
    if (open_) {
      progress_.end("failed");
    }
  }
  ProgressPhase(const ProgressPhase&) = delete;
  ProgressPhase& operator=(const ProgressPhase&) = delete;
  void update(std::uint64_t done) { progress_.update(done, {}); }
  void end(const std::string& summary) {
    if (open_) {
      open_ = false;
      progress_.end(summary);
    }
  }

 private:
  JobProgress& progress_;
  bool open_ = true;
};

/// The rows a visit sees: [begin, end) of the dataset, read into `batch`.
using BatchVisit =
    std::function<Status(std::uint64_t begin, std::uint64_t end, const Batch& batch)>;

/// Reads every row of the pass's dataset in order, in batches of targets.batch_size, and calls
/// `visit` on each; after each batch, phase.update(done_before + batches so far). Checks for a
/// stop request before each batch: kCancelled, ending the phase as "stopped". A read error
/// names the dataset; an error of `visit` is returned as is.
Status forEachBatch(const EvaluationPass& pass, ProgressPhase& phase, std::uint64_t done_before,
                    const BatchVisit& visit);

/// The number of batches forEachBatch() makes.
std::uint64_t batchCount(const EvaluationPass& pass);

/// " (rows B..E of dataset 'd')", for errors about one batch.
std::string rowsText(const EvaluationPass& pass, std::uint64_t begin, std::uint64_t end);

/// Evaluates a clustering model (Task::kClustering) over every row: see EvaluateJob.
Expected<ClusteringReport> evaluateClustering(const EvaluationPass& pass);

/// Evaluates a recommender (Task::kRecommendation) over the (user, item) rows: see EvaluateJob.
Expected<RecommendationReport> evaluateRecommendation(const EvaluationPass& pass);

/// The model input that takes a dataset's features: "tokens" when the model has it, else its
/// first input ("input" when it declares none).
std::string tokenInputName(const ModelSchema& schema);

/// Sets the model's inputs for a batch: the features as tokenInputName(), and when the model
/// takes "lengths", the batch's lengths (or every row's full length when the data has none).
void setModelInputs(const ModelSchema& schema, const Tensor& features, const Tensor& lengths,
                    TensorMap& inputs);

/// Evaluates a language model (Task::kSequence) on next-token data: see EvaluateJob.
Expected<LanguageModelReport> evaluateLanguageModel(const EvaluationPass& pass);

/// Evaluates a forecaster (Task::kRegression on windows of a series): see EvaluateJob.
Expected<ForecastReport> evaluateForecast(const EvaluationPass& pass);

}  // namespace aimass::core
