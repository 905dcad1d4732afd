// SPDX-License-Identifier: Apache-2.0
#pragma once

// The outlier_score output of served models (ServingRuntime::setOutlierScores): each row of a
// request's "input" block scored by the version's training-data outlier scorer
// (monitoring/outlier.h), returned as one more output and counted for /metrics.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "aimass/model.h"
#include "aimass/tensor.h"
#include "monitoring/outlier.h"

namespace aimass::core {

/// The name of the output: FP32, shape [rows].
inline constexpr std::string_view kOutlierScoreOutput = "outlier_score";

/// Rows scored and rows above the threshold, for /metrics. Shared by the versions a settings
/// change remakes. Thread-safe (atomics).
struct OutlierCounts {
  std::atomic<std::uint64_t> scored_rows{0};
  std::atomic<std::uint64_t> outliers{0};
};

/// The scorer that applies to a version with `profile` serving `model`; null, with `why`, when
/// none does: no profile, none saved in it (format 1, too few rows, no number features), a
/// model that takes no FP32 "input" block of [rows, number features] (required, not
/// request-wide), a streaming model, or one that already has an output named outlier_score.
std::shared_ptr<const OutlierScorer> outlierScorerFor(const DataProfile* profile,
                                                      const Model& model, std::string& why);

/// The scores of the rows of `input` (FP32 [rows, scorer.features()]) as an FP32 [rows]
/// tensor (NaN values count as the feature's mean; a row with an infinite value scores +inf),
/// counted in `counts`. Never throws.
Tensor scoreRows(const OutlierScorer& scorer, const Tensor& input, OutlierCounts& counts);

/// A served model as clients see it with outlier scores on: the model's schema with the
/// outlier_score output added; everything else is the model's own. load() is refused (a
/// served model is never reloaded in place). Threading: as the wrapped model's.
class ScoredModel final : public Model {
 public:
  explicit ScoredModel(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

  ModelSchema schema() const override;
  bool ready() const override { return model_->ready(); }
  /// The model's own outputs: the runtime adds the scores (it counts them per version).
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    return model_->predict(inputs, outputs, options);
  }
  OnlineLearning* onlineLearning() const override { return model_->onlineLearning(); }
  const StreamingPrediction* streaming() const override { return model_->streaming(); }
  std::uint32_t formatVersion() const override { return model_->formatVersion(); }
  Status save(std::string& payload) const override { return model_->save(payload); }
  Status load(std::string_view payload, std::uint32_t format_version) override;

 private:
  std::shared_ptr<const Model> model_;
};

}  // namespace aimass::core
