// SPDX-License-Identifier: Apache-2.0
#include "outlier_scoring.h"

#include <algorithm>
#include <limits>
#include <span>

#include "aimass/tensor_names.h"
#include "data_profile.h"

namespace aimass::core {

std::shared_ptr<const OutlierScorer> outlierScorerFor(const DataProfile* profile,
                                                      const Model& model, std::string& why) {
  if (profile == nullptr) {
    why = "it has no training-data profile (trained before profiles, or not by job.train)";
    return nullptr;
  }
  auto scorer = OutlierScorer::make(*profile);
  if (!scorer.ok()) {
    why = scorer.status().message();
    return nullptr;
  }
  const ModelSchema schema = model.schema();
  for (const auto& output : schema.outputs) {
    if (output.name == kOutlierScoreOutput) {
      why = "the model has an output named 'outlier_score' of its own";
      return nullptr;
    }
  }
  if (model.streaming() != nullptr) {
    why = "the model streams its answers";
    return nullptr;
  }
  const std::string width = std::to_string(scorer->features());
  for (const auto& input : schema.inputs) {
    if (input.name != tensor_names::kInput) {
      continue;
    }
    if (input.dtype != DType::kFloat32 || input.shape.size() != 2 || input.optional ||
        input.request_wide ||
        (input.shape[1] >= 0 && input.shape[1] != static_cast<std::int64_t>(scorer->features()))) {
      why = "its 'input' is not a required FP32 block of [rows, " + width + "]";
      return nullptr;
    }
    return std::make_shared<const OutlierScorer>(std::move(scorer).value());
  }
  why = "the model takes no 'input' block of its " + width + " number features";
  return nullptr;
}

Tensor scoreRows(const OutlierScorer& scorer, const Tensor& input, OutlierCounts& counts) {
  const std::int64_t rows = input.rank() >= 1 ? input.dim(0) : 0;
  Tensor scores(DType::kFloat32, {rows});
  float* out = scores.data<float>();
  const std::size_t width = scorer.features();
  if (input.dtype() != DType::kFloat32 || input.rank() != 2 ||
      input.dim(1) != static_cast<std::int64_t>(width)) {
    // Only a schema with a free width lets such a block through: it has no score.
    std::fill(out, out + rows, std::numeric_limits<float>::quiet_NaN());
    return scores;
  }
  const float* values = input.data<float>();
  std::uint64_t outliers = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const double score =
        scorer.score(std::span<const float>(values + static_cast<std::size_t>(r) * width, width));
    out[r] = static_cast<float>(score);
    outliers += scorer.isOutlier(score) ? 1 : 0;
  }
  counts.scored_rows.fetch_add(static_cast<std::uint64_t>(rows), std::memory_order_relaxed);
  counts.outliers.fetch_add(outliers, std::memory_order_relaxed);
  return scores;
}

ModelSchema ScoredModel::schema() const {
  ModelSchema schema = model_->schema();
  schema.outputs.emplace_back(std::string(kOutlierScoreOutput), DType::kFloat32, Shape{-1});
  return schema;
}

Status ScoredModel::load(std::string_view, std::uint32_t) {
  return failedPrecondition("a served model with outlier scores is not reloaded in place");
}

}  // namespace aimass::core
