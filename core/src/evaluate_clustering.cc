// SPDX-License-Identifier: Apache-2.0
// job.evaluate for clustering models: two passes over the rows (clusters and centroids, then
// each row's distance to its centroid) and the silhouette of a seeded sample of rows.
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/clustering_metrics.h"
#include "evaluate_tasks.h"
#include "pipeline/table_io.h"

namespace aimass::core {
namespace {

/// What the model said about one batch.
struct Assignment {
  std::span<const std::int64_t> clusters;
  std::span<const float> distances;  // empty without a "distances" output
  std::int64_t k = 0;                // clusters the model has
};

/// Runs the model over one batch's features and checks its clustering outputs.
class ClusterPredictor {
 public:
  ClusterPredictor(const EvaluationPass& pass, std::string input_name, std::int64_t features)
      : pass_(pass),
        input_name_(std::move(input_name)),
        features_(features),
        schema_(pass.targets.model->schema()) {}

  Expected<Assignment> operator()(std::uint64_t begin, std::uint64_t end, const Batch& batch) {
    const auto n = static_cast<std::int64_t>(end - begin);
    inputs_.set(input_name_, batch.features.rank() == 2 ? batch.features
                                                        : batch.features.reshaped({n, features_}));
    setTextInputs(schema_, pass_.targets.dataset->schema().string_feature_names, batch.strings,
                  inputs_);
    const std::string where = rowsText(pass_, begin, end);
    Status predicted = pass_.targets.model->predict(inputs_, outputs_, PredictOptions{});
    if (!predicted.ok()) {
      return predicted.withContext(pass_.model_text + " predicting" + where);
    }
    const Tensor* cluster = outputs_.find(tensor_names::kCluster);
    if (cluster == nullptr || cluster->dtype() != DType::kInt64 || cluster->numel() != n) {
      return invalidArgument(pass_.model_text +
                             " gave no INT64 \"cluster\" output with one cluster per row; a "
                             "clustering model must" +
                             where);
    }
    Assignment a;
    a.clusters = cluster->span<std::int64_t>();
    const Tensor* distances = outputs_.find(tensor_names::kDistances);
    const Tensor* width = distances ? distances : outputs_.find(tensor_names::kResponsibilities);
    if (width == nullptr || width->dtype() != DType::kFloat32 || width->rank() != 2 ||
        width->dim(0) != n || width->dim(1) < 1) {
      return invalidArgument(pass_.model_text +
                             " gave neither an FP32 \"distances\" nor an FP32 "
                             "\"responsibilities\" output of shape [" +
                             std::to_string(n) + ", clusters]; a clustering model gives one" +
                             where);
    }
    a.k = width->dim(1);
    if (distances != nullptr) {
      a.distances = distances->span<float>();
    }
    return a;
  }

 private:
  const EvaluationPass& pass_;
  std::string input_name_;
  std::int64_t features_;
  ModelSchema schema_;
  TensorMap inputs_;
  TensorMap outputs_;
};

}  // namespace

Expected<ClusteringReport> evaluateClustering(const EvaluationPass& pass) {
  const EvaluateTargets& targets = pass.targets;
  const DatasetSchema& schema = targets.dataset->schema();
  const ModelSchema model_schema = targets.model->schema();
  std::int64_t features = 1;
  for (std::int64_t d : schema.row_shape) {
    features *= d;
  }
  if (schema.feature_dtype != DType::kFloat32 || schema.row_shape.empty() || features <= 0) {
    return invalidArgument(pass.model_text +
                           " is a clustering model, which takes rows of FP32 features, but " +
                           pass.data_text + " has " + std::string(dtypeName(schema.feature_dtype)) +
                           " rows of shape " + shapeToString(schema.row_shape));
  }
  const std::string input_name = model_schema.inputs.empty() ? std::string(tensor_names::kInput)
                                                             : model_schema.inputs.front().name;
  // Class labels are compared with the clusters; other labels play no part in clustering.
  const bool with_classes = schema.label_kind == LabelKind::kClass && !schema.class_names.empty();
  const auto classes = with_classes ? static_cast<std::int64_t>(schema.class_names.size()) : 0;
  const std::vector<std::uint64_t> sample =
      sampleRows(targets.dataset->size(), targets.silhouette_sample, targets.seed);
  std::vector<float> sample_features;
  std::vector<std::int64_t> sample_clusters;
  sample_features.reserve(sample.size() * static_cast<std::size_t>(features));
  sample_clusters.reserve(sample.size());
  std::size_t next_sample = 0;

  const std::uint64_t batches = batchCount(pass);
  ProgressPhase phase(pass.progress, "evaluate " + targets.model_name, 2 * batches);
  ClusterPredictor predict(pass, input_name, features);
  std::optional<ClusteringMetrics> metrics;
  Status first = forEachBatch(
      pass, phase, 0, [&](std::uint64_t begin, std::uint64_t end, const Batch& batch) -> Status {
        AIMASS_ASSIGN_OR_RETURN(Assignment a, predict(begin, end, batch));
        if (!metrics) {
          metrics.emplace(features, a.k, classes);
        }
        std::span<const std::int64_t> labels;
        if (with_classes) {
          labels = batch.labels.span<std::int64_t>();
        }
        const std::span<const float> x = batch.features.span<float>();
        Status added = metrics->add(x, a.clusters, a.distances, labels);
        if (!added.ok()) {
          return added.withContext("scoring" + rowsText(pass, begin, end));
        }
        for (; next_sample < sample.size() && sample[next_sample] < end; ++next_sample) {
          const std::size_t row = sample[next_sample] - begin;
          const auto width = static_cast<std::size_t>(features);
          sample_features.insert(sample_features.end(), x.begin() + row * width,
                                 x.begin() + (row + 1) * width);
          sample_clusters.push_back(a.clusters[row]);
        }
        return Status();
      });
  AIMASS_RETURN_IF_ERROR(first);
  // The second pass predicts again rather than keeping every row's cluster, so memory stays
  // independent of the dataset's size.
  Status second =
      forEachBatch(pass, phase, batches,
                   [&](std::uint64_t begin, std::uint64_t end, const Batch& batch) -> Status {
                     AIMASS_ASSIGN_OR_RETURN(Assignment a, predict(begin, end, batch));
                     Status added = metrics->addSpread(batch.features.span<float>(), a.clusters);
                     if (!added.ok()) {
                       return added.withContext("measuring spread" + rowsText(pass, begin, end));
                     }
                     return Status();
                   });
  AIMASS_RETURN_IF_ERROR(second);
  AIMASS_ASSIGN_OR_RETURN(std::optional<double> silhouette,
                          silhouetteScore(sample_features, features, sample_clusters));
  AIMASS_ASSIGN_OR_RETURN(ClusteringReport report,
                          metrics->report(silhouette, sample_clusters.size()));
  auto figure = [](const char* name, std::optional<double> v) {
    char text[64];
    std::snprintf(text, sizeof text, v ? " %s=%.4f" : " %s=n/a", name, v.value_or(0));
    return std::string(text);
  };
  char inertia[64];
  std::snprintf(inertia, sizeof inertia, "inertia=%.4g", report.inertia);
  phase.end(inertia + figure("silhouette", report.silhouette) +
            figure("davies_bouldin", report.davies_bouldin));
  return report;
}

}  // namespace aimass::core
